//! [`ServerState`]: what every request handler shares — the models, the API keys,
//! the body limit, the CORS origins, the metrics handle — built once from a
//! [`ServerConfig`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use metrics_exporter_prometheus::PrometheusHandle;

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
    /// The process's Prometheus recorder; `None`: metrics are off.
    metrics: Option<PrometheusHandle>,
}

impl ServerState {
    /// Checks `config` and resolves every model once (see
    /// [`ModelEntry::from_config`]; `wrapper_file`s are built by the linked-in
    /// wrapper-file loader).
    pub fn from_config(config: &ServerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        // Before the models: resolving them sets each replica's health gauge, which a
        // recorder installed later would never see.
        let metrics = config.metrics.then(crate::metrics::install);
        let entries = config
            .models
            .iter()
            .map(ModelEntry::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let models = ModelTable::with_default(entries, config.default_model.as_deref())?;
        Ok(Self::build(
            models,
            ApiKeys::new(config.api_keys.clone()),
            config.max_body_bytes,
            metrics,
        )
        .with_cors_origins(config.cors_origins.clone()))
    }

    /// State from parts already resolved, with metrics on (the process's recorder is
    /// installed, see [`crate::metrics::install`]).
    pub fn new(models: ModelTable, api_keys: ApiKeys, max_body_bytes: usize) -> Self {
        Self::build(
            models,
            api_keys,
            max_body_bytes,
            Some(crate::metrics::install()),
        )
    }

    /// State from parts; `metrics`: the recorder's handle, to serve `GET /metrics`.
    fn build(
        models: ModelTable,
        api_keys: ApiKeys,
        max_body_bytes: usize,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
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
            metrics,
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

    /// The Prometheus handle `GET /metrics` renders; `None`: metrics are off.
    pub fn metrics(&self) -> Option<&PrometheusHandle> {
        self.0.metrics.as_ref()
    }

    /// When the state was built (Unix seconds): the `created` of `/v1/models`.
    pub fn started(&self) -> u64 {
        self.0.started
    }
}
