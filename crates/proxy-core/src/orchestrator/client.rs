//! [`ProxyClient`]: the reusable object that runs chat completions — one HTTP
//! connection pool, the completion settings read once, the grammar generator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::ProxyError;
use super::grammar_selection::GrammarSelector;
use crate::grammar::GrammarGenerator;
use crate::settings::{completion_settings_from, settings_file_path, SettingsPreset};

/// How long to wait for a TCP connection to the backend by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a whole backend reply by default. Local models on a CPU can
/// take minutes for a long prompt, so this is generous.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How the prompt is counted for the context-window check and `usage.prompt_tokens`:
/// the one choice behind the server config's `tokenizer` and the CLI's `--tokenizer`,
/// written `server` or `cl100k`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum TokenCounting {
    /// The server's own tokenizer where the backend has one (llama.cpp and vLLM
    /// `/tokenize`, koboldcpp's token count), exact for the loaded model at the cost
    /// of one extra request; cl100k_base elsewhere, or when the server's tokenizer
    /// fails with anything but a connection error or timeout.
    #[default]
    #[serde(rename = "server")]
    ServerWhereAvailable,
    /// Always cl100k_base (offline, as the reference; an approximation for most local
    /// models).
    #[serde(rename = "cl100k")]
    Cl100k,
}

impl TokenCounting {
    /// The name users write (`server`, `cl100k`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenCounting::ServerWhereAvailable => "server",
            TokenCounting::Cl100k => "cl100k",
        }
    }
}

impl std::fmt::Display for TokenCounting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenCounting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [TokenCounting::ServerWhereAvailable, TokenCounting::Cl100k]
            .into_iter()
            .find(|counting| counting.as_str() == text)
            .ok_or_else(|| format!("unknown tokenizer `{text}`; use `server` or `cl100k`"))
    }
}

/// Builds a [`ProxyClient`].
#[derive(Clone, Default)]
pub struct ProxyClientBuilder {
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    grammar_generator: Option<Arc<dyn GrammarGenerator>>,
    token_counting: TokenCounting,
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

    /// Chooses how prompts are counted (default
    /// [`TokenCounting::ServerWhereAvailable`]).
    pub fn token_counting(mut self, counting: TokenCounting) -> Self {
        self.token_counting = counting;
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
            token_counting: self.token_counting,
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
    pub(super) token_counting: TokenCounting,
    pub(super) function_correction: bool,
}

impl std::fmt::Debug for ProxyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyClient")
            .field("token_counting", &self.token_counting)
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

    /// The grammar generator: the one given to the builder, else the registered one.
    pub fn grammar_generator(&self) -> Option<&dyn GrammarGenerator> {
        self.grammars.generator()
    }
}

#[cfg(test)]
mod token_counting_tests {
    use super::TokenCounting;

    #[test]
    fn the_names_users_write_round_trip() {
        for counting in [TokenCounting::ServerWhereAvailable, TokenCounting::Cl100k] {
            assert_eq!(counting.to_string().parse::<TokenCounting>(), Ok(counting));
            let from_json: TokenCounting =
                serde_json::from_value(serde_json::json!(counting.as_str())).unwrap();
            assert_eq!(from_json, counting);
        }
        assert_eq!(
            "gpt2".parse::<TokenCounting>(),
            Err("unknown tokenizer `gpt2`; use `server` or `cl100k`".to_owned())
        );
    }
}
