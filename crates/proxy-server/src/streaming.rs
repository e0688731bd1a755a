//! `stream: true`: the finished completion sent as OpenAI `chat.completion.chunk`
//! server-sent events.
//!
//! The events, in order: a role delta; a content delta (when there is content); a
//! `tool_calls` delta `[{index: 0, id, type: "function", function: {name,
//! arguments}}]` (with a `function_call` delta too for legacy `functions` callers);
//! an empty delta with the `finish_reason`; with `stream_options.include_usage`, a
//! chunk with no choices and the `usage` (the other chunks then carry `usage: null`,
//! as OpenAI's do); then `data: [DONE]`.
//!
//! Every backend's completion is finished before the first event is sent, so an error
//! is still a JSON error envelope with its status. Token-by-token streaming from the
//! backends is not done yet.

use std::convert::Infallible;

use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use proxy_core::ChatCompletionResponse;
use serde_json::{json, Map, Value};

/// The chunks (as JSON values) for `response`; see the module docs for their order.
pub fn completion_chunks(response: &ChatCompletionResponse, include_usage: bool) -> Vec<Value> {
    let chunk = |choices: Value| {
        let mut chunk = Map::new();
        chunk.insert("id".into(), json!(response.id));
        chunk.insert("object".into(), json!("chat.completion.chunk"));
        chunk.insert("created".into(), json!(response.created));
        chunk.insert("model".into(), json!(response.model));
        chunk.insert("choices".into(), choices);
        if include_usage {
            chunk.insert("usage".into(), Value::Null);
        }
        chunk
    };
    let choice_chunk = |delta: Value, finish_reason: Value| {
        Value::Object(chunk(json!([{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }])))
    };

    let mut chunks = vec![choice_chunk(json!({"role": "assistant"}), Value::Null)];
    let Some(choice) = response.choices.first() else {
        return finish(chunks, chunk, response, include_usage);
    };
    let message = &choice.message;
    if let Some(content) = message.content.as_deref().filter(|text| !text.is_empty()) {
        chunks.push(choice_chunk(json!({"content": content}), Value::Null));
    }
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
        chunks.push(choice_chunk(Value::Object(call_delta), Value::Null));
    }
    chunks.push(choice_chunk(json!({}), json!(choice.finish_reason)));
    finish(chunks, chunk, response, include_usage)
}

/// Appends the usage chunk when asked.
fn finish(
    mut chunks: Vec<Value>,
    chunk: impl Fn(Value) -> Map<String, Value>,
    response: &ChatCompletionResponse,
    include_usage: bool,
) -> Vec<Value> {
    if include_usage {
        let mut last = chunk(json!([]));
        last.insert("usage".into(), json!(response.usage));
        chunks.push(Value::Object(last));
    }
    chunks
}

/// The SSE response for a finished completion: its chunks, then `data: [DONE]`.
pub fn sse_response(response: &ChatCompletionResponse, include_usage: bool) -> Response {
    let events: Vec<Result<Event, Infallible>> = completion_chunks(response, include_usage)
        .into_iter()
        .map(|chunk| Ok(Event::default().data(chunk.to_string())))
        .chain(std::iter::once(Ok(Event::default().data("[DONE]"))))
        .collect();
    Sse::new(futures::stream::iter(events)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_core::{AssistantMessage, Choice, FinishReason, ParsedFunctionCall, Usage};

    fn response(call: bool, legacy: bool, content: Option<&str>) -> ChatCompletionResponse {
        let message = AssistantMessage {
            content: content.map(str::to_owned),
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
    fn tool_call_stream_without_usage() {
        let chunks = completion_chunks(&response(true, false, Some("thinking")), false);
        assert_eq!(chunks.len(), 4);
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], "chatcmpl-1");
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
    fn text_stream_with_usage_and_legacy_call() {
        let chunks = completion_chunks(&response(false, false, Some("hello")), true);
        assert_eq!(chunks.len(), 4);
        assert!(chunks[0]["usage"].is_null());
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[3]["choices"], json!([]));
        assert_eq!(chunks[3]["usage"]["total_tokens"], 7);

        let legacy = completion_chunks(&response(true, true, None), false);
        assert_eq!(legacy.len(), 3, "no content delta without content");
        let delta = &legacy[1]["choices"][0]["delta"];
        assert_eq!(delta["function_call"]["name"], "send_message");
        assert_eq!(delta["tool_calls"][0]["function"]["name"], "send_message");
    }
}
