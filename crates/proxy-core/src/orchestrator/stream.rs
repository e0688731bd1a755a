//! Streamed chat completions: the assistant's content as the model writes it, then the
//! finished response.
//!
//! The steps before and after the backend call are the plain call's. Where the
//! backend streams ([`CompletionBackend::complete_streaming`]), every text piece is
//! appended to the raw reply, which is parsed again with the wrapper (JSON repair
//! closes the cut-off string and objects), and whatever the parsed content — the
//! inner thoughts for MemGPT-style wrappers — gained since the last piece is sent
//! as a [`ChatCompletionEvent::Content`]. Content is only ever extended, never
//! taken back: a partial parse that does not extend what was sent is skipped, and so
//! is a raw reply that ends inside a string escape (`\`, `\u00`, half a surrogate
//! pair). When the backend finishes, the reply is parsed as in the plain call and the
//! rest of the final content is sent, then [`ChatCompletionEvent::Finished`] with
//! the response (tool calls, finish reason, usage). In the rare case that repairing
//! the whole reply gives content that does not begin with what was streamed, a
//! warning is logged and the response's content is the final one.
//!
//! Where the backend cannot stream, the plain call runs to the end before the
//! stream is returned, and the stream holds the whole content, then the response.
//!
//! Reasoning the wrapper reads apart from the answer (a `<think>` block, the
//! message's `reasoning`) is streamed the same way, as
//! [`ChatCompletionEvent::Reasoning`], each piece before the content gained with
//! the same text (a reply's thoughts come before its answer).
//!
//! [`CompletionBackend::complete_streaming`]: crate::backend::CompletionBackend::complete_streaming

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::stream::{BoxStream, Stream, StreamExt};

use super::client::ProxyClient;
use super::error::ProxyError;
use super::pipeline::{CompletionReport, PreparedCall};
use super::replicas::Lease;
use super::response::ResponseHeader;
use super::target::ResolvedTarget;
use crate::backend::{BackendError, BackendStream, BackendStreamEvent};
use crate::completion::{ChatCompletionRequest, ChatCompletionResponse};

/// One item of a streamed chat completion.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatCompletionEvent {
    /// More of the assistant message's reasoning (never empty), sent before the
    /// content. The pieces, joined, are the response's `reasoning_content`.
    Reasoning(String),
    /// More of the assistant message's content (never empty). The pieces, joined,
    /// are the response's content.
    Content(String),
    /// The finished response (its content is what the `Content` pieces said) and the
    /// report (timings, repair, constraint); nothing follows it.
    Finished {
        /// The response, as [`ProxyClient::get_chat_completion`] returns it.
        response: Box<ChatCompletionResponse>,
        /// How long the whole call and the backend call took, whether the reply's
        /// JSON was repaired, and the constraint sent.
        report: CompletionReport,
    },
}

/// A streamed chat completion: [`ChatCompletionEvent::Content`] pieces, then
/// [`ChatCompletionEvent::Finished`]; an error ends it. Dropping it closes the
/// backend connection.
pub struct ChatCompletionStream {
    header: ResponseHeader,
    from_backend: bool,
    events: BoxStream<'static, Result<ChatCompletionEvent, ProxyError>>,
}

impl ChatCompletionStream {
    /// The id, creation time and model name the finished response will carry (for
    /// the chunks sent before it).
    pub fn header(&self) -> &ResponseHeader {
        &self.header
    }

    /// Whether the content comes as the backend generates it (`false`: the backend
    /// cannot stream, and the whole completion was finished before this stream
    /// was returned).
    pub fn is_streamed_from_backend(&self) -> bool {
        self.from_backend
    }
}

impl std::fmt::Debug for ChatCompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCompletionStream")
            .field("header", &self.header)
            .field("from_backend", &self.from_backend)
            .finish_non_exhaustive()
    }
}

impl Stream for ChatCompletionStream {
    type Item = Result<ChatCompletionEvent, ProxyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }
}

impl ProxyClient {
    /// Runs one chat completion as a stream (OpenAI's `stream: true`), yielding
    /// [`ChatCompletionEvent`](crate::ChatCompletionEvent)s. Everything that can go
    /// wrong before the backend starts generating (validation, the context window, a
    /// refused or unreachable backend) is an `Err` here, before any event.
    pub async fn stream_chat_completion(
        &self,
        target: &ResolvedTarget,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionStream, ProxyError> {
        if request.n.is_some_and(|n| n > 1) {
            return Err(ProxyError::invalid(
                "`n` above 1 is served only without streaming; send `stream: false` or `n: 1`",
            ));
        }
        let prepared = self.prepare(target, request).await?;
        let header = prepared.header.clone();
        let backend_started = Instant::now();
        let replicas = prepared.replicas().clone();
        // Retried on another replica only while the stream is being opened: once the
        // backend accepted it, what it sends goes to the client and is never replayed.
        let opened = if prepared.backend().registration.capabilities.streaming {
            let prepared = &prepared;
            let (streamed, lease) = replicas
                .call(|replica| async move { prepared.stream_on(&replica).await })
                .await?;
            streamed.map(|stream| (stream, lease))
        } else {
            None
        };
        let Some((backend_stream, lease)) = opened else {
            let prepared = &prepared;
            let (completion, _lease) = replicas
                .call(|replica| async move { prepared.complete_plain_on(&replica).await })
                .await?;
            let (response, report) = prepared
                .respond(&completion, backend_started.elapsed())
                .await?;
            let mut events = VecDeque::new();
            queue_rest(&mut events, &mut Sent::default(), &response);
            events.push_back(Ok(ChatCompletionEvent::Finished {
                response: Box::new(response),
                report,
            }));
            return Ok(ChatCompletionStream {
                header,
                from_backend: false,
                events: futures::stream::iter(events).boxed(),
            });
        };
        let state = LiveStream {
            prepared,
            backend_stream,
            lease,
            backend_started,
            raw: String::new(),
            sent: Sent::default(),
            pending: VecDeque::new(),
            done: false,
        };
        Ok(ChatCompletionStream {
            header,
            from_backend: true,
            events: futures::stream::unfold(state, LiveStream::next).boxed(),
        })
    }
}

/// The state of a stream fed by the backend.
struct LiveStream {
    prepared: PreparedCall,
    backend_stream: BackendStream,
    /// The replica's slot, held until the stream ends.
    lease: Lease,
    backend_started: Instant,
    /// The model's text so far.
    raw: String,
    /// The reasoning and content sent so far.
    sent: Sent,
    /// Events ready to go out.
    pending: VecDeque<Result<ChatCompletionEvent, ProxyError>>,
    /// The backend's stream has ended.
    done: bool,
}

impl LiveStream {
    async fn next(mut self) -> Option<(Result<ChatCompletionEvent, ProxyError>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((event, self));
            }
            if self.done {
                return None;
            }
            match self.backend_stream.next().await {
                Some(Ok(BackendStreamEvent::Text(piece))) => {
                    self.raw.push_str(&piece);
                    self.queue_gained();
                }
                Some(Ok(BackendStreamEvent::Finished(completion))) => {
                    self.done = true;
                    let backend_time = self.backend_started.elapsed();
                    match self.prepared.respond(&completion, backend_time).await {
                        Ok((response, report)) => self.finish(response, report),
                        Err(error) => self.pending.push_back(Err(error)),
                    }
                }
                Some(Err(error)) => {
                    self.done = true;
                    self.lease.record(Some(&error));
                    self.pending.push_back(Err(error.into()));
                }
                None => {
                    self.done = true;
                    let error = BackendError::InvalidResponse {
                        detail: "the backend's stream ended without a finished completion"
                            .to_owned(),
                        body: std::mem::take(&mut self.raw),
                        uri: self.prepared.endpoint().as_str().to_owned(),
                        server: self.prepared.backend().registration.name,
                    };
                    self.pending.push_back(Err(error.into()));
                }
            }
        }
    }

    /// Queues what the partial reply's reasoning and content add to what was sent.
    fn queue_gained(&mut self) {
        if ends_inside_escape(&self.raw) {
            return;
        }
        let Some(message) = self.prepared.partial_message(&self.raw) else {
            return;
        };
        let pending = &mut self.pending;
        let sent = &mut self.sent;
        if let Some(reasoning) = &message.reasoning {
            queue_gain(
                pending,
                &mut sent.reasoning,
                reasoning,
                ChatCompletionEvent::Reasoning,
            );
        }
        if let Some(content) = &message.content {
            queue_gain(
                pending,
                &mut sent.content,
                content,
                ChatCompletionEvent::Content,
            );
        }
    }

    /// Queues the reasoning and content not streamed yet, then the finished response.
    fn finish(&mut self, response: ChatCompletionResponse, report: CompletionReport) {
        queue_rest(&mut self.pending, &mut self.sent, &response);
        self.pending.push_back(Ok(ChatCompletionEvent::Finished {
            response: Box::new(response),
            report,
        }));
    }
}

/// The text a stream has sent so far.
#[derive(Debug, Default)]
struct Sent {
    /// The reasoning pieces, joined.
    reasoning: String,
    /// The content pieces, joined.
    content: String,
}

/// The queue of events a stream sends.
type Pending = VecDeque<Result<ChatCompletionEvent, ProxyError>>;

/// Queues the final response's reasoning, then its content, that `sent` lacks; a
/// warning when what was streamed is not the beginning of the final text (the
/// response carries the final text).
fn queue_rest(pending: &mut Pending, sent: &mut Sent, response: &ChatCompletionResponse) {
    let message = response.choices.first().map(|choice| &choice.message);
    let reasoning = message.and_then(|message| message.reasoning_content.as_deref());
    let content = message.and_then(|message| message.content.as_deref());
    let parts = [
        (
            &mut sent.reasoning,
            reasoning,
            "reasoning",
            ChatCompletionEvent::Reasoning as fn(String) -> ChatCompletionEvent,
        ),
        (
            &mut sent.content,
            content,
            "content",
            ChatCompletionEvent::Content,
        ),
    ];
    for (sent, text, part, event) in parts {
        if !queue_gain(pending, sent, text.unwrap_or_default(), event) {
            tracing::warn!(
                "the repaired reply's {part} does not begin with the {part} already streamed; the response carries the repaired {part}"
            );
        }
    }
}

/// Queues what `text` adds after `sent` (if anything) as `event`, and adds it to
/// `sent`; `false` when `text` does not begin with `sent` (nothing is queued).
fn queue_gain(
    pending: &mut Pending,
    sent: &mut String,
    text: &str,
    event: fn(String) -> ChatCompletionEvent,
) -> bool {
    match extension(sent, text) {
        Some(gained) => {
            pending.push_back(Ok(event(gained.to_owned())));
            sent.push_str(gained);
            true
        }
        None => text == sent.as_str(),
    }
}

/// What `content` adds after `sent`: `None` when it adds nothing or does not begin
/// with `sent`.
fn extension<'a>(sent: &str, content: &'a str) -> Option<&'a str> {
    content.strip_prefix(sent).filter(|rest| !rest.is_empty())
}

/// Whether `raw` ends inside a JSON string escape: an unpaired `\`, a `\u` with fewer
/// than four hex digits, or a `\uD800`–`\uDBFF` high surrogate whose low half has not
/// come yet. Parsing it now could give content that later text changes.
fn ends_inside_escape(raw: &str) -> bool {
    let backslashes = raw.bytes().rev().take_while(|byte| *byte == b'\\').count();
    if backslashes % 2 == 1 {
        return true;
    }
    let bytes = raw.as_bytes();
    for digits in 0..=4 {
        let Some(start) = bytes.len().checked_sub(digits + 2) else {
            continue;
        };
        let tail = &bytes[start..];
        if tail[0] != b'\\' || tail[1] != b'u' || !tail[2..].iter().all(u8::is_ascii_hexdigit) {
            continue;
        }
        let escaping = bytes[..start]
            .iter()
            .rev()
            .take_while(|byte| **byte == b'\\')
            .count()
            % 2
            == 0;
        if !escaping {
            continue;
        }
        let high_surrogate = digits == 4
            && matches!(tail[2].to_ascii_lowercase(), b'd')
            && matches!(tail[3].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b');
        return digits < 4 || high_surrogate;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_in_progress_are_recognised() {
        for raw in [
            r#""a\"#,
            r#""a\u"#,
            r#""a\u00"#,
            r#""a\u00e"#,
            r#""\ud83d"#,
            r#""\uDBFF"#,
        ] {
            assert!(ends_inside_escape(raw), "{raw}");
        }
        for raw in [
            r#""a"#,
            r#""a\\"#,
            r#""a\u00e9"#,
            r#""\ud83d\ude00"#,
            r#""a\\u00"#,
            r#""a\n"#,
            "",
            "u",
        ] {
            assert!(!ends_inside_escape(raw), "{raw}");
        }
    }

    #[test]
    fn content_only_grows() {
        assert_eq!(extension("", "Hel"), Some("Hel"));
        assert_eq!(extension("Hel", "Hello"), Some("lo"));
        assert_eq!(extension("Hello", "Hello"), None);
        assert_eq!(extension("Hello", "Help"), None);
    }
}
