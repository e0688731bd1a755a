//! koboldcpp's `/api/v1/generate` request body and reply.

use proxy_core::backend::completion::nonzero;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::WireFormat;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, JsonReply, StreamChunk,
    TokenCountRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Generated tokens asked for unless the caller says otherwise (at most the room
/// after the prompt).
pub const DEFAULT_MAX_LENGTH: u64 = 400;

/// The sampling fields under koboldcpp's names (it has no frequency penalty).
const FIELDS: SamplingFieldNames = SamplingFieldNames {
    seed: Some("sampler_seed"),
    frequency_penalty: None,
    ..SamplingFieldNames::OPENAI.with_max_tokens(&["max_length"])
};

/// Settings (`stop` → `stop_sequence`), `prompt`, `max_context_length`,
/// `max_length` (the default, clamped), `grammar` when asked, then the overrides.
pub fn body(request: &BackendRequest<'_>) -> Value {
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("max_context_length".into(), json!(request.context_window));
    if !request.images.is_empty() {
        body.insert("images".into(), json!(request.images));
    }
    if let Some(max_length) =
        request.default_max_tokens(crate::KoboldCppBackend::SPEC.default_max_tokens)
    {
        body.insert("max_length".into(), json!(max_length));
    }
    request.write_constraint(&mut body);
    write_stop_sequences(&mut body, request, "stop_sequence");
    write_overrides(
        &mut body,
        &request.overrides,
        &FIELDS,
        crate::KoboldCppBackend::SPEC.name,
    );
    Value::Object(body)
}

/// The `max_length` a body asks for.
pub fn max_length(body: &Value) -> Option<u64> {
    body.get("max_length").and_then(Value::as_u64)
}

/// One result of a generate reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateResult {
    text: Option<String>,
    finish_reason: Option<String>,
    completion_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
}

/// A `/api/v1/generate` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateReply {
    results: Vec<GenerateResult>,
}

/// `"stop"` is end-of-sequence; `"length"` is a stop string or the limit, told apart
/// only when the generated token count is known.
fn finish_reason(result: &GenerateResult, max_length: Option<u64>) -> BackendFinishReason {
    match result.finish_reason.as_deref() {
        Some("stop") => BackendFinishReason::Stop,
        Some("length") => match (result.completion_tokens, max_length) {
            (Some(generated), Some(limit)) if generated >= limit => BackendFinishReason::Length,
            (Some(_), Some(_)) => BackendFinishReason::Stop,
            _ => BackendFinishReason::Unknown,
        },
        _ => BackendFinishReason::Unknown,
    }
}

/// Reads `results[0]`.
pub fn completion(
    reply: JsonReply<GenerateReply>,
    max_length: Option<u64>,
) -> Result<BackendCompletion, BackendError> {
    let Some(result) = reply.value.results.first().cloned() else {
        return Err(reply.invalid("the reply has no `results`"));
    };
    let Some(text) = result.text.clone() else {
        return Err(reply.invalid("`results[0]` has no `text`"));
    };
    let finish = finish_reason(&result, max_length);
    reply.into_completion(
        text,
        result.completion_tokens,
        nonzero(result.prompt_tokens),
        finish,
    )
}

/// One event of `/api/extra/generate/stream`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct StreamEvent {
    token: Option<String>,
    finish_reason: Option<String>,
}

/// Reads one event of a streamed generation: the `token`, and the `finish_reason`
/// once it is set (`"null"`, the string, while generating in v1.76). Without a token
/// count, `"length"` is reported as unknown (see the crate docs).
pub fn stream_chunk(json: &Value) -> Result<StreamChunk, String> {
    let event = StreamEvent::deserialize(json)
        .map_err(|error| format!("unexpected stream event shape: {error}"))?;
    let finish_reason = match event.finish_reason.as_deref() {
        None | Some("null") | Some("") => None,
        Some("stop") => Some(BackendFinishReason::Stop),
        Some(_) => Some(BackendFinishReason::Unknown),
    };
    Ok(StreamChunk {
        text: event.token.unwrap_or_default(),
        finish_reason,
        ..StreamChunk::default()
    })
}

/// The `/api/extra/tokencount` body: `{"prompt": text}`.
pub fn tokenize_body(request: &TokenCountRequest<'_>) -> Value {
    json!({ "prompt": request.text })
}

/// The count in a `/api/extra/tokencount` reply: its `value`.
pub fn token_count(reply: &Value) -> Result<u64, &'static str> {
    reply.get("value").and_then(Value::as_u64).ok_or("`value`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Value) -> BackendFinishReason {
        let result: GenerateResult = serde_json::from_value(result).unwrap_or_default();
        finish_reason(&result, Some(400))
    }

    #[test]
    fn length_is_only_the_limit_when_the_count_proves_it() {
        assert_eq!(
            reason(json!({"finish_reason": "stop"})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"finish_reason": "length"})),
            BackendFinishReason::Unknown
        );
        assert_eq!(
            reason(json!({"finish_reason": "length", "completion_tokens": 12})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"finish_reason": "length", "completion_tokens": 400})),
            BackendFinishReason::Length
        );
        assert_eq!(reason(json!({})), BackendFinishReason::Unknown);
    }
}
