//! The served models: each `[[models]]` entry resolved once into a
//! [`ResolvedTarget`] and its own [`ProxyClient`] (so each model's timeout is
//! honoured), looked up by the request's `model` — a name or an alias, or any name
//! when one model is configured or `default_model` is set.
//!
//! Responses echo the name the client sent: the target carries no public name of its
//! own (so the orchestrator answers with the request's `model`), and its backend model
//! name is the entry's `model`, else its `name` — never the name the client sent.

use std::time::Duration;

use proxy_core::backend::{BackendAuth, ConstraintChoice};
use proxy_core::settings::SettingsPreset;
use proxy_core::wrapper_choice::SettingNames;
use proxy_core::{ModelTarget, ProxyClient, ResolvedTarget, WrapperSelection};

use crate::config::{ConfigError, ModelConfig};
use crate::errors::{ApiError, ApiErrorKind};

/// One served model.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The public name (the request's `model`).
    pub name: String,
    /// The other names the entry answers to.
    pub aliases: Vec<String>,
    /// Where and how the model is served, resolved at start-up.
    pub target: ResolvedTarget,
    /// The client running this model's completions (its timeout is the model's).
    pub client: ProxyClient,
    /// The models (names or aliases) asked, in order, when every replica of this one
    /// failed or is busy.
    pub fallbacks: Vec<String>,
    /// The model asked when a prompt does not fit this one's context window.
    pub context_window_fallback: Option<String>,
}

impl ModelEntry {
    /// Resolves one entry ([`ModelTarget::resolve`]: the endpoint type, wrapper or
    /// wrapper file, endpoint), reads the backend key and the preset, builds the
    /// client.
    pub fn from_config(config: &ModelConfig) -> Result<Self, ConfigError> {
        let mut target =
            ModelTarget::at_default_endpoint(&config.endpoint_type, config.context_window);
        target.endpoint = config.endpoint.clone();
        target.replicas = config.replicas()?;
        target.faults = config.health.policy(config)?;
        target.name = Some(config.name.clone());
        // No public name: the response carries the request's `model`, the name the
        // client sent (the route sets it to `name` when the client sent none).
        target.public_name = None;
        target.model = Some(config.model.clone().unwrap_or_else(|| config.name.clone()));
        target.token_counting = config.tokenizer;
        if let Some(retries) = config.max_retries {
            target.max_retries = retries;
        }
        if let Some(choices) = config.max_choices {
            if choices == 0 {
                return Err(config.invalid("`max_choices` must be at least 1"));
            }
            target.max_choices = choices;
        }
        if let Some(constraint) = &config.constraint {
            target.constraint = ConstraintChoice::parse(constraint);
        }
        if let Some(max) = config.max_thought_chars {
            target.max_thought_chars = (max > 0).then_some(max);
        }
        target.max_argument_chars = config.max_argument_chars.filter(|max| *max > 0);
        let key = config.auth_key()?;
        target.auth = BackendAuth::from_parts(
            config.auth_type.as_deref(),
            key.as_ref().map(|key| key.expose()),
        )
        .map_err(|error| config.invalid(error.to_string()))?;
        if let Some(preset) = &config.settings_preset {
            target.settings_preset = preset
                .parse::<SettingsPreset>()
                .map_err(|error| config.invalid(error.to_string()))?;
        }
        let template = config
            .chat_template()
            .selection(SettingNames::CONFIG)
            .map_err(|reason| config.invalid(reason))?;
        target.wrapper = match (&config.wrapper, &config.wrapper_file, template) {
            (Some(name), _, _) => WrapperSelection::Named(name.clone()),
            (None, Some(path), _) => WrapperSelection::File(path.clone()),
            (None, None, Some(template)) => template,
            (None, None, None) => WrapperSelection::Default,
        };
        let target = target
            .resolve()
            .map_err(|error| config.invalid(error.to_string()))?;
        let mut client = ProxyClient::builder();
        if let Some(seconds) = config.timeout_secs {
            let timeout = Duration::try_from_secs_f64(seconds)
                .map_err(|_| config.invalid("`timeout_secs` must be a positive number"))?;
            client = client.request_timeout(timeout);
        }
        let client = client
            .build()
            .map_err(|error| config.invalid(error.to_string()))?;
        Ok(ModelEntry {
            name: config.name.clone(),
            aliases: config.aliases.clone(),
            target,
            client,
            fallbacks: config.fallbacks.clone(),
            context_window_fallback: config.context_window_fallback.clone(),
        })
    }

    /// Whether `name` is this entry's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|alias| alias == name)
    }
}

/// The served models, in configuration order, and the one serving unknown names.
#[derive(Debug, Clone, Default)]
pub struct ModelTable {
    entries: Vec<ModelEntry>,
    fallback: Option<usize>,
}

impl ModelTable {
    /// A table of resolved entries; with one entry, it serves every name.
    pub fn new(entries: Vec<ModelEntry>) -> Self {
        let fallback = (entries.len() == 1).then_some(0);
        ModelTable { entries, fallback }
    }

    /// A table whose `default_model` (a name or alias; `None`: see
    /// [`ModelTable::new`]) serves the names no entry answers to.
    pub fn with_default(
        entries: Vec<ModelEntry>,
        default_model: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut table = ModelTable::new(entries);
        if let Some(default) = default_model {
            let index = table
                .entries
                .iter()
                .position(|entry| entry.answers_to(default))
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "`default_model` is `{default}`, which is no model's name or alias; the models are {}",
                        table.names().join(", ")
                    ))
                })?;
            table.fallback = Some(index);
        }
        Ok(table)
    }

    /// The entries, in configuration order.
    pub fn entries(&self) -> &[ModelEntry] {
        &self.entries
    }

    /// The public names, in configuration order.
    pub fn names(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|entry| entry.name.as_str())
            .collect()
    }

    /// The entry a name or alias names exactly (no fallback): `GET /v1/models/{id}`.
    pub fn find(&self, name: &str) -> Option<&ModelEntry> {
        self.entries.iter().find(|entry| entry.answers_to(name))
    }

    /// The entry for the request's `model`: by name or alias; else the only model or
    /// the `default_model`, if there is one (the response still echoes the name sent);
    /// else a 404 listing the names. With no name: the only model or the
    /// `default_model` (otherwise a 400 asking for one).
    pub fn select(&self, requested: Option<&str>) -> Result<&ModelEntry, ApiError> {
        let fallback = self.fallback.and_then(|index| self.entries.get(index));
        match requested {
            Some(name) => self
                .find(name)
                .or(fallback)
                .ok_or_else(|| ApiError::unknown_model(name, &self.names())),
            None => match fallback {
                Some(entry) => Ok(entry),
                None => Err(ApiError::new(
                    ApiErrorKind::InvalidBody,
                    format!(
                        "`model` is required: this server has several models ({})",
                        self.names().join(", ")
                    ),
                )
                .with_param("model")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Links the plugins (a dev-dependency) into this test binary.
    use chat_completion_proxy as _;

    fn entry(name: &str, aliases: &[&str]) -> ModelEntry {
        let mut config = ModelConfig::new(name, "llamacpp", 4096);
        config.aliases = aliases.iter().map(|alias| alias.to_string()).collect();
        ModelEntry::from_config(&config).unwrap()
    }

    #[test]
    fn selection_by_name_and_single_default() {
        let one = ModelTable::new(vec![entry("local", &[])]);
        assert_eq!(one.select(None).unwrap().name, "local");
        assert_eq!(one.select(Some("local")).unwrap().name, "local");
        assert_eq!(
            one.select(Some("gpt-4o")).unwrap().name,
            "local",
            "a single model serves every name"
        );
        assert!(one.find("gpt-4o").is_none());
        let two = ModelTable::new(vec![entry("a", &[]), entry("b", &[])]);
        assert_eq!(two.select(Some("b")).unwrap().name, "b");
        let missing = two.select(None).unwrap_err();
        assert_eq!(missing.param.as_deref(), Some("model"));
        assert!(missing.message.contains("a, b"), "{}", missing.message);
        let unknown = two.select(Some("gpt-4")).unwrap_err();
        assert_eq!(unknown.kind, ApiErrorKind::ModelNotFound);
        assert!(unknown.message.contains("a, b"), "{}", unknown.message);
    }

    #[test]
    fn aliases_and_the_default_model() {
        let entries = || {
            vec![
                entry("a", &["gpt-4o"]),
                entry("b", &["gpt-4", "gpt-3.5-turbo"]),
            ]
        };
        let table = ModelTable::new(entries());
        assert_eq!(table.select(Some("gpt-4o")).unwrap().name, "a");
        assert_eq!(table.select(Some("gpt-3.5-turbo")).unwrap().name, "b");
        assert_eq!(table.find("gpt-4").map(|e| e.name.as_str()), Some("b"));
        assert!(table.select(Some("o1")).is_err());

        let with_default = ModelTable::with_default(entries(), Some("gpt-4")).unwrap();
        assert_eq!(with_default.select(Some("o1")).unwrap().name, "b");
        assert_eq!(with_default.select(None).unwrap().name, "b");
        assert_eq!(with_default.select(Some("a")).unwrap().name, "a");
        assert!(with_default.find("o1").is_none());
        let error = ModelTable::with_default(entries(), Some("c")).unwrap_err();
        assert!(error.to_string().contains("`c`"), "{error}");
    }

    #[test]
    fn the_backend_gets_the_configured_model_name_not_the_requested_one() {
        let plain = entry("local", &["gpt-4o"]);
        assert_eq!(plain.target.backend_model(), Some("local"));
        let mut config = ModelConfig::new("local", "llamacpp", 4096);
        config.model = Some("llama3:8b".into());
        let named = ModelEntry::from_config(&config).unwrap();
        assert_eq!(named.target.backend_model(), Some("llama3:8b"));
    }

    #[test]
    fn unknown_endpoint_type_is_a_config_error_naming_the_model() {
        let config = ModelConfig::new("m", "no-such-server", 4096);
        let message = ModelEntry::from_config(&config).unwrap_err().to_string();
        assert!(message.starts_with("model `m`:"), "{message}");
        assert!(message.contains("no-such-server"), "{message}");
    }

    #[test]
    fn the_constraint_and_the_thought_bound_come_from_the_entry() {
        let toml = r#"
            name = "m"
            endpoint_type = "llamacpp"
            context_window = 4096
            constraint = "json_schema"
            max_thought_chars = 250
            max_argument_chars = 600
        "#;
        let config: ModelConfig = toml::from_str(toml).unwrap();
        let entry = ModelEntry::from_config(&config).unwrap();
        assert_eq!(
            entry.target.constraint().map(|field| field.name),
            Some("json_schema")
        );
        assert_eq!(entry.target.max_thought_chars(), Some(250));
        assert_eq!(entry.target.max_argument_chars(), Some(600));

        let defaults = entry_with(|_| {});
        assert_eq!(
            defaults.target.constraint().map(|field| field.name),
            Some("grammar")
        );
        assert_eq!(
            defaults.target.max_thought_chars(),
            Some(proxy_core::DEFAULT_MAX_THOUGHT_CHARS)
        );
        assert_eq!(defaults.target.max_argument_chars(), None);
        let off = entry_with(|config| {
            config.constraint = Some("none".into());
            config.max_thought_chars = Some(0);
            config.max_argument_chars = Some(0);
        });
        assert_eq!(off.target.constraint(), None);
        assert_eq!(off.target.max_thought_chars(), None);
        assert_eq!(off.target.max_argument_chars(), None);

        let mut wrong = ModelConfig::new("m", "llamacpp", 4096);
        wrong.constraint = Some("guided_json".into());
        let message = ModelEntry::from_config(&wrong).unwrap_err().to_string();
        assert!(message.starts_with("model `m`:"), "{message}");
        assert!(
            message.contains("`grammar`, `json_schema` or `none`"),
            "{message}"
        );
    }

    fn entry_with(configure: impl FnOnce(&mut ModelConfig)) -> ModelEntry {
        let mut config = ModelConfig::new("m", "llamacpp", 4096);
        configure(&mut config);
        ModelEntry::from_config(&config).unwrap()
    }
}
