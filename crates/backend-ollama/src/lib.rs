//! The `ollama` endpoint type: ollama's native `POST /api/generate` in raw mode.
//!
//! Body: `model` (required: a clear error if missing), `prompt`, `stream: false`,
//! `raw: true` (no server-side template), and `options` = the completion settings +
//! `num_ctx` = the context window + the caller's sampling fields (`max_tokens`
//! becomes `num_predict`). Grammars are not supported (dropped with a warning).
//! Reply: the text from `response`, generated tokens from `eval_count`, prompt tokens
//! from `prompt_eval_count`, the stop reason from `done_reason`. ollama reports some
//! failures as `{"error": "…"}`, also with HTTP 200; those are errors here. It has no
//! tokenize endpoint. Streaming: the same body with `stream: true`; the reply is
//! newline-delimited JSON, one `{"response": …}` per piece, the last with
//! `"done": true` and the counts (a mid-stream failure is an `{"error": …}` line).

mod wire;

use async_trait::async_trait;
use proxy_core::backend::fields::warn_grammar_unsupported;
use proxy_core::backend::http::{post_json, send_json, BackendCall};
use proxy_core::backend::streaming::ndjson_completion_stream;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
};

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/generate";
const SERVER: &str = "ollama API server";

/// The ollama backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaBackend;

#[async_trait]
impl CompletionBackend for OllamaBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        let model = request.require_model("ollama")?;
        warn_grammar_unsupported(request, "ollama");
        let body = wire::body(request, model, false);
        let reply = post_json::<wire::GenerateReply>(http, &generate_call(request), &body).await?;
        wire::completion(reply)
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let model = request.require_model("ollama")?;
        warn_grammar_unsupported(request, "ollama");
        let call = generate_call(request);
        let (response, uri) = send_json(http, &call, &wire::body(request, model, true)).await?;
        Ok(Some(ndjson_completion_stream(
            response,
            &call,
            uri,
            wire::stream_chunk,
        )))
    }
}

/// The `/api/generate` call for `request`.
fn generate_call<'a>(request: &BackendRequest<'a>) -> BackendCall<'a> {
    BackendCall::for_request(request, COMPLETION_PATH, SERVER)
}

proxy_core::register_backend! {
    name: "ollama",
    description: "ollama, /api/generate in raw mode (no grammars; model required)",
    default_endpoint: "http://localhost:11434",
    supports_grammar: false,
    supports_tokenize: false,
    build: || Box::new(OllamaBackend),
}
