//! Streaming replies: a backend that can stream hands back a [`BackendStream`] of text
//! pieces ending with the finished [`BackendCompletion`].
//!
//! [`sse_completion_stream`] does the part every server-sent-events reply shares
//! (BACKENDS.md, "SSE framing varies"): it splits the body into lines (a line may
//! arrive in several network chunks), skips blank lines, `:` comments and pings and
//! fields other than `data`, ends at `data: [DONE]`, at the backend's last chunk or at
//! the end of the body, and turns error payloads into [`BackendError`]s: llama.cpp's
//! older `error: {json}` lines and `data: {"error": …}` chunks alike. Each backend only
//! says how to read one `data` payload ([`ChunkDecoder`]).
//!
//! Each `data:` line is read as one payload; the servers here send single-line JSON,
//! so multi-line `data` events (joined with `\n` by the SSE standard) do not occur.
//!
//! [`ndjson_completion_stream`] reads newline-delimited JSON (ollama) the same way:
//! every non-blank line is one payload, error objects included; the stream ends at
//! the backend's last chunk or at the end of the body.

use std::collections::VecDeque;
use std::pin::Pin;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

use super::completion::{nonzero, BackendCompletion, BackendFinishReason};
use super::error::BackendError;
use super::http::{transport_error, BackendCall};
use super::reply::{error_message, mentions_context_overflow};

/// One item of a streamed completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendStreamEvent {
    /// The next piece of generated text (never empty).
    Text(String),
    /// The end: the whole text with the server's counts and stop reason; nothing
    /// follows it.
    Finished(BackendCompletion),
}

/// A streamed completion: text pieces, then [`BackendStreamEvent::Finished`], or an
/// error (after which nothing follows). Dropping it closes the connection, which makes
/// llama.cpp stop generating.
pub type BackendStream =
    Pin<Box<dyn Stream<Item = Result<BackendStreamEvent, BackendError>> + Send>>;

/// What one `data:` payload says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamChunk {
    /// Newly generated text (may be empty).
    pub text: String,
    /// Generated tokens so far or in all, when the chunk reports them.
    pub completion_tokens: Option<u64>,
    /// Prompt tokens, when the chunk reports them.
    pub prompt_tokens: Option<u64>,
    /// Why generation stopped, once the chunk says.
    pub finish_reason: Option<BackendFinishReason>,
    /// Whether this is the server's last chunk (llama.cpp's `"stop": true`); the
    /// stream then finishes without waiting for the body to end.
    pub last: bool,
}

/// Reads one `data:` payload (already checked not to be an error object); `Err` says
/// what is wrong with it.
pub type ChunkDecoder = fn(&Value) -> Result<StreamChunk, String>;

/// How the body is cut into payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Server-sent events: `data:` lines.
    ServerSentEvents,
    /// Newline-delimited JSON: every non-blank line.
    JsonLines,
}

/// The stream of an SSE `response` from `call`'s server (see the module docs).
pub fn sse_completion_stream(
    response: reqwest::Response,
    call: &BackendCall<'_>,
    uri: String,
    decode: ChunkDecoder,
) -> BackendStream {
    completion_stream(response, call, uri, decode, Framing::ServerSentEvents)
}

/// The stream of a newline-delimited JSON `response` from `call`'s server (see the
/// module docs).
pub fn ndjson_completion_stream(
    response: reqwest::Response,
    call: &BackendCall<'_>,
    uri: String,
    decode: ChunkDecoder,
) -> BackendStream {
    completion_stream(response, call, uri, decode, Framing::JsonLines)
}

fn completion_stream(
    response: reqwest::Response,
    call: &BackendCall<'_>,
    uri: String,
    decode: ChunkDecoder,
    framing: Framing,
) -> BackendStream {
    let state = SseState {
        framing,
        body: response.bytes_stream().boxed(),
        lines: LineBuffer::default(),
        decode,
        uri,
        endpoint: call.endpoint.as_str().to_owned(),
        server: call.server,
        text: String::new(),
        completion_tokens: None,
        prompt_tokens: None,
        finish_reason: None,
        queue: VecDeque::new(),
        ended: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                return Some((item, state));
            }
            if state.ended {
                return None;
            }
            match state.body.next().await {
                Some(Ok(bytes)) => {
                    for line in state.lines.push(&bytes) {
                        state.read_line(&line);
                    }
                }
                Some(Err(error)) => {
                    let error = transport_error(error, &state.endpoint, state.server, &state.uri);
                    state.fail(error);
                }
                None => state.end_of_body(),
            }
        }
    })
    .boxed()
}

/// Splits bytes into lines; a line is complete at `\n` (a `\r` before it is dropped).
#[derive(Debug, Default)]
struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The lines completed by `bytes`.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|byte| *byte == b'\n') {
            self.pending.extend_from_slice(&rest[..end]);
            lines.push(self.take());
            rest = &rest[end + 1..];
        }
        self.pending.extend_from_slice(rest);
        lines
    }

    /// What is left after the last `\n` (a last line without a newline).
    fn rest(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let mut line = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        if line.ends_with('\r') {
            line.pop();
        }
        line
    }
}

struct SseState {
    framing: Framing,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    lines: LineBuffer,
    decode: ChunkDecoder,
    uri: String,
    endpoint: String,
    server: &'static str,
    text: String,
    completion_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    finish_reason: Option<BackendFinishReason>,
    queue: VecDeque<Result<BackendStreamEvent, BackendError>>,
    ended: bool,
}

impl SseState {
    fn read_line(&mut self, line: &str) {
        if self.ended || line.trim().is_empty() {
            return;
        }
        if self.framing == Framing::JsonLines {
            return self.read_payload(line);
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" if value.trim() == "[DONE]" => self.finish(),
            "data" => self.read_payload(value),
            "error" => {
                let message = serde_json::from_str::<Value>(value)
                    .ok()
                    .and_then(|json| error_message(&serde_json::json!({ "error": json })))
                    .unwrap_or_else(|| value.to_owned());
                let error = self.error_reply(message, value);
                self.fail(error);
            }
            _ => {}
        }
    }

    fn read_payload(&mut self, payload: &str) {
        let json: Value = match serde_json::from_str(payload) {
            Ok(json) => json,
            Err(error) => {
                let error = self.invalid(format!("a stream chunk is not JSON: {error}"), payload);
                return self.fail(error);
            }
        };
        if let Some(message) = error_message(&json) {
            let error = self.error_reply(message, payload);
            return self.fail(error);
        }
        let chunk = match (self.decode)(&json) {
            Ok(chunk) => chunk,
            Err(detail) => {
                let error = self.invalid(detail, payload);
                return self.fail(error);
            }
        };
        if !chunk.text.is_empty() {
            self.text.push_str(&chunk.text);
            self.queue
                .push_back(Ok(BackendStreamEvent::Text(chunk.text)));
        }
        self.completion_tokens = chunk.completion_tokens.or(self.completion_tokens);
        self.prompt_tokens = nonzero(chunk.prompt_tokens).or(self.prompt_tokens);
        self.finish_reason = chunk.finish_reason.or(self.finish_reason);
        if chunk.last {
            self.finish();
        }
    }

    /// The body ended: a last line without a newline still counts; a stream that had
    /// said why it stopped is finished, any other was cut off.
    fn end_of_body(&mut self) {
        if let Some(line) = self.lines.rest() {
            self.read_line(&line);
        }
        if self.ended {
            return;
        }
        if self.finish_reason.is_some() {
            return self.finish();
        }
        let error = self.invalid(
            "the stream ended before the server's last chunk (did the server stop or crash?)"
                .to_owned(),
            &self.text.clone(),
        );
        self.fail(error);
    }

    fn finish(&mut self) {
        self.ended = true;
        if self.text.is_empty() {
            self.queue.push_back(Err(BackendError::EmptyResponse {
                body: String::new(),
                uri: self.uri.clone(),
                server: self.server,
            }));
            return;
        }
        self.queue
            .push_back(Ok(BackendStreamEvent::Finished(BackendCompletion {
                text: std::mem::take(&mut self.text),
                completion_tokens: self.completion_tokens,
                prompt_tokens: self.prompt_tokens,
                finish_reason: self.finish_reason.unwrap_or(BackendFinishReason::Unknown),
            })));
    }

    fn fail(&mut self, error: BackendError) {
        self.ended = true;
        self.queue.push_back(Err(error));
    }

    fn invalid(&self, detail: String, body: &str) -> BackendError {
        BackendError::InvalidResponse {
            detail,
            body: body.to_owned(),
            uri: self.uri.clone(),
            server: self.server,
        }
    }

    fn error_reply(&self, message: String, body: &str) -> BackendError {
        if mentions_context_overflow(body) {
            return BackendError::ContextWindowExceeded {
                status: 200,
                body: body.to_owned(),
                uri: self.uri.clone(),
            };
        }
        BackendError::ErrorReply {
            message,
            body: body.to_owned(),
            uri: self.uri.clone(),
            server: self.server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_and_crlf() {
        let mut buffer = LineBuffer::default();
        assert!(buffer.push(b"data: {\"a\"").is_empty());
        assert_eq!(buffer.push(b": 1}\r\n\r\nda"), vec!["data: {\"a\": 1}", ""]);
        assert_eq!(buffer.push(b"ta: x\n"), vec!["data: x"]);
        let accented = "data: \u{e9}".as_bytes();
        assert!(buffer.push(&accented[..7]).is_empty());
        assert!(buffer.push(&accented[7..]).is_empty());
        assert_eq!(buffer.rest().as_deref(), Some("data: \u{e9}"));
        assert_eq!(buffer.rest(), None);
    }

    /// A decoder shaped like llama.cpp's: `content`, and `stop` on the last chunk.
    fn decode(json: &Value) -> Result<StreamChunk, String> {
        let text = json
            .get("content")
            .and_then(Value::as_str)
            .ok_or("no content")?;
        let last = json.get("stop").and_then(Value::as_bool) == Some(true);
        Ok(StreamChunk {
            text: text.to_owned(),
            completion_tokens: json.get("tokens_predicted").and_then(Value::as_u64),
            prompt_tokens: json.get("tokens_evaluated").and_then(Value::as_u64),
            finish_reason: json
                .get("finish")
                .and_then(Value::as_str)
                .map(|reason| BackendFinishReason::from_openai(Some(reason))),
            last,
        })
    }

    /// Runs `chunks` (as the network would deliver them) through the stream.
    async fn events(chunks: &[&str]) -> Vec<Result<BackendStreamEvent, BackendError>> {
        framed(chunks, Framing::ServerSentEvents).await
    }

    async fn framed(
        chunks: &[&str],
        framing: Framing,
    ) -> Vec<Result<BackendStreamEvent, BackendError>> {
        let owned: Vec<Result<Vec<u8>, std::io::Error>> = chunks
            .iter()
            .map(|chunk| Ok(chunk.as_bytes().to_vec()))
            .collect();
        let body = reqwest::Body::wrap_stream(futures::stream::iter(owned));
        let response = reqwest::Response::from(http::Response::new(body));
        let endpoint = super::super::endpoint::Endpoint::parse("http://127.0.0.1:1")
            .expect("a well-formed endpoint");
        let call = BackendCall {
            endpoint: &endpoint,
            path: "/completion",
            auth: None,
            server: "test server",
        };
        let uri = "http://127.0.0.1:1/completion".to_owned();
        completion_stream(response, &call, uri, decode, framing)
            .collect()
            .await
    }

    fn text(piece: &str) -> Result<BackendStreamEvent, BackendError> {
        Ok(BackendStreamEvent::Text(piece.to_owned()))
    }

    #[tokio::test]
    async fn pieces_then_the_finished_completion() {
        let got = events(&[
            ": ping\n\ndata: {\"content\": \"Hel\"}\n\nda",
            "ta: {\"content\": \"lo\"}\r\n\r\ndata: {\"content\": \"\"}\n\n",
            "event: message\nid: 3\ndata: {\"content\": \"\", \"stop\": true, \"finish\": \"length\", \"tokens_predicted\": 2, \"tokens_evaluated\": 9}\n\n",
            "data: {\"content\": \"ignored after the last chunk\"}\n\n",
        ])
        .await;
        assert_eq!(
            got,
            vec![
                text("Hel"),
                text("lo"),
                Ok(BackendStreamEvent::Finished(BackendCompletion {
                    text: "Hello".into(),
                    completion_tokens: Some(2),
                    prompt_tokens: Some(9),
                    finish_reason: BackendFinishReason::Length,
                }))
            ]
        );
    }

    #[tokio::test]
    async fn done_marker_and_end_of_body_after_a_finish_reason_end_the_stream() {
        let got = events(&["data: {\"content\": \"a\"}\n\ndata: [DONE]"]).await;
        assert!(matches!(
            got.as_slice(),
            [
                _,
                Ok(BackendStreamEvent::Finished(BackendCompletion {
                    finish_reason: BackendFinishReason::Unknown,
                    ..
                }))
            ]
        ));
        let got = events(&["data: {\"content\": \"a\", \"finish\": \"stop\"}\n"]).await;
        assert!(matches!(
            got.as_slice(),
            [
                _,
                Ok(BackendStreamEvent::Finished(BackendCompletion {
                    finish_reason: BackendFinishReason::Stop,
                    ..
                }))
            ]
        ));
    }

    #[tokio::test]
    async fn json_lines_are_payloads_and_error_lines_end_the_stream() {
        let got = framed(
            &[
                "{\"content\": \"a\"}\n\n{\"con",
                "tent\": \"b\", \"stop\": true}\n",
            ],
            Framing::JsonLines,
        )
        .await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(&got[2], Ok(BackendStreamEvent::Finished(c)) if c.text == "ab"));
        let got = framed(
            &["{\"content\": \"a\"}\n{\"error\": \"model unloaded\"}\n"],
            Framing::JsonLines,
        )
        .await;
        assert!(
            matches!(got.last(), Some(Err(BackendError::ErrorReply { message, .. })) if message == "model unloaded")
        );
    }

    #[tokio::test]
    async fn errors_end_the_stream() {
        let got = events(&["data: {\"content\": \"a\"}\n\n"]).await;
        assert!(
            matches!(got.last(), Some(Err(BackendError::InvalidResponse { detail, .. })) if detail.contains("ended before")),
            "{got:?}"
        );
        let got = events(&["error: {\"code\": 500, \"message\": \"slot failed\"}\n\ndata: {\"content\": \"b\"}\n\n"]).await;
        assert_eq!(got.len(), 1);
        assert!(
            matches!(&got[0], Err(BackendError::ErrorReply { message, .. }) if message == "slot failed")
        );
        let got = events(&["data: {\"content\": \"a\"}\n\ndata: {\"error\": {\"type\": \"exceed_context_size_error\", \"message\": \"too long\"}}\n\n"]).await;
        assert!(matches!(
            got.last(),
            Some(Err(BackendError::ContextWindowExceeded { .. }))
        ));
        let got = events(&["data: not json\n\n"]).await;
        assert!(
            matches!(got.as_slice(), [Err(BackendError::InvalidResponse { body, .. })] if body == "not json")
        );
        let got = events(&["data: {\"tokens\": 1}\n\n"]).await;
        assert!(
            matches!(got.as_slice(), [Err(BackendError::InvalidResponse { detail, .. })] if detail == "no content")
        );
        let got = events(&["data: {\"content\": \"\", \"stop\": true}\n\n"]).await;
        assert!(matches!(
            got.as_slice(),
            [Err(BackendError::EmptyResponse { .. })]
        ));
    }
}
