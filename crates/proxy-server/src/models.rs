//! The served models: each `[[models]]` entry resolved into a [`ModelTarget`] and its
//! own [`ProxyClient`] (so each model's timeout is honoured), looked up by the
//! request's `model`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proxy_core::backend::{find_backend, BackendAuth};
use proxy_core::settings::SettingsPreset;
use proxy_core::{find_wrapper, ModelTarget, PromptWrapper, ProxyClient, WrapperSelection};

use crate::config::{ConfigError, ModelConfig};
use crate::errors::{ApiError, ApiErrorKind};

/// The error a [`WrapperLoader`] returns.
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// Builds a wrapper from a user's wrapper file. The binary passes the
/// `wrapper-configurable` plugin's loader; this crate links no plugin.
pub type WrapperLoader<'a> = &'a dyn Fn(&Path) -> Result<Box<dyn PromptWrapper>, LoadError>;

/// A [`WrapperLoader`] for builds without wrapper-file support: always an error.
pub fn no_wrapper_files(path: &Path) -> Result<Box<dyn PromptWrapper>, LoadError> {
    Err(format!(
        "cannot load {}: this server was built without wrapper-file support",
        path.display()
    )
    .into())
}

/// One served model.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The public name (the request's `model`).
    pub name: String,
    /// Where and how the model is served.
    pub target: ModelTarget,
    /// The client running this model's completions (its timeout is the model's).
    pub client: ProxyClient,
    /// The configured wrapper, for logs (`default`, a name, or the file).
    pub wrapper_label: String,
}

impl ModelEntry {
    /// Resolves one entry: checks the endpoint type, wrapper and preset against the
    /// registries, loads a wrapper file, reads the backend key, builds the client.
    pub fn from_config(
        config: &ModelConfig,
        loader: WrapperLoader<'_>,
    ) -> Result<Self, ConfigError> {
        let backend = find_backend(&config.endpoint_type)
            .map_err(|error| config.invalid(error.to_string()))?;
        let endpoint = config
            .endpoint
            .clone()
            .unwrap_or_else(|| backend.registration.default_endpoint.to_owned());
        let mut target = ModelTarget::new(&config.endpoint_type, endpoint, config.context_window);
        target.model = config.model.clone();
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
        let wrapper_label;
        target.wrapper = match (&config.wrapper, &config.wrapper_file) {
            (Some(name), _) => {
                find_wrapper(name).map_err(|error| config.invalid(error.to_string()))?;
                wrapper_label = name.clone();
                WrapperSelection::Named(name.clone())
            }
            (None, Some(path)) => {
                let wrapper = loader(path).map_err(|error| config.invalid(error.to_string()))?;
                wrapper_label = path.display().to_string();
                WrapperSelection::Custom {
                    name: wrapper_label.clone(),
                    wrapper: Arc::from(wrapper),
                }
            }
            (None, None) => {
                wrapper_label = "default".to_owned();
                WrapperSelection::Default
            }
        };
        let mut client = ProxyClient::builder().token_counting(config.tokenizer);
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
            wrapper_label,
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

    fn entry(name: &str) -> ModelEntry {
        ModelEntry {
            name: name.to_owned(),
            target: ModelTarget::new("llamacpp", "http://localhost:8080", 4096),
            client: ProxyClient::new().unwrap(),
            wrapper_label: "default".to_owned(),
        }
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
        let message = ModelEntry::from_config(&config, &no_wrapper_files)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("model `m`:"), "{message}");
        assert!(message.contains("no-such-server"), "{message}");
    }
}
