//! Per-request logging: a `tracing` span with a request id (also sent back as
//! `x-request-id`), filled in by the handlers with the model, endpoint type, wrapper
//! and token counts, and closed with the status and latency.
//!
//! Headers and bodies are never logged, so API keys and backend credentials cannot be.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The response header carrying the proxy's own time (everything but the backend
/// call), in milliseconds.
pub const PROXY_OVERHEAD_HEADER: &str = "x-proxy-overhead-ms";

/// Middleware: opens the request's span, runs the request in it, logs the outcome
/// and sets `x-request-id`.
pub(crate) async fn trace_request(request: Request, next: Next) -> Response {
    let request_id = format!("req_{}", uuid::Uuid::new_v4().simple());
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
    let mut response = next.run(request).instrument(span.clone()).await;
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
