//! `stream: true`: a [`ChatCompletionStream`] sent as OpenAI `chat.completion.chunk`
//! server-sent events.
//!
//! The events, in order: a role delta `{"role": "assistant", "content": ""}`, sent as
//! soon as the backend has accepted the request; a `reasoning_content` delta for each
//! piece of reasoning the model wrote apart from its answer (a `<think>` block), as
//! DeepSeek, vLLM and llama.cpp send it, before the content; a content delta for each
//! piece of content (from backends that stream, as the model writes the inner thoughts; from
//! backends that cannot stream, the whole content at once); a `tool_calls` delta
//! `[{index: 0, id, type: "function", function: {name, arguments}}]` (a
//! `function_call` delta instead, for legacy `functions` callers);
//! an empty delta with the `finish_reason`; with `stream_options.include_usage`, a
//! chunk with no choices and the `usage` (the other chunks then carry `usage: null`,
//! as OpenAI's do); then `data: [DONE]`. Every chunk carries `system_fingerprint`,
//! and every choice `logprobs: null`, as OpenAI's do.
//!
//! Keep-alive: an SSE comment (`: keep-alive`) goes out whenever nothing else has
//! for [`KEEP_ALIVE_INTERVAL`] — while the backend reads a long prompt, while the
//! model writes a call's arguments (no content to forward), and while a backend
//! that cannot stream generates. Clients' read timeouts (MemGPT's is 5 s) count
//! silence, not the wait for the answer.
//!
//! An error before the backend starts generating is a JSON error envelope with its
//! status (no stream), provided it comes within [`ACCEPT_GRACE`]: a backend slower
//! than that to accept the request gets the stream's headers sent and keep-alive
//! comments while it thinks, so a later refusal goes out as an error event. An error
//! after the stream has begun is sent as `data: {"error": {…}}` (the envelope, which
//! OpenAI's SDKs raise as an API error), and the stream ends without `[DONE]`.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use proxy_core::orchestrator::SYSTEM_FINGERPRINT;
use proxy_core::{
    ChatCompletionEvent, ChatCompletionResponse, ChatCompletionStream, ProxyError, ResponseHeader,
};
use serde_json::{json, Map, Value};
use tracing::{Instrument, Span};

use crate::errors::ApiError;
use crate::metrics::ChatMetrics;
use crate::telemetry::record_tokens_on;

/// The longest a stream stays silent: a keep-alive comment goes out when nothing
/// else has for this long (well under a second, so that a client that times out
/// after a second of silence never does).
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_millis(500);

/// How long the answer to a streamed request waits for the backend to accept the
/// request before sending the stream's headers (and keep-alive comments): an error
/// within this time is a JSON error envelope with its HTTP status.
pub const ACCEPT_GRACE: Duration = Duration::from_millis(400);

/// The text of the keep-alive comment line (`: keep-alive`).
const KEEP_ALIVE_TEXT: &str = "keep-alive";

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
        chunk.insert("system_fingerprint".into(), json!(SYSTEM_FINGERPRINT));
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

    /// The first chunk: `{"role": "assistant", "content": ""}`, as OpenAI's.
    pub fn role(&self) -> Value {
        self.choice_chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    }

    /// A reasoning delta (`{"reasoning_content": …}`).
    pub fn reasoning(&self, text: &str) -> Value {
        self.choice_chunk(json!({"reasoning_content": text}), Value::Null)
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

/// The answer to a streamed request, whose stream `start` opens (the pipeline up to
/// the backend's acceptance: [`ProxyClient::stream_chat_completion`] on owned
/// values). An error from `start` within [`ACCEPT_GRACE`] is returned as it is (a
/// JSON error envelope with its status); after that, the SSE response is sent with
/// keep-alive comments until the stream opens, and an error becomes an error event.
/// The first output chunk, the finished completion and an error event are recorded
/// in `metrics`.
///
/// [`ProxyClient::stream_chat_completion`]: proxy_core::ProxyClient::stream_chat_completion
pub async fn stream_response<F>(
    start: F,
    include_usage: bool,
    span: Span,
    metrics: ChatMetrics,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<ChatCompletionStream, ProxyError>> + Send + 'static,
{
    let mut start = Box::pin(start.instrument(span.clone()));
    match tokio::time::timeout(ACCEPT_GRACE, &mut start).await {
        Ok(Ok(completion)) => Ok(sse_response(completion, include_usage, span, metrics)),
        Ok(Err(error)) => Err(ApiError::from_proxy(&error)),
        Err(_) => {
            let events = stream::once(start).flat_map(move |started| match started {
                Ok(completion) => {
                    chunk_events(completion, include_usage, span.clone(), metrics.clone())
                }
                Err(error) => stream::iter(vec![error_event(&error, &span, &metrics)]).boxed(),
            });
            let keep_alive = Event::default().comment(KEEP_ALIVE_TEXT);
            Ok(with_keep_alive(
                stream::once(async move { Ok(keep_alive) }).chain(events),
            ))
        }
    }
}

/// The SSE response for `completion`; token counts are recorded on `span` (the
/// request's) when the completion finishes, and in `metrics`.
pub fn sse_response(
    completion: ChatCompletionStream,
    include_usage: bool,
    span: Span,
    metrics: ChatMetrics,
) -> Response {
    with_keep_alive(chunk_events(completion, include_usage, span, metrics))
}

/// `events` as an SSE response with a keep-alive comment after every
/// [`KEEP_ALIVE_INTERVAL`] of silence.
fn with_keep_alive(
    events: impl futures::Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(KEEP_ALIVE_INTERVAL)
                .text(KEEP_ALIVE_TEXT),
        )
        .into_response()
}

/// An error that ended the stream, logged under `span`, recorded in `metrics` and
/// sent as its envelope.
fn error_event(
    error: &ProxyError,
    span: &Span,
    metrics: &ChatMetrics,
) -> Result<Event, Infallible> {
    let error = ApiError::from_proxy(error);
    metrics.stream_failed(error.kind);
    span.in_scope(|| {
        tracing::warn!(
            kind = error.kind.as_str(),
            "the stream ended with an error: {}",
            error.message
        )
    });
    data(&error.envelope())
}

/// The events of `completion`: the role chunk, the content and the end (or an
/// error event).
fn chunk_events(
    completion: ChatCompletionStream,
    include_usage: bool,
    span: Span,
    metrics: ChatMetrics,
) -> BoxStream<'static, Result<Event, Infallible>> {
    let writer = ChunkWriter::new(completion.header().clone(), include_usage);
    let first = data(&writer.role());
    let events = completion.flat_map(move |event| {
        if event.is_ok() {
            // Reasoning, content, or the end (a call with no content before it).
            metrics.first_token();
        }
        let events: Vec<Result<Event, Infallible>> = match event {
            Ok(ChatCompletionEvent::Reasoning(text)) => vec![data(&writer.reasoning(&text))],
            Ok(ChatCompletionEvent::Content(text)) => vec![data(&writer.content(&text))],
            Ok(ChatCompletionEvent::Finished { response, report }) => {
                metrics.completed(&response, &report);
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
            Err(error) => vec![error_event(&error, &span, &metrics)],
        };
        stream::iter(events)
    });
    stream::once(async move { first }).chain(events).boxed()
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

    /// A response whose message makes `calls` calls (`send_message`, then
    /// `archival_memory_insert`, …).
    fn response(calls: usize, legacy: bool) -> ChatCompletionResponse {
        let call = calls > 0;
        let message = AssistantMessage {
            content: Some("thinking".into()),
            reasoning: None,
            function_calls: ["send_message", "archival_memory_insert", "pause_heartbeats"]
                .into_iter()
                .take(calls)
                .map(|name| ParsedFunctionCall {
                    name: name.into(),
                    arguments: json!({"message": "hi"}),
                })
                .collect(),
        };
        ChatCompletionResponse {
            id: "chatcmpl-1".into(),
            object: "chat.completion".into(),
            created: 7,
            model: "local".into(),
            system_fingerprint: Some(SYSTEM_FINGERPRINT.to_owned()),
            choices: vec![Choice {
                index: 0,
                message: message.to_response_message(legacy),
                logprobs: None,
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
        chunks.extend(writer.finished(&response(1, false)));
        assert_eq!(chunks.len(), 4);
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], "chatcmpl-1");
            assert_eq!(chunk["created"], 7);
            assert_eq!(chunk["system_fingerprint"], SYSTEM_FINGERPRINT);
            assert!(chunk["choices"][0]
                .get("logprobs")
                .is_some_and(Value::is_null));
            assert!(chunk.get("usage").is_none());
        }
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
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
    fn reasoning_is_a_reasoning_content_delta() {
        let chunk = ChunkWriter::new(header(), false).reasoning("Step 1.");
        assert_eq!(
            chunk["choices"][0]["delta"],
            json!({"reasoning_content": "Step 1."})
        );
        assert!(chunk["choices"][0]["finish_reason"].is_null());
        assert_eq!(chunk["object"], "chat.completion.chunk");
    }

    #[test]
    fn parallel_calls_are_one_delta_each_with_its_index_and_id() {
        let chunks = ChunkWriter::new(header(), false).finished(&response(2, false));
        assert_eq!(chunks.len(), 2);
        let calls = chunks[0]["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .unwrap();
        assert_eq!(calls.len(), 2);
        for (index, (call, name)) in calls
            .iter()
            .zip(["send_message", "archival_memory_insert"])
            .enumerate()
        {
            assert_eq!(call["index"], index);
            assert_eq!(call["function"]["name"], name);
            assert!(call["id"].as_str().unwrap().starts_with("call_"));
        }
        assert_ne!(calls[0]["id"], calls[1]["id"]);
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn text_chunks_with_usage_and_legacy_call() {
        let writer = ChunkWriter::new(header(), true);
        assert!(writer.role()["usage"].is_null());
        let chunks = writer.finished(&response(0, false));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[1]["choices"], json!([]));
        assert_eq!(chunks[1]["usage"]["total_tokens"], 7);

        let legacy = ChunkWriter::new(header(), false).finished(&response(1, true));
        assert_eq!(legacy.len(), 2);
        let delta = &legacy[0]["choices"][0]["delta"];
        assert_eq!(delta["function_call"]["name"], "send_message");
        assert!(
            delta.get("tool_calls").is_none(),
            "legacy callers get one form of the call: {delta}"
        );
    }
}
