//! The OpenAI-compatible HTTP server of chat-completion-proxy: any OpenAI client can
//! point its base URL here and get tool calls from a local model.
//!
//! * Routes ([`router`]): `POST /v1/chat/completions` (also `/chat/completions`),
//!   `GET /v1/models` (names and aliases), `GET /v1/models/{id}`, `GET /health`,
//!   `GET /metrics` (Prometheus, [`metrics`]; `metrics = false` turns it off);
//!   optional CORS (`cors_origins`).
//! * Configuration ([`ServerConfig`], TOML): listen address, optional API keys, body
//!   limit, `default_model`, `cors_origins` and `[[models]]` entries; the request's
//!   `model` picks the entry by name or alias (else the only or the default model),
//!   and the response echoes the name sent.
//! * Errors: OpenAI's envelope `{"error": {"message", "type", "param", "code"}}`,
//!   mapped from the error kinds in one place ([`errors::classify`]); a backend's 429
//!   or 503 keeps its status and `Retry-After`; messages never carry a backend URL or
//!   body and end with the request id. Bodies must be JSON objects sent as
//!   `application/json` (415 otherwise).
//! * API keys (`Authorization: Bearer`), compared in constant time; keys and backend
//!   credentials never appear in logs or error messages.
//! * Logs: a `tracing` span per request (id, model, endpoint type, wrapper, tokens,
//!   status, latency); response headers `x-request-id` and `x-proxy-overhead-ms` (the
//!   proxy's own time, outside the backend call; plain answers only).
//! * Metrics ([`metrics`]): Prometheus text on `GET /metrics` (no key, as `/health`):
//!   chat requests by model, status and error kind, the request, backend,
//!   first-token and overhead latencies, tokens, JSON repairs and constraints.
//! * Streaming (`stream: true`): OpenAI `chat.completion.chunk` server-sent events
//!   ([`streaming`]). From every backend but `webui-legacy` the content (the inner
//!   thoughts) streams as the model writes it; `webui-legacy` finishes first and is
//!   then sent as chunks (role, content, tool call, finish reason, usage, `[DONE]`).
//! * Replicas and failover ([`replica_config`]): a model may list several
//!   `endpoints`, spread by load with a per-replica concurrency limit and a bounded
//!   wait queue (then 503 with `Retry-After`); faulty replicas are ejected and probed
//!   again; `fallbacks` and `context_window_fallback` name the models asked instead.
//!   `GET /ready` is 200 only while every model has a healthy replica.
//! * Graceful shutdown ([`serve`], [`shutdown_signal`]): in-flight requests finish.
//!
//! This crate links no plugin: the binary links the wrappers and backends (and the
//! wrapper-file loader for `wrapper_file` entries); every model is resolved once, when
//! the state is built.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use proxy_server::{serve, shutdown_signal, ServerConfig, ServerState};
//! let config = ServerConfig::load("serve.toml".as_ref())?;
//! let state = ServerState::from_config(&config)?;
//! let listener = tokio::net::TcpListener::bind(&config.listen).await?;
//! serve(state, listener, shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod config;
pub mod errors;
pub mod extract;
pub mod failover;
pub mod metrics;
pub mod models;
pub mod replica_config;
pub mod routes;
pub mod state;
pub mod streaming;
pub mod telemetry;

use std::future::Future;

pub use auth::{ApiKeys, Secret};
pub use config::{
    ConfigError, EndpointConfig, HealthConfig, ModelConfig, ServerConfig, DEFAULT_LISTEN,
    DEFAULT_MAX_BODY_BYTES,
};
pub use errors::{ApiError, ApiErrorKind};
pub use models::{ModelEntry, ModelTable};
pub use routes::router;
pub use state::ServerState;

/// Serves `state` on `listener` until `shutdown` completes, then stops accepting
/// connections and waits for the requests in flight to finish. The health checks of
/// every model's replicas run meanwhile (and stop with the server); with metrics on, a
/// task drains the recorder's histogram samples.
pub async fn serve(
    state: ServerState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _health_checks: Vec<proxy_core::HealthChecks> = state
        .models()
        .entries()
        .iter()
        .map(|entry| entry.client.start_health_checks(&entry.target))
        .collect();
    let upkeep = state
        .metrics()
        .cloned()
        .map(|handle| tokio::spawn(crate::metrics::upkeep(handle)));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
    served
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM. If a signal handler cannot be
/// installed, that signal is ignored (logged) rather than stopping the server.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C ({error}); stop the server another way");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM ({error})");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
