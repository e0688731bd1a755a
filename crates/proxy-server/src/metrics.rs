//! Prometheus metrics: the one list of metric names ([`METRICS`], each described once
//! when the recorder is installed), the process's recorder ([`install`]), and what
//! the chat route records.
//!
//! Everything is recorded through the [`metrics`] facade, here in the server: the
//! pipeline (proxy-core) measures and returns its facts ([`CompletionReport`]: the
//! timings, JSON repair, the constraint sent), and the server labels them with the
//! configured model name — the name an operator knows, never a name a client sent,
//! so clients cannot grow the label set — and records them. proxy-core thus needs no
//! metrics dependency, and its other users pay nothing.
//!
//! Where each metric is recorded, once per chat request (`POST /v1/chat/completions`):
//! * `record_chat_request`, a middleware around the chat routes (outside the API
//!   key check): `ccp_requests_total` and `ccp_request_duration_seconds` when the
//!   answer is over — a plain answer when it is returned, a stream when its body has
//!   been sent (or dropped) — with the status and the error kind the route produced.
//! * [`ChatMetrics::completed`], for a finished completion (plain or streamed): the
//!   backend time, the proxy's overhead, the tokens, JSON repairs and the constraint.
//! * [`ChatMetrics::first_token`], streams only: the time to the first chunk carrying
//!   the model's output.
//!
//! The recorder is process-wide (the facade has one global recorder): [`install`]
//! builds it once, later calls (another server in the same process, as in tests)
//! share it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::metrics::{counter, histogram};
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use futures::Stream;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use proxy_core::{ChatCompletionResponse, CompletionReport};

use crate::errors::ApiErrorKind;
use crate::telemetry::is_event_stream;

/// The content type of `GET /metrics`: Prometheus' text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Chat requests answered, by `model`, `status` and `kind`.
pub const REQUESTS_TOTAL: &str = "ccp_requests_total";
/// The whole chat request, by `model`.
pub const REQUEST_DURATION: &str = "ccp_request_duration_seconds";
/// The backend call(s) of a completion, by `model`.
pub const BACKEND_DURATION: &str = "ccp_backend_duration_seconds";
/// Streams: until the first chunk with the model's output, by `model`.
pub const TIME_TO_FIRST_TOKEN: &str = "ccp_time_to_first_token_seconds";
/// A completion's time outside the backend call, by `model`.
pub const PROXY_OVERHEAD: &str = "ccp_proxy_overhead_seconds";
/// Prompt tokens of completed requests, by `model`.
pub const PROMPT_TOKENS: &str = "ccp_prompt_tokens_total";
/// Completion tokens of completed requests, by `model`.
pub const COMPLETION_TOKENS: &str = "ccp_completion_tokens_total";
/// Completions whose reply's JSON needed repair, by `model`.
pub const JSON_REPAIRS: &str = "ccp_json_repairs_total";
/// Completions by output constraint, by `model` and `constraint`.
pub const CONSTRAINED_REQUESTS: &str = "ccp_constrained_requests_total";
pub use proxy_core::replica_metrics::{
    BACKEND_RETRIES, QUEUE_REJECTIONS, REPLICA_ANSWERS, REPLICA_EJECTIONS, REPLICA_HEALTHY,
    REPLICA_IN_FLIGHT,
};
/// Requests served by a fallback model, by `model` and `to` (recorded by the route
/// layer's fallbacks, [`crate::failover`]).
pub const FALLBACKS: &str = "ccp_fallbacks_total";

/// The `kind` of a successful request.
pub const KIND_OK: &str = "ok";
/// The `kind` of a request the client gave up on before the answer was over.
pub const KIND_CANCELLED: &str = "cancelled";
/// The `status` of a request the client gave up on before any answer was sent
/// (nginx's "client closed request").
pub const STATUS_CLIENT_CLOSED: &str = "499";
/// The `constraint` of a completion sent without one.
pub const CONSTRAINT_NONE: &str = "none";

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only ever increases.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets (seconds).
    Histogram,
}

/// One metric: its name, type and help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDescription {
    /// The name (prefix `ccp_`).
    pub name: &'static str,
    /// Its type.
    pub kind: MetricType,
    /// The `# HELP` text.
    pub help: &'static str,
}

const fn metric(name: &'static str, kind: MetricType, help: &'static str) -> MetricDescription {
    MetricDescription { name, kind, help }
}

/// Every metric the server exports: the one list (HELP and TYPE lines come from it).
pub const METRICS: &[MetricDescription] = &[
    metric(REQUESTS_TOTAL, MetricType::Counter, "Chat completion requests answered, by model, HTTP status and error kind (ok on success)."),
    metric(REQUEST_DURATION, MetricType::Histogram, "Seconds from a chat request's arrival until its answer (a stream's last byte) was produced."),
    metric(BACKEND_DURATION, MetricType::Histogram, "Seconds spent in the backend call(s) of a completed request, retries included."),
    metric(TIME_TO_FIRST_TOKEN, MetricType::Histogram, "Streamed requests: seconds from arrival until the first chunk carrying the model's output."),
    metric(PROXY_OVERHEAD, MetricType::Histogram, "Seconds of a completed request spent in the proxy itself (the whole call minus the backend calls)."),
    metric(PROMPT_TOKENS, MetricType::Counter, "Prompt tokens of completed requests (the response's usage)."),
    metric(COMPLETION_TOKENS, MetricType::Counter, "Completion tokens of completed requests (the response's usage)."),
    metric(JSON_REPAIRS, MetricType::Counter, "Completed requests whose reply held malformed JSON that was repaired."),
    metric(CONSTRAINED_REQUESTS, MetricType::Counter, "Completed requests by the output constraint sent to the backend (grammar, json_schema, ..., or none)."),
    metric(BACKEND_RETRIES, MetricType::Counter, "Backend calls retried."),
    metric(REPLICA_EJECTIONS, MetricType::Counter, "Times a replica was taken out of rotation."),
    metric(REPLICA_HEALTHY, MetricType::Gauge, "1 while a replica is healthy, 0 while it is not."),
    metric(REPLICA_IN_FLIGHT, MetricType::Gauge, "Requests in flight on a replica."),
    metric(REPLICA_ANSWERS, MetricType::Counter, "Backend calls a replica answered."),
    metric(FALLBACKS, MetricType::Counter, "Requests answered by a fallback model."),
    metric(QUEUE_REJECTIONS, MetricType::Counter, "Requests refused because the model's queue was full."),
];

/// Bucket bounds for request, backend and first-token latencies, in seconds: from a
/// cached reply to a long generation.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];

/// Bucket bounds for the proxy's own time, in seconds (well under the backend's).
pub const OVERHEAD_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// How often the recorder drains histogram samples when nobody scrapes `/metrics`
/// (so they do not pile up).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder, installed as the facade's global recorder on
/// the first call (with the buckets above, and every metric of [`METRICS`]
/// described); later calls return the same handle. If another recorder was
/// installed first, a warning is logged and the handle renders nothing.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            match ::metrics::set_global_recorder(recorder) {
                Ok(()) => describe_all(),
                Err(error) => tracing::warn!(
                    "another metrics recorder is installed ({error}); GET /metrics shows nothing"
                ),
            }
            handle
        })
        .clone()
}

/// The recorder's builder: histograms (never summaries) with [`LATENCY_BUCKETS`],
/// [`OVERHEAD_BUCKETS`] for the overhead.
fn builder() -> PrometheusBuilder {
    let built = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .and_then(|builder| {
            builder
                .set_buckets_for_metric(Matcher::Full(PROXY_OVERHEAD.to_owned()), OVERHEAD_BUCKETS)
        });
    match built {
        Ok(builder) => builder,
        // Only an empty bucket list is refused, and these are constants.
        Err(error) => {
            tracing::warn!("the metrics buckets were refused ({error}); histograms are summaries");
            PrometheusBuilder::new()
        }
    }
}

/// Describes every metric of [`METRICS`] to the installed recorder.
fn describe_all() {
    for description in METRICS {
        let (name, help) = (description.name, description.help);
        match description.kind {
            MetricType::Counter => ::metrics::describe_counter!(name, help),
            MetricType::Gauge => ::metrics::describe_gauge!(name, help),
            MetricType::Histogram => {
                ::metrics::describe_histogram!(name, ::metrics::Unit::Seconds, help)
            }
        }
    }
}

/// Drains histogram samples every [`UPKEEP_INTERVAL`] until dropped (a task for the
/// server's lifetime).
pub(crate) async fn upkeep(handle: PrometheusHandle) {
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        interval.tick().await;
        handle.run_upkeep();
    }
}

/// What the metrics learn about one chat request while it is answered; the handler
/// finds it in the request's extensions (put there by `record_chat_request`).
#[derive(Debug, Clone)]
pub struct ChatMetrics(Arc<Probe>);

#[derive(Debug)]
struct Probe {
    enabled: bool,
    started: Instant,
    /// The configured name of the model serving the request, once chosen.
    model: OnceLock<String>,
    /// The first output chunk of a stream has been sent.
    first_token: AtomicBool,
    /// The error that ended a stream after its headers went out.
    stream_error: OnceLock<ApiErrorKind>,
}

impl ChatMetrics {
    fn new(enabled: bool) -> Self {
        ChatMetrics(Arc::new(Probe {
            enabled,
            started: Instant::now(),
            model: OnceLock::new(),
            first_token: AtomicBool::new(false),
            stream_error: OnceLock::new(),
        }))
    }

    /// Metrics that record nothing (a server with metrics off, a unit test).
    pub fn disabled() -> Self {
        ChatMetrics::new(false)
    }

    /// The model serving the request (its configured name): the `model` label.
    pub fn set_model(&self, name: &str) {
        let _ = self.0.model.set(name.to_owned());
    }

    fn model(&self) -> String {
        self.0.model.get().cloned().unwrap_or_default()
    }

    /// Records a finished completion: the backend time, the overhead, the tokens,
    /// a JSON repair and the constraint.
    pub fn completed(&self, response: &ChatCompletionResponse, report: &CompletionReport) {
        if !self.0.enabled {
            return;
        }
        let model = self.model();
        let timings = &report.timings;
        histogram!(BACKEND_DURATION, "model" => model.clone()).record(timings.backend);
        histogram!(PROXY_OVERHEAD, "model" => model.clone()).record(timings.proxy_overhead());
        counter!(PROMPT_TOKENS, "model" => model.clone()).increment(response.usage.prompt_tokens);
        counter!(COMPLETION_TOKENS, "model" => model.clone())
            .increment(response.usage.completion_tokens);
        if report.json_repaired {
            counter!(JSON_REPAIRS, "model" => model.clone()).increment(1);
        }
        let constraint = report.constraint.unwrap_or(CONSTRAINT_NONE);
        counter!(CONSTRAINED_REQUESTS, "model" => model, "constraint" => constraint).increment(1);
    }

    /// A stream is sending its first chunk with the model's output: records the time
    /// to first token (once per request).
    pub fn first_token(&self) {
        if !self.0.enabled || self.0.first_token.swap(true, Ordering::Relaxed) {
            return;
        }
        histogram!(TIME_TO_FIRST_TOKEN, "model" => self.model()).record(self.0.started.elapsed());
    }

    /// A stream ended with an error event of `kind` (its status was already sent).
    pub fn stream_failed(&self, kind: ApiErrorKind) {
        let _ = self.0.stream_error.set(kind);
    }
}

/// Records one request when dropped: after a plain answer is built, after a stream's
/// body ended or was dropped, or when the client went away first.
struct RequestRecord {
    metrics: ChatMetrics,
    /// The status sent; `None` until the handler answered.
    status: Option<StatusCode>,
    /// The error kind of an error answer.
    kind: Option<ApiErrorKind>,
    /// Whether the whole body was produced (a stream that ends early was cancelled).
    complete: bool,
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        let probe = &self.metrics.0;
        if !probe.enabled {
            return;
        }
        let (status, kind) = match self.status {
            None => (STATUS_CLIENT_CLOSED.to_owned(), KIND_CANCELLED),
            Some(status) => {
                let kind = match (probe.stream_error.get().copied(), self.kind) {
                    (Some(kind), _) | (None, Some(kind)) => kind.as_str(),
                    (None, None) if self.complete => KIND_OK,
                    (None, None) => KIND_CANCELLED,
                };
                (status.as_u16().to_string(), kind)
            }
        };
        let model = self.metrics.model();
        counter!(REQUESTS_TOTAL, "model" => model.clone(), "status" => status, "kind" => kind)
            .increment(1);
        histogram!(REQUEST_DURATION, "model" => model).record(probe.started.elapsed());
    }
}

/// Middleware around the chat routes: gives the handler its [`ChatMetrics`] and
/// records the request when its answer is over (`enabled`: the server exports
/// metrics).
pub(crate) async fn record_chat_request(
    State(enabled): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    let metrics = ChatMetrics::new(enabled);
    request.extensions_mut().insert(metrics.clone());
    let mut record = RequestRecord {
        metrics,
        status: None,
        kind: None,
        complete: true,
    };
    let response = next.run(request).await;
    record.status = Some(response.status());
    record.kind = response.extensions().get::<ApiErrorKind>().copied();
    if !enabled || !is_event_stream(&response) {
        return response;
    }
    record.complete = false;
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(RecordedBody {
        inner: body.into_data_stream(),
        record: Some(record),
    });
    Response::from_parts(parts, body)
}

/// A stream's body, recording its request when its end has been produced (before
/// the client can see the end) or when it is dropped before that.
struct RecordedBody {
    inner: BodyDataStream,
    record: Option<RequestRecord>,
}

impl Stream for RecordedBody {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(None) = polled {
            if let Some(mut record) = this.record.take() {
                record.complete = true;
            }
        }
        polled
    }
}
