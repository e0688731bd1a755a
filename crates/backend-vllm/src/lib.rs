//! The `vllm` endpoint type: vLLM's OpenAI-compatible `POST /v1/completions`.
//!
//! Body: the completion settings, `prompt`, `max_tokens` = 3000 (vLLM's own default
//! is 16), `stream: false`, `user` when known, `model` (required: vLLM refuses a
//! request for a model it does not serve), then the caller's sampling fields.
//! Grammars are dropped with a warning (guided decoding is not wired up). Reply:
//! OpenAI-shaped; overflow is a 400 mentioning "maximum context length", in the old
//! flat (`{"object": "error", …}`) or the newer nested error shape. Token counting
//! uses the server's `POST /tokenize`. Streaming: the same body with `"stream": true`
//! and `stream_options.include_usage` (OpenAI's server-sent events).

use async_trait::async_trait;
use proxy_core::backend::fields::{
    warn_grammar_unsupported, write_overrides, write_stop_sequences, SamplingFieldNames,
};
use proxy_core::backend::http::{post_json, BackendCall};
use proxy_core::backend::openai::{complete_text, stream_text};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
    TokenCountRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/v1/completions";
/// The tokenizer path.
pub const TOKENIZE_PATH: &str = "/tokenize";
/// Generated tokens asked for unless the caller says otherwise (the reference's value).
pub const DEFAULT_MAX_TOKENS: u64 = 3000;
const SERVER: &str = "vLLM server";

/// The vLLM backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct VllmBackend;

/// Settings, `prompt`, `max_tokens`, `stream: false`, `user`, `model`, then the
/// overrides.
pub fn body(request: &BackendRequest<'_>, model: &str) -> Value {
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("max_tokens".into(), json!(DEFAULT_MAX_TOKENS));
    body.insert("stream".into(), json!(false));
    if let Some(user) = request.user {
        body.insert("user".into(), json!(user));
    }
    body.insert("model".into(), json!(model));
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(
        &mut body,
        &request.overrides,
        &SamplingFieldNames::OPENAI,
        "vllm",
    );
    Value::Object(body)
}

/// The `/v1/completions` call for `request`.
fn completion_call<'a>(request: &BackendRequest<'a>) -> BackendCall<'a> {
    BackendCall::for_request(request, COMPLETION_PATH, SERVER)
}

/// A `/tokenize` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct TokenizeReply {
    count: Option<u64>,
    tokens: Option<Vec<Value>>,
}

#[async_trait]
impl CompletionBackend for VllmBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        let model = request.require_model("vllm")?;
        warn_grammar_unsupported(request, "vllm");
        complete_text(http, &completion_call(request), &body(request, model)).await
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let model = request.require_model("vllm")?;
        warn_grammar_unsupported(request, "vllm");
        let stream =
            stream_text(http, &completion_call(request), body(request, model), true).await?;
        Ok(Some(stream))
    }

    async fn count_tokens(
        &self,
        http: &reqwest::Client,
        request: &TokenCountRequest<'_>,
    ) -> Result<Option<u64>, BackendError> {
        let call = BackendCall {
            endpoint: request.endpoint,
            path: TOKENIZE_PATH,
            auth: request.auth,
            server: SERVER,
        };
        let mut body = json!({ "prompt": request.text });
        if let (Some(model), Some(object)) = (request.model, body.as_object_mut()) {
            object.insert("model".into(), json!(model));
        }
        let reply = post_json::<TokenizeReply>(http, &call, &body).await?;
        let count = reply
            .value
            .count
            .or_else(|| reply.value.tokens.as_ref().map(|t| t.len() as u64));
        match count {
            Some(count) => Ok(Some(count)),
            None => Err(reply.invalid("the tokenize reply has no `count`")),
        }
    }
}

proxy_core::register_backend! {
    name: "vllm",
    description: "vLLM, OpenAI-compatible /v1/completions (model required)",
    default_endpoint: "http://localhost:8000",
    supports_grammar: false,
    supports_tokenize: true,
    build: || Box::new(VllmBackend),
}
