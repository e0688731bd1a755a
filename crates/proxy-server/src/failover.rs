//! Asking another model when one cannot answer, and the readiness report.
//!
//! * A prompt that does not fit the model's context window (the proxy's own check or
//!   the server's refusal) goes to its `context_window_fallback`, and on along that
//!   model's, while one is configured.
//! * A request every replica of the model failed (unreachable, timed out, 5xx) or
//!   that found them all busy beyond the queue goes to the model's `fallbacks`, in
//!   order (then those of the fallback that also failed).
//!
//! A model is asked at most once per request. The answer's `model` is the name of
//! the model that answered (the fallback's own name, not the one the client sent),
//! so a client can tell a fallback answer apart; each switch is logged and counted
//! (`ccp_fallbacks_total{model,to}`). A stream switches only while it is being
//! opened, never after its first event.

use futures::future::BoxFuture;
use proxy_core::{
    ChatCompletionRequest, ChatCompletionResponse, ChatCompletionStream, CompletionReport,
    ErrorKind, ProxyError,
};
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::models::{ModelEntry, ModelTable};

/// The model to ask after `current` failed with `error`, if any: its context-window
/// fallback for a prompt too long, else the first of its and the first model's
/// fallbacks not asked yet for a replica failure.
fn next_model<'a>(
    table: &'a ModelTable,
    first: &ModelEntry,
    current: &ModelEntry,
    error: &ProxyError,
    asked: &[String],
) -> Option<&'a ModelEntry> {
    let candidates: Vec<&String> = if error.kind() == ErrorKind::ContextWindowExceeded {
        current.context_window_fallback.iter().collect()
    } else if error.is_replica_failure() {
        current.fallbacks.iter().chain(&first.fallbacks).collect()
    } else {
        Vec::new()
    };
    candidates
        .into_iter()
        .filter_map(|name| table.find(name))
        .find(|entry| !asked.contains(&entry.name))
}

/// Logs and counts a switch from `from` to `to`, and makes the request name `to`.
fn switch(
    from: &ModelEntry,
    to: &ModelEntry,
    error: &ProxyError,
    request: &mut ChatCompletionRequest,
) {
    tracing::warn!(
        model = from.name,
        fallback = to.name,
        kind = error.kind().as_str(),
        "asking model `{}` instead: {error}",
        to.name
    );
    metrics::counter!(crate::metrics::FALLBACKS, "model" => from.name.clone(), "to" => to.name.clone())
        .increment(1);
    request.model = Some(to.name.clone());
}

/// A plain completion on `entry`, then on its fallbacks (see the module docs).
pub(crate) async fn complete_with_fallbacks(
    table: &ModelTable,
    entry: &ModelEntry,
    request: ChatCompletionRequest,
) -> Result<(ChatCompletionResponse, CompletionReport), ApiError> {
    with_fallbacks(table, entry, request, |model, request| {
        Box::pin(
            model
                .client
                .get_chat_completion_timed(&model.target, request),
        )
    })
    .await
    .map_err(|error| ApiError::from_proxy(&error))
}

/// A stream opened on the model named `name`, else on its fallbacks (see the module
/// docs).
pub(crate) async fn stream_with_fallbacks(
    table: &ModelTable,
    name: &str,
    request: ChatCompletionRequest,
) -> Result<ChatCompletionStream, ProxyError> {
    let Some(entry) = table.find(name) else {
        return Err(ProxyError::InvalidRequest {
            reason: format!("the model `{name}` is not served"),
        });
    };
    with_fallbacks(table, entry, request, |model, request| {
        Box::pin(model.client.stream_chat_completion(&model.target, request))
    })
    .await
}

/// `call` on `entry`, then on the next model [`next_model`] names after each failure,
/// each asked once; the last failure is the answer.
async fn with_fallbacks<T>(
    table: &ModelTable,
    entry: &ModelEntry,
    mut request: ChatCompletionRequest,
    call: impl for<'a> Fn(
        &'a ModelEntry,
        &'a ChatCompletionRequest,
    ) -> BoxFuture<'a, Result<T, ProxyError>>,
) -> Result<T, ProxyError> {
    let mut asked = vec![entry.name.clone()];
    let mut current = entry;
    loop {
        let error = match call(current, &request).await {
            Ok(answer) => return Ok(answer),
            Err(error) => error,
        };
        let Some(next) = next_model(table, entry, current, &error, &asked) else {
            return Err(error);
        };
        switch(current, next, &error, &mut request);
        asked.push(next.name.clone());
        current = next;
    }
}

/// Whether every model has at least one healthy replica, and the report: each
/// model's replicas (label, `host:port`, health, requests in flight, ejections) and
/// the list of those down (`model: replica 2 (host:port)`). Names no backend path,
/// key or body.
pub fn readiness(table: &ModelTable) -> (bool, Value) {
    let mut ready = true;
    let mut down = Vec::new();
    let models: Vec<Value> = table
        .entries()
        .iter()
        .map(|entry| {
            let replicas = entry.target.replicas().snapshot();
            let model_ready = replicas.iter().any(|replica| replica.healthy);
            ready &= model_ready;
            down.extend(
                replicas
                    .iter()
                    .filter(|replica| !replica.healthy)
                    .map(|replica| {
                        format!("{}: {} ({})", entry.name, replica.label, replica.address)
                    }),
            );
            json!({"name": entry.name, "ready": model_ready, "replicas": replicas})
        })
        .collect();
    let status = if ready { "ready" } else { "not_ready" };
    (
        ready,
        json!({"status": status, "models": models, "down": down}),
    )
}
