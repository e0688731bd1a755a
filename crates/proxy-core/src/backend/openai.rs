//! OpenAI-shaped replies and streams (`/v1/completions` and `/v1/chat/completions`),
//! shared by the OpenAI-compatible wire formats (webui, LM Studio, vLLM, Groq): pure
//! functions, no I/O. Unknown fields are ignored; missing ones default.

use serde::Deserialize;
use serde_json::Value;

use super::completion::{nonzero, BackendCompletion, BackendFinishReason};
use super::error::BackendError;
use super::http::JsonReply;
use super::streaming::StreamChunk;
use super::wire::{StreamFraming, StreamRoute};

/// `usage` of an OpenAI-style reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplyUsage {
    /// Prompt tokens (often 0 or wrong on local servers).
    pub prompt_tokens: Option<u64>,
    /// Generated tokens.
    pub completion_tokens: Option<u64>,
}

/// One choice of a text-completion reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TextChoice {
    /// The generated text.
    pub text: Option<String>,
    /// `"stop"`, `"length"`, …
    pub finish_reason: Option<String>,
}

/// A `/v1/completions` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TextCompletionReply {
    /// The choices; the first one is used.
    pub choices: Vec<TextChoice>,
    /// Token counts.
    pub usage: Option<ReplyUsage>,
}

/// The message of a chat choice.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplyMessage {
    /// The generated text (`null` when the model produced none).
    pub content: Option<String>,
}

/// One choice of a chat-completion reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChatChoice {
    /// The assistant message.
    pub message: Option<ReplyMessage>,
    /// `"stop"`, `"length"`, …
    pub finish_reason: Option<String>,
}

/// A `/v1/chat/completions` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChatCompletionReply {
    /// The choices; the first one is used.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: Option<ReplyUsage>,
}

/// Reads `choices[0].text`, `choices[0].finish_reason` and `usage` of a
/// text-completion reply.
pub fn text_completion(
    reply: JsonReply<TextCompletionReply>,
) -> Result<BackendCompletion, BackendError> {
    let Some(choice) = reply.value.choices.first().cloned() else {
        return Err(reply.invalid("the reply has no `choices`"));
    };
    let usage = reply.value.usage.clone().unwrap_or_default();
    let finish = BackendFinishReason::from_openai(choice.finish_reason.as_deref());
    reply.into_completion(
        choice.text.unwrap_or_default(),
        usage.completion_tokens,
        nonzero(usage.prompt_tokens),
        finish,
    )
}

/// Reads `choices[0].message.content`, `choices[0].finish_reason` and `usage` of a
/// chat-completion reply.
pub fn chat_completion(
    reply: JsonReply<ChatCompletionReply>,
) -> Result<BackendCompletion, BackendError> {
    let Some(choice) = reply.value.choices.first().cloned() else {
        return Err(reply.invalid("the reply has no `choices`"));
    };
    let Some(message) = choice.message else {
        return Err(reply.invalid("`choices[0]` has no `message`"));
    };
    let usage = reply.value.usage.clone().unwrap_or_default();
    let finish = BackendFinishReason::from_openai(choice.finish_reason.as_deref());
    reply.into_completion(
        message.content.unwrap_or_default(),
        usage.completion_tokens,
        nonzero(usage.prompt_tokens),
        finish,
    )
}

/// The stream route of an OpenAI-style `/v1/completions` endpoint at `path`
/// (server-sent events, [`text_stream_chunk`]).
pub const fn text_stream(path: &'static str) -> StreamRoute {
    StreamRoute {
        path,
        framing: StreamFraming::ServerSentEvents,
        decode: text_stream_chunk,
    }
}

/// The stream route of an OpenAI-style `/v1/chat/completions` endpoint at `path`
/// (server-sent events, [`chat_stream_chunk`]).
pub const fn chat_stream(path: &'static str) -> StreamRoute {
    StreamRoute {
        path,
        framing: StreamFraming::ServerSentEvents,
        decode: chat_stream_chunk,
    }
}

/// Whether an OpenAI-style stream is asked to report its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamUsage {
    /// `stream_options.include_usage: true` (the usage comes in a last chunk with no
    /// choices).
    Ask,
    /// Not asked (the usage is read where a chunk carries it; else counted).
    DoNotAsk,
}

/// Turns an OpenAI-style body into its streamed form when `stream` (OpenAI's SSE:
/// `data: {json}` chunks, `finish_reason` on the last choice chunk, then
/// `data: [DONE]`): `"stream": true`, and `stream_options.include_usage` when asked.
/// Otherwise the body is left as it is.
pub fn set_streaming(body: &mut serde_json::Map<String, Value>, stream: bool, usage: StreamUsage) {
    if !stream {
        return;
    }
    body.insert("stream".into(), Value::Bool(true));
    if usage == StreamUsage::Ask {
        body.insert(
            "stream_options".into(),
            serde_json::json!({ "include_usage": true }),
        );
    }
}

/// One choice of a streamed chat-completion chunk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChatDeltaChoice {
    delta: Option<ReplyMessage>,
    finish_reason: Option<String>,
}

/// Groq's metadata on stream chunks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct GroqExtra {
    usage: Option<ReplyUsage>,
}

/// A streamed chat-completion chunk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ChatChunk {
    choices: Vec<ChatDeltaChoice>,
    usage: Option<ReplyUsage>,
    x_groq: Option<GroqExtra>,
}

/// Reads one chunk of a streamed `/v1/chat/completions` reply.
pub fn chat_stream_chunk(json: &Value) -> Result<StreamChunk, String> {
    let chunk = ChatChunk::deserialize(json)
        .map_err(|error| format!("unexpected stream chunk shape: {error}"))?;
    let usage = chunk
        .usage
        .or_else(|| chunk.x_groq.and_then(|extra| extra.usage))
        .unwrap_or_default();
    let choice = chunk.choices.into_iter().next().unwrap_or_default();
    let text = choice.delta.and_then(|delta| delta.content);
    Ok(stream_chunk(text, choice.finish_reason, usage))
}

/// Reads one chunk of a streamed `/v1/completions` reply.
pub fn text_stream_chunk(json: &Value) -> Result<StreamChunk, String> {
    let reply = TextCompletionReply::deserialize(json)
        .map_err(|error| format!("unexpected stream chunk shape: {error}"))?;
    let usage = reply.usage.unwrap_or_default();
    let choice = reply.choices.into_iter().next().unwrap_or_default();
    Ok(stream_chunk(choice.text, choice.finish_reason, usage))
}

/// A stream chunk from a choice's text, its finish reason and the chunk's usage.
fn stream_chunk(text: Option<String>, finish: Option<String>, usage: ReplyUsage) -> StreamChunk {
    StreamChunk {
        text: text.unwrap_or_default(),
        completion_tokens: usage.completion_tokens,
        prompt_tokens: usage.prompt_tokens,
        finish_reason: finish
            .as_deref()
            .map(|reason| BackendFinishReason::from_openai(Some(reason))),
        last: false,
    }
}

/// `[{"role": "user", "content": prompt}]`: how a raw prompt is sent to a chat-only
/// endpoint (the server's chat template is then applied on top).
pub fn prompt_as_user_message(prompt: &str) -> Value {
    serde_json::json!([{ "role": "user", "content": prompt }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_stream_chunks() {
        let piece = text_stream_chunk(&json!({"id": "cmpl-1", "object": "text_completion",
            "choices": [{"index": 0, "text": "Hi", "logprobs": null, "finish_reason": null}]}));
        assert_eq!(
            piece,
            Ok(StreamChunk {
                text: "Hi".into(),
                ..StreamChunk::default()
            })
        );
        let finish = text_stream_chunk(
            &json!({"choices": [{"index": 0, "text": "", "finish_reason": "length"}]}),
        );
        assert_eq!(
            finish.map(|chunk| chunk.finish_reason),
            Ok(Some(BackendFinishReason::Length))
        );
        let usage = text_stream_chunk(&json!({"choices": [], "usage": {"prompt_tokens": 9,
            "completion_tokens": 4, "total_tokens": 13}}));
        assert_eq!(
            usage,
            Ok(StreamChunk {
                completion_tokens: Some(4),
                prompt_tokens: Some(9),
                ..StreamChunk::default()
            })
        );
        assert!(text_stream_chunk(&json!({"choices": "nope"})).is_err());
    }

    #[test]
    fn chat_stream_chunks() {
        let role = chat_stream_chunk(&json!({"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}));
        assert_eq!(role, Ok(StreamChunk::default()));
        let piece =
            chat_stream_chunk(&json!({"choices": [{"index": 0, "delta": {"content": "Hi"}}]}));
        assert_eq!(piece.map(|chunk| chunk.text), Ok("Hi".to_owned()));
        let last = chat_stream_chunk(
            &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 30, "completion_tokens": 5}}}),
        );
        assert_eq!(
            last,
            Ok(StreamChunk {
                completion_tokens: Some(5),
                prompt_tokens: Some(30),
                finish_reason: Some(BackendFinishReason::Stop),
                ..StreamChunk::default()
            })
        );
    }
}
