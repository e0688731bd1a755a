//! The server's configuration: a TOML file (unknown fields are refused) or the same
//! structure built in code.
//!
//! ```toml
//! listen = "127.0.0.1:8089"        # default
//! api_keys = ["sk-local-1"]        # none: the server is open
//! max_body_bytes = 4194304         # default 4 MiB
//! default_model = "local"          # serves requests naming an unknown model
//! cors_origins = ["https://app.example"]   # default none (no CORS); ["*"]: any
//! metrics = true                   # default: GET /metrics (Prometheus); false: off
//!
//! [[models]]
//! name = "local"                   # what clients send as `model`
//! aliases = ["gpt-4o", "gpt-4o-mini"]   # other names clients may send
//! endpoint_type = "llamacpp"
//! endpoint = "http://localhost:8080"   # default: the endpoint type's usual address
//! context_window = 8192
//! wrapper = "chatml"               # or wrapper_file = "my-wrapper.toml"
//! # or the model's own chat template, from one of:
//! # chat_template_from_backend = true          (llama.cpp's /props)
//! # chat_template_gguf = "model.gguf"          (the GGUF file's metadata)
//! # tokenizer_config = "tokenizer_config.json"
//! # chat_template_file = "template.jinja"      (with bos_token / eos_token)
//! # tool_call_format = "hermes"                (default: read off the template)
//! ```
//!
//! Several servers of one model, failover and fallbacks: see [`crate::replica_config`].

use std::path::{Path, PathBuf};

use proxy_core::wrapper_choice::{ChatTemplateSettings, SettingNames};
use proxy_core::TokenCounting;
use serde::Deserialize;

use crate::auth::Secret;
use crate::replica_config::{read_key, validate_failover};
pub use crate::replica_config::{EndpointConfig, HealthConfig};

/// Where the server listens by default: loopback only, on a port no supported backend
/// uses by default (llama.cpp 8080, koboldcpp 5001, ollama 11434, LM Studio 1234,
/// vLLM 8000, text-generation-webui 5000).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8089";

/// The default request-body limit: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on, `HOST:PORT` (default [`DEFAULT_LISTEN`]).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Keys clients must send as `Authorization: Bearer KEY`; empty: no key needed.
    #[serde(default)]
    pub api_keys: Vec<Secret>,
    /// The largest request body accepted, in bytes (default [`DEFAULT_MAX_BODY_BYTES`]).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// The models served; the request's `model` picks one by its `name` or one of
    /// its `aliases`.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// The model (a name or alias) that serves requests naming a model this server
    /// does not have; without it, such a request is a 404 — unless only one model is
    /// configured, which then serves every request.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Origins (`https://app.example`, or `*` for any) whose web pages may call the
    /// server (CORS); none by default, so browsers refuse cross-origin calls.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Whether the server records metrics and serves them on `GET /metrics`
    /// (Prometheus' text format, no API key needed); default on.
    #[serde(default = "default_metrics")]
    pub metrics: bool,
}

fn default_metrics() -> bool {
    true
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            api_keys: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            models: Vec::new(),
            default_model: None,
            cors_origins: Vec::new(),
            metrics: true,
        }
    }
}

/// One `[[models]]` entry: a public model name and the backend serving it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The name clients send as `model` (and see in `/v1/models`).
    pub name: String,
    /// Other names clients may send for this model (clients hard-code OpenAI's,
    /// e.g. `gpt-4o`); listed in `/v1/models` too. Responses echo the name sent.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The kind of server (`llamacpp`, `ollama`, …).
    pub endpoint_type: String,
    /// The server's base URL; default: the endpoint type's usual address (unless
    /// `endpoints` are given).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Several servers of the model, spread by load (not with `endpoint`).
    #[serde(default)]
    pub endpoints: Option<Vec<EndpointConfig>>,
    /// The most requests that may wait for a replica's slot (default 64); one more
    /// is answered 503 with `Retry-After`.
    #[serde(default)]
    pub max_queue: Option<usize>,
    /// Models (names or aliases) asked in order when every replica of this one
    /// failed or is busy.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// The model (a name or alias, with a larger context window) asked when a prompt
    /// does not fit this one.
    #[serde(default)]
    pub context_window_fallback: Option<String>,
    /// How replicas are ejected, probed and retried (`[models.health]`).
    #[serde(default)]
    pub health: HealthConfig,
    /// A registered wrapper name (the request's `wrapper` field still wins).
    #[serde(default)]
    pub wrapper: Option<String>,
    /// A user-defined wrapper file; a relative path is relative to the config file.
    #[serde(default)]
    pub wrapper_file: Option<PathBuf>,
    /// A Jinja chat template file to render prompts with (the model's own template);
    /// a relative path is relative to the config file.
    #[serde(default)]
    pub chat_template_file: Option<PathBuf>,
    /// The `bos_token` a `chat_template_file` is rendered with.
    #[serde(default)]
    pub bos_token: Option<String>,
    /// The `eos_token` a `chat_template_file` is rendered with (also a stop string).
    #[serde(default)]
    pub eos_token: Option<String>,
    /// A `tokenizer_config.json` whose chat template and special tokens to use; a
    /// relative path is relative to the config file.
    #[serde(default)]
    pub tokenizer_config: Option<PathBuf>,
    /// A GGUF model file whose metadata's chat template and special tokens to use; a
    /// relative path is relative to the config file.
    #[serde(default)]
    pub chat_template_gguf: Option<PathBuf>,
    /// Use the chat template the backend serves (llama.cpp's `/props`), fetched at the
    /// first request.
    #[serde(default)]
    pub chat_template_from_backend: bool,
    /// The model's tool-call format with a chat template (`hermes`, `llama3-json`,
    /// `mistral`, `json`); default: read off the template.
    #[serde(default)]
    pub tool_call_format: Option<String>,
    /// The model's context window in tokens.
    pub context_window: u64,
    /// The backend's model name; default: the public `name`.
    #[serde(default)]
    pub model: Option<String>,
    /// Backend auth: `bearer_token` or `api_key`.
    #[serde(default)]
    pub auth_type: Option<String>,
    /// The backend key (prefer `auth_key_env`, which keeps it out of the file).
    #[serde(default)]
    pub auth_key: Option<Secret>,
    /// The environment variable holding the backend key.
    #[serde(default)]
    pub auth_key_env: Option<String>,
    /// The completion settings preset: `simple` (default) or `deterministic_mirostat`.
    #[serde(default)]
    pub settings_preset: Option<String>,
    /// Seconds to wait for the whole backend reply (default 600).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// How prompts are counted (default `server`).
    #[serde(default)]
    pub tokenizer: TokenCounting,
    /// How many times an answer that is not a call the request allows is asked for
    /// again before the request fails with `invalid_tool_call` (default 1).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// The largest `n` a request may ask for (default 8).
    #[serde(default)]
    pub max_choices: Option<u32>,
    /// Which of the backend's output constraints to send (`chat-completion-proxy
    /// backends` lists them: `grammar`, `json_schema`, `guided_json`, …), or `none`;
    /// default: the backend's default.
    #[serde(default)]
    pub constraint: Option<String>,
    /// The most characters a constrained answer's `inner_thoughts` may have; `0`: no
    /// bound (default 400).
    #[serde(default)]
    pub max_thought_chars: Option<u32>,
    /// The most characters each free-text string argument of a constrained call may
    /// have (so a model repeating itself still closes its JSON before `max_tokens`);
    /// `0` or unset: no bound.
    #[serde(default)]
    pub max_argument_chars: Option<u32>,
}

impl ModelConfig {
    /// An entry with only the required fields; the rest take their defaults.
    pub fn new(
        name: impl Into<String>,
        endpoint_type: impl Into<String>,
        context_window: u64,
    ) -> Self {
        ModelConfig {
            name: name.into(),
            endpoint_type: endpoint_type.into(),
            context_window,
            ..ModelConfig::default()
        }
    }

    /// The backend key: `auth_key`, else the value of `auth_key_env`.
    pub fn auth_key(&self) -> Result<Option<Secret>, ConfigError> {
        read_key(self.auth_key.as_ref(), self.auth_key_env.as_deref())
            .map_err(|reason| self.invalid(reason))
    }

    /// The chat-template settings of this entry.
    pub fn chat_template(&self) -> ChatTemplateSettings {
        ChatTemplateSettings {
            chat_template_file: self.chat_template_file.clone(),
            bos_token: self.bos_token.clone(),
            eos_token: self.eos_token.clone(),
            tokenizer_config: self.tokenizer_config.clone(),
            chat_template_gguf: self.chat_template_gguf.clone(),
            chat_template_from_backend: self.chat_template_from_backend,
            tool_call_format: self.tool_call_format.clone(),
        }
    }

    /// A [`ConfigError::Model`] about this entry.
    pub fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Model {
            model: self.name.clone(),
            reason: reason.into(),
        }
    }
}

/// Why a configuration cannot be used. Messages never hold a key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped fields.
    #[error("invalid config file {origin}: {message}")]
    Parse {
        /// The file (or `<config>` for text).
        origin: String,
        /// What is wrong, with its line.
        message: String,
    },
    /// A setting of the whole server is wrong.
    #[error("invalid server config: {0}")]
    Invalid(String),
    /// One model entry is wrong.
    #[error("model `{model}`: {reason}")]
    Model {
        /// The entry's `name`.
        model: String,
        /// What is wrong and what to set instead.
        reason: String,
    },
}

impl ServerConfig {
    /// Parses TOML text and checks it ([`ServerConfig::validate`]).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, "<config>")
    }

    /// Reads and checks a config file; relative `wrapper_file` paths are made relative
    /// to the file's folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        for model in &mut config.models {
            for file in [
                &mut model.wrapper_file,
                &mut model.chat_template_file,
                &mut model.tokenizer_config,
                &mut model.chat_template_gguf,
            ]
            .into_iter()
            .flatten()
            {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
        }
        Ok(config)
    }

    fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            origin: origin.to_owned(),
            message: one_line(&error, text),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what can be checked without the plugin registries: at least one model,
    /// unique non-empty names and aliases, a `default_model` that names a model, CORS
    /// origins that are origins, no empty key, a non-zero body limit, a wrapper given
    /// at most one way, a usable timeout.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.trim().is_empty() {
            return Err(ConfigError::Invalid(format!(
                "`listen` is empty; give HOST:PORT, e.g. `{DEFAULT_LISTEN}`"
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "`max_body_bytes` must be more than 0".to_owned(),
            ));
        }
        if self
            .api_keys
            .iter()
            .any(|key| key.expose().trim().is_empty())
        {
            return Err(ConfigError::Invalid(
                "`api_keys` holds an empty key; remove it".to_owned(),
            ));
        }
        if self.models.is_empty() {
            return Err(ConfigError::Invalid(
                "no models configured; add a [[models]] entry with name, endpoint_type and context_window".to_owned(),
            ));
        }
        for (index, model) in self.models.iter().enumerate() {
            if model.name.trim().is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "models[{index}] has an empty `name`; give the name clients send as `model`"
                )));
            }
            if self.models[..index].iter().any(|m| m.name == model.name) {
                return Err(model.invalid("the name is used by more than one [[models]] entry"));
            }
            for (position, alias) in model.aliases.iter().enumerate() {
                if alias.trim().is_empty() {
                    return Err(model.invalid("`aliases` holds an empty name; remove it"));
                }
                let earlier = model.aliases[..position].contains(alias)
                    || *alias == model.name
                    || self.models[..index]
                        .iter()
                        .any(|m| m.name == *alias || m.aliases.contains(alias));
                if earlier {
                    return Err(model.invalid(format!(
                        "the alias `{alias}` is already a model name or alias; each name may serve one model only"
                    )));
                }
            }
            if let Some(other) = self.models[..index]
                .iter()
                .find(|m| m.aliases.contains(&model.name))
            {
                return Err(model.invalid(format!(
                    "the name is already an alias of model `{}`",
                    other.name
                )));
            }
            if model.wrapper.is_some() && model.wrapper_file.is_some() {
                return Err(model.invalid("give `wrapper` or `wrapper_file`, not both"));
            }
            let template = model
                .chat_template()
                .selection(SettingNames::CONFIG)
                .map_err(|reason| model.invalid(reason))?;
            if template.is_some() {
                if let Some(key) = [
                    ("wrapper", model.wrapper.is_some()),
                    ("wrapper_file", model.wrapper_file.is_some()),
                ]
                .iter()
                .find_map(|(key, given)| given.then_some(key))
                {
                    return Err(model.invalid(format!("give `{key}` or a chat template, not both")));
                }
            }
            if let Some(seconds) = model.timeout_secs {
                if !(seconds.is_finite() && seconds > 0.0) {
                    return Err(model.invalid("`timeout_secs` must be a positive number"));
                }
            }
        }
        if let Some(default) = &self.default_model {
            let known = self
                .models
                .iter()
                .any(|m| m.name == *default || m.aliases.contains(default));
            if !known {
                let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
                return Err(ConfigError::Invalid(format!(
                    "`default_model` is `{default}`, which is no model's name or alias; the models are {}",
                    names.join(", ")
                )));
            }
        }
        for origin in &self.cors_origins {
            check_origin(origin, self.cors_origins.len())?;
        }
        validate_failover(self)
    }
}

/// Checks one `cors_origins` entry: `*` (alone), or `scheme://host[:port]` with no
/// path, as browsers send it in `Origin`.
fn check_origin(origin: &str, count: usize) -> Result<(), ConfigError> {
    if origin == "*" {
        if count > 1 {
            return Err(ConfigError::Invalid(
                "`cors_origins` holds `*` and other origins; `*` already allows every origin, give it alone".to_owned(),
            ));
        }
        return Ok(());
    }
    let refuse = |why: &str| {
        Err(ConfigError::Invalid(format!(
            "`cors_origins` holds `{origin}`, which is not an origin ({why}); give `scheme://host[:port]`, e.g. `https://app.example`, or `*`"
        )))
    };
    let Some((scheme, host)) = origin.split_once("://") else {
        return refuse("no scheme");
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return refuse("a bad scheme");
    }
    if host.is_empty() {
        return refuse("no host");
    }
    if host.contains('/') || host.contains('?') || host.contains('#') {
        return refuse("it has a path; an origin ends after the host and port");
    }
    if !host.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("spaces or non-ASCII characters");
    }
    Ok(())
}

/// A TOML error on one line: its message and the line it is on, without quoting the
/// file (which may hold keys).
fn one_line(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(1, |before| before.matches('\n').count() + 1);
            format!("line {line}: {message}")
        }
        None => message,
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_owned()
}

fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[models]]
name = "local"
endpoint_type = "llamacpp"
context_window = 4096
"#;

    #[test]
    fn a_chat_template_is_one_source_and_not_with_a_wrapper() {
        let dir = std::env::temp_dir().join(format!("ccp-config-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(
            &path,
            format!(
                "{MINIMAL}chat_template_gguf = \"model.gguf\"\ntool_call_format = \"hermes\"\n"
            ),
        )
        .unwrap();
        let config = ServerConfig::load(&path).unwrap();
        assert_eq!(
            config.models[0].chat_template_gguf,
            Some(dir.join("model.gguf")),
            "relative to the config file"
        );
        let both = ServerConfig::from_toml_str(&format!(
            "{MINIMAL}wrapper = \"chatml\"\nchat_template_from_backend = true\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            both,
            "model `local`: give `wrapper` or a chat template, not both"
        );
        let two = ServerConfig::from_toml_str(&format!(
            "{MINIMAL}tokenizer_config = \"t.json\"\nchat_template_file = \"t.jinja\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            two.contains("not both `chat_template_file` and `tokenizer_config`"),
            "{two}"
        );
    }

    #[test]
    fn defaults() {
        let config = ServerConfig::from_toml_str(MINIMAL).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8089");
        assert!(config.api_keys.is_empty());
        assert_eq!(config.max_body_bytes, 4 * 1024 * 1024);
        let model = &config.models[0];
        assert_eq!(model.endpoint, None);
        assert_eq!(model.tokenizer, TokenCounting::ServerWhereAvailable);
        assert_eq!(model.timeout_secs, None);
        assert_eq!(model, &ModelConfig::new("local", "llamacpp", 4096));
    }

    #[test]
    fn every_field_parses() {
        let text = r#"
listen = "0.0.0.0:9000"
api_keys = ["k1", "k2"]
max_body_bytes = 1024
[[models]]
name = "a"
endpoint_type = "ollama"
endpoint = "http://localhost:11434"
wrapper = "llama3"
context_window = 8192
model = "llama3:8b"
auth_type = "bearer_token"
auth_key = "secret"
settings_preset = "deterministic_mirostat"
timeout_secs = 30
tokenizer = "cl100k"
"#;
        let config = ServerConfig::from_toml_str(text).unwrap();
        assert_eq!(config.api_keys, vec![Secret::new("k1"), Secret::new("k2")]);
        let model = &config.models[0];
        assert_eq!(model.timeout_secs, Some(30.0));
        assert_eq!(model.tokenizer, TokenCounting::Cl100k);
        assert_eq!(model.auth_key().unwrap(), Some(Secret::new("secret")));
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn unknown_fields_are_refused_with_their_line() {
        for (text, field) in [
            (format!("{MINIMAL}colour = \"red\"\n"), "colour"),
            (format!("port = 1\n{MINIMAL}"), "port"),
        ] {
            let error = ServerConfig::from_toml_str(&text).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(field), "{message}");
            assert!(message.contains("line"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn inconsistent_entries_are_refused() {
        let cases = [
            ("", "no models configured"),
            (&format!("{MINIMAL}{MINIMAL}") as &str, "more than one"),
            (
                &format!("{MINIMAL}wrapper = \"a\"\nwrapper_file = \"b\"\n"),
                "not both",
            ),
            (&format!("{MINIMAL}timeout_secs = 0\n"), "timeout_secs"),
            (&format!("api_keys = [\"\"]\n{MINIMAL}"), "empty key"),
            (&format!("max_body_bytes = 0\n{MINIMAL}"), "max_body_bytes"),
        ];
        for (text, needle) in cases {
            let message = ServerConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }

    #[test]
    fn aliases_default_model_and_cors_parse() {
        let text = format!(
            "default_model = \"gpt-4o\"\ncors_origins = [\"https://app.example\", \"http://localhost:3000\"]\n{MINIMAL}aliases = [\"gpt-4o\", \"gpt-4\"]\n"
        );
        let config = ServerConfig::from_toml_str(&text).unwrap();
        assert_eq!(config.models[0].aliases, vec!["gpt-4o", "gpt-4"]);
        assert_eq!(config.default_model.as_deref(), Some("gpt-4o"));
        assert_eq!(config.cors_origins.len(), 2);
        let any = format!("cors_origins = [\"*\"]\n{MINIMAL}");
        assert!(ServerConfig::from_toml_str(&any).is_ok());
    }

    #[test]
    fn clashing_names_and_bad_defaults_or_origins_are_refused() {
        let second =
            "[[models]]\nname = \"big\"\nendpoint_type = \"llamacpp\"\ncontext_window = 4096\n";
        let cases = [
            (
                format!("{MINIMAL}aliases = [\"gpt-4o\", \"gpt-4o\"]\n"),
                "the alias `gpt-4o` is already",
            ),
            (
                format!("{MINIMAL}aliases = [\"local\"]\n"),
                "the alias `local`",
            ),
            (format!("{MINIMAL}aliases = [\" \"]\n"), "empty name"),
            (
                format!("{MINIMAL}aliases = [\"gpt-4o\"]\n{second}aliases = [\"gpt-4o\"]\n"),
                "model `big`: the alias `gpt-4o` is already",
            ),
            (
                format!("{MINIMAL}aliases = [\"big\"]\n{second}"),
                "model `big`: the name is already an alias of model `local`",
            ),
            (
                format!("{MINIMAL}{second}aliases = [\"local\"]\n"),
                "the alias `local`",
            ),
            (
                format!("default_model = \"gpt-5\"\n{MINIMAL}"),
                "`default_model` is `gpt-5`, which is no model's name or alias",
            ),
            (
                format!("cors_origins = [\"*\", \"https://a.example\"]\n{MINIMAL}"),
                "give it alone",
            ),
            (
                format!("cors_origins = [\"app.example\"]\n{MINIMAL}"),
                "no scheme",
            ),
            (
                format!("cors_origins = [\"https://app.example/\"]\n{MINIMAL}"),
                "has a path",
            ),
        ];
        for (text, needle) in cases {
            let message = ServerConfig::from_toml_str(&text).unwrap_err().to_string();
            assert!(message.contains(needle), "{needle}: {message}");
        }
        let alias_default =
            format!("default_model = \"gpt-4o\"\n{MINIMAL}aliases = [\"gpt-4o\"]\n{second}");
        assert!(ServerConfig::from_toml_str(&alias_default).is_ok());
    }

    #[test]
    fn auth_key_env_reads_the_variable() {
        let mut model = ModelConfig::new("m", "llamacpp", 10);
        model.auth_key_env = Some("PROXY_SERVER_TEST_KEY_SET".into());
        std::env::set_var("PROXY_SERVER_TEST_KEY_SET", "from-env");
        assert_eq!(model.auth_key().unwrap(), Some(Secret::new("from-env")));
        model.auth_key_env = Some("PROXY_SERVER_TEST_KEY_UNSET".into());
        let message = model.auth_key().unwrap_err().to_string();
        assert!(message.contains("PROXY_SERVER_TEST_KEY_UNSET"), "{message}");
        model.auth_key = Some(Secret::new("x"));
        assert!(model
            .auth_key()
            .unwrap_err()
            .to_string()
            .contains("not both"));
    }

    #[test]
    fn relative_wrapper_files_follow_the_config_file() {
        let dir = std::env::temp_dir().join(format!("proxy-server-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(&path, format!("{MINIMAL}wrapper_file = \"w.toml\"\n")).unwrap();
        let config = ServerConfig::load(&path).unwrap();
        assert_eq!(config.models[0].wrapper_file, Some(dir.join("w.toml")));
        let missing = ServerConfig::load(&dir.join("absent.toml")).unwrap_err();
        assert!(missing.to_string().contains("absent.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
