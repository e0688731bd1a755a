//! llama.cpp's `/completion` request body and reply.

use proxy_core::backend::completion::nonzero;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::WireFormat;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, JsonReply, StreamChunk,
    TokenCountRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The sampling fields under llama.cpp's names.
const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["n_predict"]);

/// Settings, `prompt` (with images: `{"prompt_string", "multimodal_data"}`), `stop`
/// (array), `grammar` when asked, then the overrides;
/// `"stream": true` when streaming; otherwise no `stream` field (the server's
/// default is not to stream, and a settings file cannot turn the call into a stream).
pub fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
    let mut body = request.settings.clone();
    if request.images.is_empty() {
        body.insert("prompt".into(), json!(request.prompt));
    } else {
        body.insert(
            "prompt".into(),
            json!({"prompt_string": request.prompt, "multimodal_data": request.images}),
        );
    }
    request.write_constraint(&mut body);
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(
        &mut body,
        &request.overrides,
        &FIELDS,
        crate::LlamaCppBackend::SPEC.name,
    );
    if stream {
        body.insert("stream".into(), json!(true));
    } else {
        body.remove("stream");
    }
    Value::Object(body)
}

/// A `/completion` reply, or one chunk of a streamed one (the last chunk has
/// `"stop": true` and the counts; since Dec 2024 its `content` is empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompletionReply {
    content: Option<String>,
    stop: Option<bool>,
    tokens_predicted: Option<u64>,
    tokens_evaluated: Option<u64>,
    stop_type: Option<String>,
    stopped_eos: Option<bool>,
    stopped_word: Option<bool>,
    stopped_limit: Option<bool>,
}

impl CompletionReply {
    fn finish_reason(&self) -> BackendFinishReason {
        match self.stop_type.as_deref() {
            Some("eos") | Some("word") => return BackendFinishReason::Stop,
            Some("limit") => return BackendFinishReason::Length,
            Some(_) => return BackendFinishReason::Unknown,
            None => {}
        }
        if self.stopped_eos == Some(true) || self.stopped_word == Some(true) {
            BackendFinishReason::Stop
        } else if self.stopped_limit == Some(true) {
            BackendFinishReason::Length
        } else {
            BackendFinishReason::Unknown
        }
    }
}

/// Reads the text, token counts and stop reason.
pub fn completion(reply: JsonReply<CompletionReply>) -> Result<BackendCompletion, BackendError> {
    let Some(text) = reply.value.content.clone() else {
        return Err(reply.invalid("the reply has no `content`"));
    };
    let finish = reply.value.finish_reason();
    let completion_tokens = reply.value.tokens_predicted;
    let prompt_tokens = nonzero(reply.value.tokens_evaluated);
    reply.into_completion(text, completion_tokens, prompt_tokens, finish)
}

/// Reads one chunk of a streamed `/completion` reply.
pub fn stream_chunk(json: &Value) -> Result<StreamChunk, String> {
    let reply = CompletionReply::deserialize(json)
        .map_err(|error| format!("unexpected stream chunk shape: {error}"))?;
    let Some(text) = reply.content.clone() else {
        return Err("the stream chunk has no `content`".to_owned());
    };
    let last = reply.stop == Some(true);
    Ok(StreamChunk {
        text,
        completion_tokens: reply.tokens_predicted,
        prompt_tokens: reply.tokens_evaluated,
        finish_reason: last.then(|| reply.finish_reason()),
        last,
    })
}

/// The `/tokenize` body: `{"content": text}`.
pub fn tokenize_body(request: &TokenCountRequest<'_>) -> Value {
    json!({ "content": request.text })
}

/// The count in a `/tokenize` reply: its `tokens` (ids, or `{id, piece}` objects with
/// `with_pieces`).
pub fn token_count(reply: &Value) -> Result<u64, &'static str> {
    reply
        .get("tokens")
        .and_then(Value::as_array)
        .map(|tokens| tokens.len() as u64)
        .ok_or("`tokens` list")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(reply: Value) -> BackendFinishReason {
        serde_json::from_value::<CompletionReply>(reply)
            .unwrap_or_default()
            .finish_reason()
    }

    #[test]
    fn stream_chunks() {
        let piece = stream_chunk(&json!({"content": "Hi", "stop": false, "index": 0}));
        assert_eq!(
            piece,
            Ok(StreamChunk {
                text: "Hi".into(),
                ..StreamChunk::default()
            })
        );
        let last = stream_chunk(&json!({"content": "", "stop": true, "stop_type": "limit",
            "tokens_predicted": 5, "tokens_evaluated": 12}));
        assert_eq!(
            last,
            Ok(StreamChunk {
                text: String::new(),
                completion_tokens: Some(5),
                prompt_tokens: Some(12),
                finish_reason: Some(BackendFinishReason::Length),
                last: true,
            })
        );
        assert!(stream_chunk(&json!({"stop": true})).is_err());
        assert!(stream_chunk(&json!({"content": 3})).is_err());
    }

    #[test]
    fn stop_reason_new_and_old_forms() {
        assert_eq!(
            reason(json!({"stop_type": "eos"})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stop_type": "word"})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stop_type": "limit"})),
            BackendFinishReason::Length
        );
        assert_eq!(
            reason(json!({"stop_type": "none"})),
            BackendFinishReason::Unknown
        );
        assert_eq!(
            reason(json!({"stopped_eos": false, "stopped_word": true, "stopped_limit": false})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stopped_eos": false, "stopped_word": false, "stopped_limit": true})),
            BackendFinishReason::Length
        );
        assert_eq!(reason(json!({})), BackendFinishReason::Unknown);
    }
}
