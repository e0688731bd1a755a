//! `stream: true`: a [`ChatCompletionStream`] sent as OpenAI `chat.completion.chunk`
//! server-sent events.
//!
//! The events, in order: a role delta, sent as soon as the backend has accepted the
//! request; a content delta for each piece of content (from backends that stream, as
//! the model writes the inner thoughts; from backends that cannot stream, the whole
//! content at once); a `tool_calls` delta `[{index: 0, id, type: "function",
//! function: {name, arguments}}]` (with a `function_call` delta too for legacy
//! `functions` callers);
//! an empty delta with the `finish_reason`; with `stream_options.include_usage`, a
//! chunk with no choices and the `usage` (the other chunks then carry `usage: null`,
//! as OpenAI's do); then `data: [DONE]`. Keep-alive comments go out while the model
//! is quiet.
//!
//! An error before the backend starts generating is a JSON error envelope with its
//! status (no stream). An error after the stream has begun is sent as
//! `data: {"error": {…}}` (the envelope, which OpenAI's SDKs raise as an API error),
//! and the stream ends without `[DONE]`.

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use proxy_core::{
    ChatCompletionEvent, ChatCompletionResponse, ChatCompletionStream, ResponseHeader,
};
use serde_json::{json, Map, Value};
use tracing::Span;

use crate::errors::ApiError;
use crate::telemetry::record_tokens_on;

/// Builds the chunks of one streamed completion.
#[derive(Debug, Clone)]
pub struct ChunkWriter {
    header: ResponseHeader,
    include_usage: bool,
}

impl ChunkWriter {
    /// Chunks carrying `header`'s id, time and model; `include_usage` as the
    /// request's `stream_options.include_usage`.
    pub fn new(header: ResponseHeader, include_usage: bool) -> Self {
        ChunkWriter {
            header,
            include_usage,
        }
    }

    fn chunk(&self, choices: Value) -> Map<String, Value> {
        let mut chunk = Map::new();
        chunk.insert("id".into(), json!(self.header.id));
        chunk.insert("object".into(), json!("chat.completion.chunk"));
        chunk.insert("created".into(), json!(self.header.created));
        chunk.insert("model".into(), json!(self.header.model));
        chunk.insert("choices".into(), choices);
        if self.include_usage {
            chunk.insert("usage".into(), Value::Null);
        }
        chunk
    }

    fn choice_chunk(&self, delta: Value, finish_reason: Value) -> Value {
        Value::Object(self.chunk(json!([{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }])))
    }

    /// The first chunk: `{"role": "assistant"}`.
    pub fn role(&self) -> Value {
        self.choice_chunk(json!({"role": "assistant"}), Value::Null)
    }

    /// A content delta.
    pub fn content(&self, text: &str) -> Value {
        self.choice_chunk(json!({"content": text}), Value::Null)
    }

    /// The chunks after the content: the call delta (if any), the finish reason and
    /// the usage (when asked).
    pub fn finished(&self, response: &ChatCompletionResponse) -> Vec<Value> {
        let mut chunks = Vec::new();
        if let Some(choice) = response.choices.first() {
            let message = &choice.message;
            let mut call_delta = Map::new();
            if let Some(calls) = &message.tool_calls {
                let calls: Vec<Value> = calls
                    .iter()
                    .enumerate()
                    .map(|(index, call)| {
                        json!({
                            "index": index,
                            "id": call.id,
                            "type": call.kind,
                            "function": {"name": call.function.name, "arguments": call.function.arguments},
                        })
                    })
                    .collect();
                call_delta.insert("tool_calls".into(), Value::Array(calls));
            }
            if let Some(call) = &message.function_call {
                call_delta.insert(
                    "function_call".into(),
                    json!({"name": call.name, "arguments": call.arguments}),
                );
            }
            if !call_delta.is_empty() {
                chunks.push(self.choice_chunk(Value::Object(call_delta), Value::Null));
            }
            chunks.push(self.choice_chunk(json!({}), json!(choice.finish_reason)));
        }
        if self.include_usage {
            let mut last = self.chunk(json!([]));
            last.insert("usage".into(), json!(response.usage));
            chunks.push(Value::Object(last));
        }
        chunks
    }
}

/// The SSE response for `completion`; token counts are recorded on `span` (the
/// request's) when the completion finishes.
pub fn sse_response(completion: ChatCompletionStream, include_usage: bool, span: Span) -> Response {
    let writer = ChunkWriter::new(completion.header().clone(), include_usage);
    let first = data(&writer.role());
    let events = completion.flat_map(move |event| {
        let events: Vec<Result<Event, Infallible>> = match event {
            Ok(ChatCompletionEvent::Content(text)) => vec![data(&writer.content(&text))],
            Ok(ChatCompletionEvent::Finished { response, .. }) => {
                record_tokens_on(
                    &span,
                    response.usage.prompt_tokens,
                    response.usage.completion_tokens,
                );
                writer
                    .finished(&response)
                    .iter()
                    .map(data)
                    .chain(std::iter::once(Ok(Event::default().data("[DONE]"))))
                    .collect()
            }
            Err(error) => {
                let error = ApiError::from_proxy(&error);
                span.in_scope(|| {
                    tracing::warn!(
                        kind = error.kind.as_str(),
                        "the stream ended with an error: {}",
                        error.message
                    )
                });
                vec![data(&error.envelope())]
            }
        };
        stream::iter(events)
    });
    Sse::new(stream::once(async move { first }).chain(events))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn data(value: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().data(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_core::{AssistantMessage, Choice, FinishReason, ParsedFunctionCall, Usage};

    fn header() -> ResponseHeader {
        ResponseHeader {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "local".into(),
        }
    }

    fn response(call: bool, legacy: bool) -> ChatCompletionResponse {
        let message = AssistantMessage {
            content: Some("thinking".into()),
            function_call: call.then(|| ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({"message": "hi"}),
            }),
        };
        ChatCompletionResponse {
            id: "chatcmpl-1".into(),
            object: "chat.completion".into(),
            created: 7,
            model: "local".into(),
            choices: vec![Choice {
                index: 0,
                message: message.to_response_message(legacy),
                finish_reason: if call {
                    FinishReason::ToolCalls
                } else {
                    FinishReason::Stop
                },
            }],
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 4,
                total_tokens: 7,
            },
        }
    }

    #[test]
    fn tool_call_chunks_without_usage() {
        let writer = ChunkWriter::new(header(), false);
        let mut chunks = vec![writer.role(), writer.content("thinking")];
        chunks.extend(writer.finished(&response(true, false)));
        assert_eq!(chunks.len(), 4);
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], "chatcmpl-1");
            assert_eq!(chunk["created"], 7);
            assert!(chunk.get("usage").is_none());
        }
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant"})
        );
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "thinking");
        let call = &chunks[2]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["index"], 0);
        assert_eq!(call["type"], "function");
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(call["function"]["name"], "send_message");
        assert!(chunks[2]["choices"][0]["delta"]
            .get("function_call")
            .is_none());
        assert_eq!(chunks[3]["choices"][0]["delta"], json!({}));
        assert_eq!(chunks[3]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn text_chunks_with_usage_and_legacy_call() {
        let writer = ChunkWriter::new(header(), true);
        assert!(writer.role()["usage"].is_null());
        let chunks = writer.finished(&response(false, false));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[1]["choices"], json!([]));
        assert_eq!(chunks[1]["usage"]["total_tokens"], 7);

        let legacy = ChunkWriter::new(header(), false).finished(&response(true, true));
        assert_eq!(legacy.len(), 2);
        let delta = &legacy[0]["choices"][0]["delta"];
        assert_eq!(delta["function_call"]["name"], "send_message");
        assert_eq!(delta["tool_calls"][0]["function"]["name"], "send_message");
    }
}
