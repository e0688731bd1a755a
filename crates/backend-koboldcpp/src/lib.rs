//! The `koboldcpp` endpoint type: koboldcpp's KoboldAI API, `POST /api/v1/generate`.
//!
//! Body: the completion settings with the stop list renamed `stop_sequence`, `prompt`,
//! `max_context_length` = the context window, `max_length` = 400 (the server's default
//! is too short for an agent's reply), `grammar` (GBNF) when asked, and the caller's
//! sampling fields (`max_tokens` becomes `max_length`, `seed` becomes
//! `sampler_seed`). Reply: the text from `results[0].text`.
//!
//! koboldcpp's `finish_reason` is lossy: `"stop"` only means end-of-sequence, while a
//! stop-string hit and the token limit both say `"length"`. When the server also
//! reports `completion_tokens` (2025 builds), fewer tokens than `max_length` means a
//! stop string; otherwise `"length"` is reported as unknown, never as the limit.
//! Token counting uses the server's `POST /api/extra/tokencount`.
//!
//! Streaming: the same body to `POST /api/extra/generate/stream`; server-sent events
//! `event: message` / `data: {"token": …, "finish_reason": …}`, no end marker (the
//! server closes the connection after the event that carries the finish reason).

mod wire;

use async_trait::async_trait;
use proxy_core::backend::http::{post_json, send_json, BackendCall};
use proxy_core::backend::streaming::sse_completion_stream;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
    TokenCountRequest,
};

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/v1/generate";
/// The streaming path.
pub const STREAM_PATH: &str = "/api/extra/generate/stream";
/// The tokenizer path.
pub const TOKENIZE_PATH: &str = "/api/extra/tokencount";
const SERVER: &str = "koboldcpp server";

/// The koboldcpp backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct KoboldCppBackend;

#[async_trait]
impl CompletionBackend for KoboldCppBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        let body = wire::body(request);
        let call = generate_call(request, COMPLETION_PATH);
        let reply = post_json::<wire::GenerateReply>(http, &call, &body).await?;
        wire::completion(reply, wire::max_length(&body))
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let call = generate_call(request, STREAM_PATH);
        let (response, uri) = send_json(http, &call, &wire::body(request)).await?;
        Ok(Some(sse_completion_stream(
            response,
            &call,
            uri,
            wire::stream_chunk,
        )))
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
        let body = serde_json::json!({ "prompt": request.text });
        let reply = post_json::<wire::TokenCountReply>(http, &call, &body).await?;
        match reply.value.value {
            Some(count) => Ok(Some(count)),
            None => Err(reply.invalid("the token count reply has no `value`")),
        }
    }
}

/// A generate call to `path` for `request`.
fn generate_call<'a>(request: &BackendRequest<'a>, path: &'a str) -> BackendCall<'a> {
    BackendCall::for_request(request, path, SERVER)
}

proxy_core::register_backend! {
    name: "koboldcpp",
    description: "koboldcpp, KoboldAI /api/v1/generate API (GBNF grammars)",
    default_endpoint: "http://localhost:5001",
    supports_grammar: true,
    supports_tokenize: true,
    build: || Box::new(KoboldCppBackend),
}
