//! The served models: each `[[models]]` entry resolved once into a
//! [`ResolvedTarget`] and its own [`ProxyClient`] (so each model's timeout is
//! honoured), looked up by the request's `model`.

use std::time::Duration;

use proxy_core::backend::BackendAuth;
use proxy_core::settings::SettingsPreset;
use proxy_core::{ModelTarget, ProxyClient, ResolvedTarget, WrapperSelection};

use crate::config::{ConfigError, ModelConfig};
use crate::errors::{ApiError, ApiErrorKind};

/// One served model.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The public name (the request's `model`).
    pub name: String,
    /// Where and how the model is served, resolved at start-up.
    pub target: ResolvedTarget,
    /// The client running this model's completions (its timeout is the model's).
    pub client: ProxyClient,
}

impl ModelEntry {
    /// Resolves one entry ([`ModelTarget::resolve`]: the endpoint type, wrapper or
    /// wrapper file, endpoint), reads the backend key and the preset, builds the
    /// client.
    pub fn from_config(config: &ModelConfig) -> Result<Self, ConfigError> {
        let mut target =
            ModelTarget::at_default_endpoint(&config.endpoint_type, config.context_window);
        target.endpoint = config.endpoint.clone();
        target.public_name = Some(config.name.clone());
        target.model = config.model.clone();
        target.token_counting = config.tokenizer;
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
        target.wrapper = match (&config.wrapper, &config.wrapper_file) {
            (Some(name), _) => WrapperSelection::Named(name.clone()),
            (None, Some(path)) => WrapperSelection::File(path.clone()),
            (None, None) => WrapperSelection::Default,
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
            target,
            client,
        })
    }
}

/// The served models, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct ModelTable(Vec<ModelEntry>);

impl ModelTable {
    /// A table of resolved entries.
    pub fn new(entries: Vec<ModelEntry>) -> Self {
        ModelTable(entries)
    }

    /// The entries, in configuration order.
    pub fn entries(&self) -> &[ModelEntry] {
        &self.0
    }

    /// The public names, in configuration order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|entry| entry.name.as_str()).collect()
    }

    /// The entry for the request's `model`: by name; with no name, the only model
    /// (several: a 400 asking for one). An unknown name is a 404 listing the names.
    pub fn select(&self, requested: Option<&str>) -> Result<&ModelEntry, ApiError> {
        match requested {
            Some(name) => self
                .0
                .iter()
                .find(|entry| entry.name == name)
                .ok_or_else(|| ApiError::unknown_model(name, &self.names())),
            None => match self.0.as_slice() {
                [only] => Ok(only),
                _ => Err(ApiError::new(
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

    fn entry(name: &str) -> ModelEntry {
        ModelEntry::from_config(&ModelConfig::new(name, "llamacpp", 4096)).unwrap()
    }

    #[test]
    fn selection_by_name_and_single_default() {
        let one = ModelTable::new(vec![entry("local")]);
        assert_eq!(one.select(None).unwrap().name, "local");
        assert_eq!(one.select(Some("local")).unwrap().name, "local");
        let two = ModelTable::new(vec![entry("a"), entry("b")]);
        assert_eq!(two.select(Some("b")).unwrap().name, "b");
        let missing = two.select(None).unwrap_err();
        assert_eq!(missing.param.as_deref(), Some("model"));
        assert!(missing.message.contains("a, b"), "{}", missing.message);
        let unknown = two.select(Some("gpt-4")).unwrap_err();
        assert_eq!(unknown.kind, ApiErrorKind::ModelNotFound);
        assert!(unknown.message.contains("a, b"), "{}", unknown.message);
    }

    #[test]
    fn unknown_endpoint_type_is_a_config_error_naming_the_model() {
        let config = ModelConfig::new("m", "no-such-server", 4096);
        let message = ModelEntry::from_config(&config).unwrap_err().to_string();
        assert!(message.starts_with("model `m`:"), "{message}");
        assert!(message.contains("no-such-server"), "{message}");
    }
}
