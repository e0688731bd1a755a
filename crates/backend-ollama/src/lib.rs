//! The `ollama` endpoint type: ollama's native `POST /api/generate` in raw mode.
//!
//! Body: `model` (required: a clear error if missing), `prompt`, `stream: false`,
//! `raw: true` (no server-side template), and `options` = the completion settings +
//! `num_ctx` = the context window + the caller's sampling fields (`max_tokens`
//! becomes `num_predict`). Grammars are not supported (dropped with a warning).
//! Reply: the text from `response`, generated tokens from `eval_count`, prompt tokens
//! from `prompt_eval_count`, the stop reason from `done_reason`. ollama reports some
//! failures as `{"error": "…"}`, also with HTTP 200; those are errors here. It has no
//! tokenize endpoint.

mod wire;

use async_trait::async_trait;
use proxy_core::backend::fields::warn_grammar_unsupported;
use proxy_core::backend::http::{post_json, BackendCall};
use proxy_core::backend::{BackendCompletion, BackendError, BackendRequest, CompletionBackend};

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
        let call = BackendCall {
            endpoint: request.endpoint,
            path: COMPLETION_PATH,
            auth: request.auth,
            server: SERVER,
        };
        let body = wire::body(request, model);
        let reply = post_json::<wire::GenerateReply>(http, &call, &body).await?;
        wire::completion(reply)
    }
}

proxy_core::register_backend! {
    name: "ollama",
    description: "ollama, /api/generate in raw mode (no grammars; model required)",
    default_endpoint: "http://localhost:11434",
    supports_grammar: false,
    supports_tokenize: false,
    build: || Box::new(OllamaBackend),
}
