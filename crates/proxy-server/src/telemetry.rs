//! Per-request logging: a `tracing` span with a request id (also sent back as
//! `x-request-id`), filled in by the handlers with the model, endpoint type, wrapper
//! and token counts, and closed with the status and latency.
//!
//! Headers and bodies are never logged, so API keys and backend credentials cannot be.
//!
//! The request id is also known to the code answering the request
//! ([`current_request_id`]: while the handler runs, and while a streamed body is
//! produced), so every error message sent ends with it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use futures::Stream;
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being answered (`req_…`), or `None` outside a request.
pub fn current_request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The response header carrying the proxy's own time (everything but the backend
/// call), in milliseconds.
pub const PROXY_OVERHEAD_HEADER: &str = "x-proxy-overhead-ms";

/// Middleware: opens the request's span, runs the request in it, logs the outcome
/// and sets `x-request-id`.
pub(crate) async fn trace_request(request: Request, next: Next) -> Response {
    let request_id = format!("req_{}", uuid::Uuid::new_v4().simple());
    let shared_id: Arc<str> = Arc::from(request_id.as_str());
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        model = Empty,
        endpoint_type = Empty,
        wrapper = Empty,
        prompt_tokens = Empty,
        completion_tokens = Empty,
    );
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(
            Arc::clone(&shared_id),
            next.run(request).instrument(span.clone()),
        )
        .await;
    if is_event_stream(&response) {
        // A stream's events (and its errors) are written after the handler returned.
        let (parts, body) = response.into_parts();
        let body = Body::from_stream(InRequest {
            inner: body.into_data_stream(),
            request_id: shared_id,
            span: span.clone(),
        });
        response = Response::from_parts(parts, body);
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Whether `response` is a server-sent-events stream.
pub(crate) fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"))
}

/// A response body produced inside its request: each poll runs in the request's span
/// with its id set (see [`current_request_id`]).
struct InRequest {
    inner: BodyDataStream,
    request_id: Arc<str>,
    span: Span,
}

impl Stream for InRequest {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let inner = &mut this.inner;
        REQUEST_ID.sync_scope(Arc::clone(&this.request_id), || {
            Pin::new(inner).poll_next(cx)
        })
    }
}

/// Records the chosen model on the current request span.
pub(crate) fn record_model(model: &str, endpoint_type: &str, wrapper: &str) {
    let span = Span::current();
    span.record("model", display(model));
    span.record("endpoint_type", display(endpoint_type));
    span.record("wrapper", display(wrapper));
}

/// Records the token counts on the current request span.
pub(crate) fn record_tokens(prompt_tokens: u64, completion_tokens: u64) {
    record_tokens_on(&Span::current(), prompt_tokens, completion_tokens);
}

/// Records the token counts on `span` (a request span, from a stream that outlives
/// the handler).
pub(crate) fn record_tokens_on(span: &Span, prompt_tokens: u64, completion_tokens: u64) {
    span.record("prompt_tokens", prompt_tokens);
    span.record("completion_tokens", completion_tokens);
}
