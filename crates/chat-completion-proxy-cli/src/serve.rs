//! `serve`: the OpenAI-compatible HTTP server (the `proxy-server` crate) on a
//! multi-thread runtime, from a config file or from flags for one model.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use proxy_server::{serve, shutdown_signal, ModelConfig, Secret, ServerConfig, ServerState};

use crate::commands::LogFormat;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server's TOML config file (see examples/serve.toml); without it, one model
    /// is served from the flags below.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// HOST:PORT to listen on (overrides the config's `listen`; default 127.0.0.1:8089).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// A key clients must send as `Authorization: Bearer KEY`, added to the config's
    /// `api_keys`; `CCP_API_KEY` keeps it out of the process list.
    #[arg(long, value_name = "KEY", env = "CCP_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// An origin whose web pages may call the server (CORS), e.g.
    /// `https://app.example`, or `*` for any; repeatable, added to the config's
    /// `cors_origins`. Default: none (CORS off).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Record no metrics and serve no `GET /metrics` (overrides the config's
    /// `metrics`).
    #[arg(long)]
    no_metrics: bool,
    /// Without --config: the kind of server (see `backends`).
    #[arg(long, value_name = "TYPE")]
    endpoint_type: Option<String>,
    /// Without --config: the server's base URL (default: the endpoint type's usual one).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Without --config: the model's context window in tokens.
    #[arg(long, value_name = "N")]
    context_window: Option<u64>,
    /// Without --config: a registered wrapper name (see `wrappers`).
    #[arg(long, conflicts_with_all = ["wrapper_file", "chat_template_file", "tokenizer_config", "chat_template_gguf"])]
    wrapper: Option<String>,
    /// Without --config: a user-defined wrapper file (TOML).
    #[arg(long, value_name = "PATH")]
    wrapper_file: Option<PathBuf>,
    /// Without --config: the model's own chat template instead of a named wrapper.
    #[command(flatten)]
    template: crate::template_args::ChatTemplateArgs,
    /// Without --config: use the chat template the backend serves (llama.cpp's
    /// `/props`), fetched at the first request.
    #[arg(long, conflicts_with_all = ["wrapper", "wrapper_file", "chat_template_file", "tokenizer_config", "chat_template_gguf"])]
    chat_template_from_backend: bool,
    /// Without --config: the backend's model name (default: --model-name).
    #[arg(long)]
    model: Option<String>,
    /// Without --config: the name clients send as `model`.
    #[arg(long, value_name = "NAME", default_value = "local")]
    model_name: String,
    /// Without --config: another name clients may send as `model` (e.g. `gpt-4o`);
    /// repeatable, listed in /v1/models. (The one model serves any name anyway; the
    /// response echoes the name sent.)
    #[arg(long = "alias", value_name = "NAME")]
    aliases: Vec<String>,
    /// Without --config: `bearer_token` or `api_key` for the backend.
    #[arg(long, value_name = "TYPE", requires = "auth_key")]
    auth_type: Option<String>,
    /// Without --config: the backend key; `CCP_AUTH_KEY` keeps it out of the process list.
    #[arg(long, value_name = "KEY", env = "CCP_AUTH_KEY", hide_env_values = true)]
    auth_key: Option<String>,
    /// Without --config: seconds to wait for a whole backend reply (default 600).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Without --config: which of the backend's output constraints to send (see
    /// `backends`), or `none` (default: the backend's default).
    #[arg(long, value_name = "NAME")]
    constraint: Option<String>,
    /// Without --config: the most characters a constrained answer's `inner_thoughts`
    /// may have; 0: no bound (default 400).
    #[arg(long, value_name = "N")]
    max_thought_chars: Option<u32>,
    /// Without --config: the most characters each free-text string argument of a
    /// constrained call may have; 0 (the default): no bound.
    #[arg(long, value_name = "N")]
    max_argument_chars: Option<u32>,
}

impl ServeArgs {
    /// The flags that describe the one model served without --config.
    fn model_flags(&self) -> Vec<&'static str> {
        let mut flags: Vec<&'static str> = [
            ("--endpoint-type", self.endpoint_type.is_some()),
            ("--endpoint", self.endpoint.is_some()),
            ("--context-window", self.context_window.is_some()),
            ("--wrapper", self.wrapper.is_some()),
            ("--wrapper-file", self.wrapper_file.is_some()),
            ("--model", self.model.is_some()),
            ("--alias", !self.aliases.is_empty()),
            ("--auth-type", self.auth_type.is_some()),
            ("--timeout", self.timeout.is_some()),
            ("--constraint", self.constraint.is_some()),
            ("--max-thought-chars", self.max_thought_chars.is_some()),
            ("--max-argument-chars", self.max_argument_chars.is_some()),
            (
                "--chat-template-from-backend",
                self.chat_template_from_backend,
            ),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        flags.extend(self.template.given());
        flags
    }

    /// The configuration: the file, or one model from the flags; then the overrides.
    fn config(&self) -> Result<ServerConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let flags = self.model_flags();
                if !flags.is_empty() {
                    bail!(
                        "{} describe the model served without --config; put it in {} instead",
                        flags.join(", "),
                        path.display()
                    );
                }
                ServerConfig::load(path)?
            }
            None => ServerConfig {
                models: vec![self.model_config()?],
                ..ServerConfig::default()
            },
        };
        if let Some(listen) = &self.listen {
            config.listen = listen.clone();
        }
        if let Some(key) = &self.api_key {
            config.api_keys.push(Secret::new(key.clone()));
        }
        config
            .cors_origins
            .extend(self.cors_origins.iter().cloned());
        if self.no_metrics {
            config.metrics = false;
        }
        config.validate()?;
        Ok(config)
    }

    fn model_config(&self) -> Result<ModelConfig> {
        let (Some(endpoint_type), Some(context_window)) =
            (&self.endpoint_type, self.context_window)
        else {
            bail!(
                "give --config PATH, or --endpoint-type TYPE and --context-window N for one model"
            );
        };
        let mut model = ModelConfig::new(&self.model_name, endpoint_type, context_window);
        model.endpoint = self.endpoint.clone();
        model.wrapper = self.wrapper.clone();
        model.wrapper_file = self.wrapper_file.clone();
        model.model = self.model.clone();
        model.aliases = self.aliases.clone();
        model.auth_type = self.auth_type.clone();
        model.auth_key = self.auth_key.clone().map(Secret::new);
        model.timeout_secs = self.timeout;
        model.constraint = self.constraint.clone();
        model.max_thought_chars = self.max_thought_chars;
        model.max_argument_chars = self.max_argument_chars;
        let template = self.template.settings(self.chat_template_from_backend);
        model.chat_template_file = template.chat_template_file;
        model.bos_token = template.bos_token;
        model.eos_token = template.eos_token;
        model.tokenizer_config = template.tokenizer_config;
        model.chat_template_gguf = template.chat_template_gguf;
        model.chat_template_from_backend = template.chat_template_from_backend;
        model.tool_call_format = template.tool_call_format;
        Ok(model)
    }
}

/// `serve`: runs until SIGINT or SIGTERM, then lets the requests in flight finish.
/// The banner (the address and the models) is written in `log_format`.
pub fn run(args: &ServeArgs, log_format: LogFormat) -> Result<()> {
    let config = args.config()?;
    let state = ServerState::from_config(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener
            .local_addr()
            .context("cannot read the listening address")?;
        let banner = format!(
            "chat-completion-proxy: serving {} on http://{address} ({})",
            state.models().names().join(", "),
            if state.api_keys().is_open() {
                "no API key needed"
            } else {
                "API key required"
            }
        );
        let mut fields = serde_json::Map::new();
        fields.insert("address".into(), address.to_string().into());
        fields.insert("models".into(), state.models().names().into());
        crate::logging::write_line(log_format, "INFO", &banner, fields);
        serve(state, listener, shutdown_signal())
            .await
            .context("the server stopped with an error")
    })
}
