//! ollama's `/api/generate` request body and reply.

use proxy_core::backend::completion::nonzero;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::WireFormat;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, JsonReply, StreamChunk,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The sampling fields under ollama's `options` names.
const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["num_predict"]);

/// `model` (the driver makes sure there is one), `prompt`, `stream` as asked,
/// `raw: true`, and `options` = settings + `num_ctx` + the overrides.
pub fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
    let mut options = request.settings.clone();
    options.insert("num_ctx".into(), json!(request.context_window));
    write_stop_sequences(&mut options, request, "stop");
    write_overrides(
        &mut options,
        &request.overrides,
        &FIELDS,
        crate::OllamaBackend::SPEC.name,
    );
    let mut body = json!({
        "model": request.model,
        "prompt": request.prompt,
        "stream": stream,
        "options": options,
        "raw": true,
    });
    if let Some(object) = body.as_object_mut() {
        if !request.images.is_empty() {
            object.insert("images".into(), json!(request.images));
        }
        // ollama turns a JSON-Schema `format` into a grammar of its own (raw mode too).
        request.write_constraint(object);
    }
    body
}

/// A non-streaming `/api/generate` reply, or one line of a streamed one (the last has
/// `"done": true` and the counts).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateReply {
    response: Option<String>,
    done: Option<bool>,
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

/// Reads one line of a streamed `/api/generate` reply.
pub fn stream_chunk(json: &Value) -> Result<StreamChunk, String> {
    let reply = GenerateReply::deserialize(json)
        .map_err(|error| format!("unexpected stream line shape: {error}"))?;
    let Some(text) = reply.response else {
        return Err("the stream line has no `response`".to_owned());
    };
    let last = reply.done == Some(true);
    Ok(StreamChunk {
        text,
        completion_tokens: reply.eval_count,
        prompt_tokens: reply.prompt_eval_count,
        finish_reason: last.then(|| BackendFinishReason::from_openai(reply.done_reason.as_deref())),
        last,
    })
}
