//! `webui`: text-generation-webui's OpenAI-compatible `/v1/completions`; streams with
//! `"stream": true` and `stream_options.include_usage` (OpenAI's server-sent events).

use async_trait::async_trait;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::http::BackendCall;
use proxy_core::backend::openai::{complete_text, stream_text};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
};
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/v1/completions";

/// The caller's `max_tokens` is written to both of webui's length fields.
const FIELDS: SamplingFieldNames =
    SamplingFieldNames::OPENAI.with_max_tokens(&["max_tokens", "max_new_tokens"]);

/// The `webui` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebUiBackend;

/// Settings, `prompt`, `truncation_length`, `max_tokens`/`max_new_tokens` (what is
/// left of the context window), `grammar_string` when asked, then the overrides.
pub fn body(request: &BackendRequest<'_>) -> Value {
    let room = request.context_window.saturating_sub(request.prompt_tokens);
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("truncation_length".into(), json!(request.context_window));
    body.insert("max_tokens".into(), json!(room));
    body.insert("max_new_tokens".into(), json!(room));
    if let Some(grammar) = request.grammar {
        body.insert("grammar_string".into(), json!(grammar));
    }
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(&mut body, &request.overrides, &FIELDS, "webui");
    Value::Object(body)
}

/// The `/v1/completions` call for `request`.
fn completion_call<'a>(request: &BackendRequest<'a>) -> BackendCall<'a> {
    BackendCall::for_request(request, COMPLETION_PATH, super::SERVER)
}

#[async_trait]
impl CompletionBackend for WebUiBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        complete_text(http, &completion_call(request), &body(request)).await
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let stream = stream_text(http, &completion_call(request), body(request), true).await?;
        Ok(Some(stream))
    }
}
