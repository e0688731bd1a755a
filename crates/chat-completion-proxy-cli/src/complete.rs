//! `complete` and `backends`: the whole pipeline against a real server.

use std::time::Duration;

use anyhow::{Context, Result};
use chat_completion_proxy::backend::{
    available_backends, find_backend, BackendAuth, ConstraintChoice,
};
use chat_completion_proxy::settings::SettingsPreset;
use chat_completion_proxy::{
    ChatCompletionRequest, ModelTarget, ProxyClient, TokenCounting, WrapperSelection,
    DEFAULT_MAX_THOUGHT_CHARS,
};
use clap::Args;

/// Arguments of `complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The kind of server (see `backends`).
    #[arg(long, value_name = "TYPE")]
    endpoint_type: String,
    /// The server's base URL; defaults to the endpoint type's usual address.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// The model's context window in tokens; longer prompts are refused before sending.
    #[arg(long, value_name = "N")]
    context_window: u64,
    #[command(flatten)]
    wrapper: crate::wrapper_args::WrapperArgs,
    /// Use the chat template the backend serves (llama.cpp's `/props`).
    #[arg(long, conflicts_with_all = ["wrapper", "wrapper_file", "chat_template_file", "tokenizer_config", "chat_template_gguf"])]
    chat_template_from_backend: bool,
    /// The backend's model name (required by ollama, vLLM and Groq); defaults to the
    /// request's `model`.
    #[arg(long)]
    model: Option<String>,
    /// `bearer_token` (Authorization: Bearer KEY) or `api_key` (api-key: KEY).
    #[arg(long, value_name = "TYPE", requires = "auth_key")]
    auth_type: Option<String>,
    /// The key for --auth-type; `CCP_AUTH_KEY` keeps it out of the process list.
    #[arg(long, value_name = "KEY", env = "CCP_AUTH_KEY", hide_env_values = true)]
    auth_key: Option<String>,
    /// Completion settings preset; the user's settings file goes on top.
    #[arg(long, value_name = "NAME", default_value = "simple")]
    preset: String,
    /// Seconds to wait for a connection to the server.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Seconds to wait for the whole completion.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    timeout: f64,
    /// How to count prompt tokens: `server` (the server's tokenizer where the backend
    /// has one, else cl100k_base) or `cl100k`.
    #[arg(long, default_value_t = TokenCounting::ServerWhereAvailable)]
    tokenizer: TokenCounting,
    /// Which of the backend's output constraints to send (see `backends`: `grammar`,
    /// `json_schema`, `guided_json`, …), or `none`; default: the backend's default.
    #[arg(long, value_name = "NAME")]
    constraint: Option<String>,
    /// The most characters a constrained answer's `inner_thoughts` may have; 0: no
    /// bound.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_THOUGHT_CHARS)]
    max_thought_chars: u32,
    /// The most characters each free-text string argument of a constrained call may
    /// have; 0 (the default): no bound.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_argument_chars: u32,
    /// Do not apply MemGPT's heartbeat correction (the request's
    /// `function_correction` field also switches it).
    #[arg(long)]
    no_function_correction: bool,
}

/// `backends`: one endpoint type per line with its default endpoint and its
/// capabilities (`name<TAB>url<TAB>constraints: default grammar (…), streaming, …`).
pub fn backends() -> String {
    let mut out = String::new();
    for name in available_backends() {
        let (endpoint, capabilities) = find_backend(name)
            .map(|backend| {
                (
                    backend.registration.default_endpoint,
                    backend.registration.capabilities.summary(),
                )
            })
            .unwrap_or_default();
        out.push_str(&format!("{name}\t{endpoint}\t{capabilities}\n"));
    }
    out
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{flag} must be a non-negative number of seconds"))
}

/// `complete`: reads an OpenAI chat-completion request, prints the response JSON.
pub fn complete(args: &CompleteArgs, stdin: &str) -> Result<String> {
    let request: ChatCompletionRequest = serde_json::from_str(stdin).context(
        "stdin must be an OpenAI chat-completion request (a JSON object with \"messages\")",
    )?;
    let mut target = ModelTarget::at_default_endpoint(&args.endpoint_type, args.context_window);
    target.endpoint = args.endpoint.clone();
    target.model = args.model.clone();
    target.auth = BackendAuth::from_parts(args.auth_type.as_deref(), args.auth_key.as_deref())?;
    target.settings_preset = args.preset.parse::<SettingsPreset>()?;
    target.token_counting = args.tokenizer;
    if let Some(constraint) = &args.constraint {
        target.constraint = ConstraintChoice::parse(constraint);
    }
    target.max_thought_chars = (args.max_thought_chars > 0).then_some(args.max_thought_chars);
    target.max_argument_chars = (args.max_argument_chars > 0).then_some(args.max_argument_chars);
    let template = args
        .wrapper
        .template
        .selection(args.chat_template_from_backend)?;
    target.wrapper = match (&args.wrapper.wrapper_file, &args.wrapper.wrapper, template) {
        (Some(path), _, _) => WrapperSelection::File(path.clone()),
        (None, Some(name), _) => WrapperSelection::Named(name.clone()),
        (None, None, Some(template)) => template,
        (None, None, None) => WrapperSelection::Default,
    };
    let target = target.resolve()?;
    let mut request = request;
    if args.wrapper.first_message {
        request.first_message = Some(true);
    }
    if args.no_function_correction && request.function_correction.is_none() {
        request.function_correction = Some(false);
    }
    let client = ProxyClient::builder()
        .connect_timeout(seconds(args.connect_timeout, "connect-timeout")?)
        .request_timeout(seconds(args.timeout, "timeout")?)
        .build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let response = runtime.block_on(client.get_chat_completion(&target, &request))?;
    Ok(format!("{}\n", serde_json::to_string_pretty(&response)?))
}
