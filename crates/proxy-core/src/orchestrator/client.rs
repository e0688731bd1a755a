//! [`ProxyClient`]: the reusable object that runs chat completions — one HTTP
//! connection pool, the completion settings read once, the grammar generator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::call_policy::SchemaValidators;
use super::error::ProxyError;
use super::grammar_selection::GrammarSelector;
use crate::grammar::GrammarGenerator;
use crate::settings::{completion_settings_from, settings_file_path, SettingsPreset};

/// How long to wait for a TCP connection to the backend by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a whole backend reply by default. Local models on a CPU can
/// take minutes for a long prompt, so this is generous.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Builds a [`ProxyClient`].
#[derive(Clone, Default)]
pub struct ProxyClientBuilder {
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    grammar_generator: Option<Arc<dyn GrammarGenerator>>,
    settings_file: Option<Option<PathBuf>>,
    function_correction: Option<bool>,
}

impl ProxyClientBuilder {
    /// Sets the TCP connect timeout (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the timeout for a whole backend call (default [`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Uses this grammar generator instead of the one a plugin registered.
    pub fn grammar_generator(mut self, generator: Arc<dyn GrammarGenerator>) -> Self {
        self.grammar_generator = Some(generator);
        self
    }

    /// Reads the user's completion settings from `path` (`None`: no settings file)
    /// instead of `$CCP_COMPLETION_SETTINGS` or the default path.
    pub fn settings_file(mut self, path: Option<PathBuf>) -> Self {
        self.settings_file = Some(path);
        self
    }

    /// Whether MemGPT's heartbeat correction runs when a request does not say
    /// (default on).
    pub fn function_correction(mut self, enabled: bool) -> Self {
        self.function_correction = Some(enabled);
        self
    }

    /// Builds the client: the HTTP connection pool and the completion settings.
    pub fn build(self) -> Result<ProxyClient, ProxyError> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .timeout(self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT))
            .build()
            .map_err(|error| ProxyError::HttpClient(error.to_string()))?;
        let settings_file = self.settings_file.unwrap_or_else(settings_file_path);
        let settings_for =
            |preset| Arc::new(completion_settings_from(preset, settings_file.as_deref()));
        Ok(ProxyClient {
            http,
            simple_settings: settings_for(SettingsPreset::Simple),
            mirostat_settings: settings_for(SettingsPreset::DeterministicMirostat),
            grammars: Arc::new(GrammarSelector::new(self.grammar_generator)),
            validators: Arc::new(SchemaValidators::new()),
            function_correction: self.function_correction.unwrap_or(true),
        })
    }
}

/// Runs chat completions against local inference servers. Build one per process (or
/// per configuration) and share it: it holds the HTTP connection pool.
#[derive(Clone)]
pub struct ProxyClient {
    pub(super) http: reqwest::Client,
    simple_settings: Arc<Map<String, Value>>,
    mirostat_settings: Arc<Map<String, Value>>,
    pub(super) grammars: Arc<GrammarSelector>,
    pub(super) validators: Arc<SchemaValidators>,
    pub(super) function_correction: bool,
}

impl std::fmt::Debug for ProxyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyClient")
            .field("function_correction", &self.function_correction)
            .field("grammar_generator", &self.grammars.has_given_generator())
            .finish_non_exhaustive()
    }
}

impl ProxyClient {
    /// A client with the default timeouts, settings file and grammar generator.
    pub fn new() -> Result<Self, ProxyError> {
        Self::builder().build()
    }

    /// A builder to change the defaults.
    pub fn builder() -> ProxyClientBuilder {
        ProxyClientBuilder::default()
    }

    /// The completion settings (preset, then the user's file) for `preset`.
    pub fn settings(&self, preset: SettingsPreset) -> &Map<String, Value> {
        match preset {
            SettingsPreset::Simple => &self.simple_settings,
            SettingsPreset::DeterministicMirostat => &self.mirostat_settings,
        }
    }

    /// The settings for `preset`, shared with the calls that use them.
    pub(super) fn settings_shared(&self, preset: SettingsPreset) -> Arc<Map<String, Value>> {
        match preset {
            SettingsPreset::Simple => Arc::clone(&self.simple_settings),
            SettingsPreset::DeterministicMirostat => Arc::clone(&self.mirostat_settings),
        }
    }

    /// Starts the health checks of `target`'s replicas on this client's connection
    /// pool ([`ReplicaSet::start_health_checks`](super::ReplicaSet::start_health_checks));
    /// they stop when the returned value is dropped. Inside a tokio runtime only.
    pub fn start_health_checks(&self, target: &super::ResolvedTarget) -> super::HealthChecks {
        target.replicas().start_health_checks(self.http.clone())
    }

    /// The grammar generator: the one given to the builder, else the registered one.
    pub fn grammar_generator(&self) -> Option<&dyn GrammarGenerator> {
        self.grammars.generator()
    }
}
