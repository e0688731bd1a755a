//! `webui-legacy`: text-generation-webui's pre-November-2023 `/api/v1/generate`.

use async_trait::async_trait;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::http::{post_json, BackendCall, JsonReply};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, CompletionBackend,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/v1/generate";

/// Generated tokens asked for unless the caller says otherwise (the reference's value).
pub const DEFAULT_MAX_NEW_TOKENS: u64 = 3072;

const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["max_new_tokens"]);

/// The `webui-legacy` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebUiLegacyBackend;

/// Settings, `stop` and `stopping_strings` (the same list), `max_new_tokens`,
/// `prompt`, `truncation_length`, `grammar_string` when asked, then the overrides.
pub fn body(request: &BackendRequest<'_>) -> Value {
    let mut body = request.settings.clone();
    write_stop_sequences(&mut body, request, "stop");
    if let Some(stops) = body.get("stop").cloned() {
        body.insert("stopping_strings".into(), stops);
    }
    body.insert("max_new_tokens".into(), json!(DEFAULT_MAX_NEW_TOKENS));
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("truncation_length".into(), json!(request.context_window));
    if let Some(grammar) = request.grammar {
        body.insert("grammar_string".into(), json!(grammar));
    }
    write_overrides(&mut body, &request.overrides, &FIELDS, "webui-legacy");
    Value::Object(body)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct GenerateResult {
    text: Option<String>,
}

/// A legacy `/api/v1/generate` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct GenerateReply {
    results: Vec<GenerateResult>,
}

fn completion(reply: JsonReply<GenerateReply>) -> Result<BackendCompletion, BackendError> {
    let text = reply.value.results.first().and_then(|r| r.text.clone());
    let Some(text) = text else {
        return Err(reply.invalid("the reply has no `results[0].text`"));
    };
    reply.into_completion(text, None, None, BackendFinishReason::Unknown)
}

#[async_trait]
impl CompletionBackend for WebUiLegacyBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        let call = BackendCall::for_request(request, COMPLETION_PATH, super::SERVER);
        let reply = post_json::<GenerateReply>(http, &call, &body(request)).await?;
        completion(reply)
    }
}
