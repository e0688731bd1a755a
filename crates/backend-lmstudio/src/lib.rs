//! LM Studio's local server, two endpoint types:
//!
//! * `lmstudio`: `POST /v1/completions` with the rendered `prompt` (no template).
//! * `lmstudio-legacy`: `POST /v1/chat/completions` with the prompt as one user
//!   message (LM Studio then applies the model's chat template on top).
//!
//! Both send the completion settings, `input_prefix: ""`, `input_suffix: ""`,
//! `lmstudio: {context_overflow_policy: 0}` (stop at the limit: the proxy handles
//! overflow itself), `stream: false`, `model: "local model"` (LM Studio serves the
//! loaded model whatever the name) and `max_tokens` = the context window, then the
//! caller's sampling fields. Replies are OpenAI-shaped. LM Studio answers unknown
//! paths with HTTP 200 and `{"error": "…"}`: that is an error here, and an error whose
//! body mentions "context length" is the context-window error. No grammar support, no
//! tokenize endpoint. Both stream (`"stream": true`, OpenAI's server-sent events; usage
//! in the stream is not asked for, as LM Studio's support for `stream_options` is
//! unverified, so tokens are counted here).

mod wire;

use async_trait::async_trait;
use proxy_core::backend::fields::warn_grammar_unsupported;
use proxy_core::backend::http::BackendCall;
use proxy_core::backend::openai::{complete_chat, complete_text, stream_chat, stream_text};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
};

/// The `lmstudio` completion path.
pub const COMPLETIONS_PATH: &str = "/v1/completions";
/// The `lmstudio-legacy` completion path.
pub const CHAT_PATH: &str = "/v1/chat/completions";
const SERVER: &str = "LM Studio local inference server";

/// The `lmstudio` backend (`/v1/completions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LmStudioBackend;

/// The `lmstudio-legacy` backend (`/v1/chat/completions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LmStudioLegacyBackend;

fn call<'a>(request: &BackendRequest<'a>, path: &'a str) -> BackendCall<'a> {
    BackendCall::for_request(request, path, SERVER)
}

#[async_trait]
impl CompletionBackend for LmStudioBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        warn_grammar_unsupported(request, "lmstudio");
        let body = wire::body(request, wire::PromptForm::Prompt);
        complete_text(http, &call(request, COMPLETIONS_PATH), &body).await
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        warn_grammar_unsupported(request, "lmstudio");
        let body = wire::body(request, wire::PromptForm::Prompt);
        let stream = stream_text(http, &call(request, COMPLETIONS_PATH), body, false).await?;
        Ok(Some(stream))
    }
}

#[async_trait]
impl CompletionBackend for LmStudioLegacyBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        warn_grammar_unsupported(request, "lmstudio-legacy");
        let body = wire::body(request, wire::PromptForm::UserMessage);
        complete_chat(http, &call(request, CHAT_PATH), &body).await
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        warn_grammar_unsupported(request, "lmstudio-legacy");
        let body = wire::body(request, wire::PromptForm::UserMessage);
        let stream = stream_chat(http, &call(request, CHAT_PATH), body).await?;
        Ok(Some(stream))
    }
}

proxy_core::register_backend! {
    name: "lmstudio",
    description: "LM Studio, OpenAI-compatible /v1/completions (raw prompt)",
    default_endpoint: "http://localhost:1234",
    supports_grammar: false,
    supports_tokenize: false,
    build: || Box::new(LmStudioBackend);

    name: "lmstudio-legacy",
    description: "LM Studio, /v1/chat/completions with the prompt as one user message",
    default_endpoint: "http://localhost:1234",
    supports_grammar: false,
    supports_tokenize: false,
    build: || Box::new(LmStudioLegacyBackend);
}
