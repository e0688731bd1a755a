//! [`ServerState`]: what every request handler shares — the models, the API keys,
//! the body limit — built once from a [`ServerConfig`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::ApiKeys;
use crate::config::{ConfigError, ServerConfig};
use crate::models::{ModelEntry, ModelTable};

/// The server's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    models: ModelTable,
    api_keys: ApiKeys,
    max_body_bytes: usize,
    started: u64,
}

impl ServerState {
    /// Checks `config` and resolves every model once (see
    /// [`ModelEntry::from_config`]; `wrapper_file`s are built by the linked-in
    /// wrapper-file loader).
    pub fn from_config(config: &ServerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let entries = config
            .models
            .iter()
            .map(ModelEntry::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(
            ModelTable::new(entries),
            ApiKeys::new(config.api_keys.clone()),
            config.max_body_bytes,
        ))
    }

    /// State from parts already resolved.
    pub fn new(models: ModelTable, api_keys: ApiKeys, max_body_bytes: usize) -> Self {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        ServerState(Arc::new(Inner {
            models,
            api_keys,
            max_body_bytes,
            started,
        }))
    }

    /// The served models.
    pub fn models(&self) -> &ModelTable {
        &self.0.models
    }

    /// The accepted API keys.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.0.api_keys
    }

    /// The largest request body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes
    }

    /// When the state was built (Unix seconds): the `created` of `/v1/models`.
    pub fn started(&self) -> u64 {
        self.0.started
    }
}
