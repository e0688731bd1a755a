//! ollama's `/api/generate` request body and reply.

use proxy_core::backend::completion::nonzero;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, JsonReply,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The sampling fields under ollama's `options` names.
const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["num_predict"]);

/// `model`, `prompt`, `stream: false`, `raw: true`, and `options` = settings +
/// `num_ctx` + the overrides.
pub fn body(request: &BackendRequest<'_>, model: &str) -> Value {
    let mut options = request.settings.clone();
    options.insert("num_ctx".into(), json!(request.context_window));
    write_stop_sequences(&mut options, request, "stop");
    write_overrides(&mut options, &request.overrides, &FIELDS, "ollama");
    json!({
        "model": model,
        "prompt": request.prompt,
        "stream": false,
        "options": options,
        "raw": true,
    })
}

/// A non-streaming `/api/generate` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateReply {
    response: Option<String>,
    eval_count: Option<u64>,
    prompt_eval_count: Option<u64>,
    done_reason: Option<String>,
}

/// Reads `response`, the counts and `done_reason`.
pub fn completion(reply: JsonReply<GenerateReply>) -> Result<BackendCompletion, BackendError> {
    let Some(text) = reply.value.response.clone() else {
        return Err(reply.invalid("the reply has no `response`"));
    };
    let finish = BackendFinishReason::from_openai(reply.value.done_reason.as_deref());
    let completion_tokens = reply.value.eval_count;
    let prompt_tokens = nonzero(reply.value.prompt_eval_count);
    reply.into_completion(text, completion_tokens, prompt_tokens, finish)
}
