//! [`ServerState`]: what every request handler shares — the models, the API keys,
//! the body limit, the CORS origins — built once from a [`ServerConfig`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::ApiKeys;
use crate::config::{ConfigError, ServerConfig};
use crate::models::{ModelEntry, ModelTable};

/// The server's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerState(Arc<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    models: ModelTable,
    api_keys: ApiKeys,
    max_body_bytes: usize,
    cors_origins: Vec<String>,
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
        let models = ModelTable::with_default(entries, config.default_model.as_deref())?;
        Ok(Self::new(
            models,
            ApiKeys::new(config.api_keys.clone()),
            config.max_body_bytes,
        )
        .with_cors_origins(config.cors_origins.clone()))
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
            cors_origins: Vec::new(),
            started,
        }))
    }

    /// The same state, letting web pages from `origins` call the server (CORS;
    /// `["*"]`: any origin; empty: none, the default).
    pub fn with_cors_origins(self, origins: Vec<String>) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.0);
        inner.cors_origins = origins;
        ServerState(Arc::new(inner))
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

    /// The origins allowed to call the server from a web page (empty: CORS is off).
    pub fn cors_origins(&self) -> &[String] {
        &self.0.cors_origins
    }

    /// When the state was built (Unix seconds): the `created` of `/v1/models`.
    pub fn started(&self) -> u64 {
        self.0.started
    }
}
