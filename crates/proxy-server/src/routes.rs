//! The routes: `POST /v1/chat/completions` (and `/chat/completions`),
//! `GET /v1/models`, `GET /health`; a 404 envelope for any other path and a 405
//! envelope for a wrong method.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};
use tracing::Span;

use proxy_core::ChatCompletionRequest;

use crate::auth::require_api_key;
use crate::errors::{ApiError, ApiErrorKind};
use crate::extract::JsonBody;
use crate::state::ServerState;
use crate::streaming::stream_response;
use crate::telemetry::{record_model, record_tokens, trace_request, PROXY_OVERHEAD_HEADER};

/// The server's router over `state`. `/health` needs no key; every other route needs
/// one when the server has keys.
pub fn router(state: ServerState) -> Router {
    let api = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route_layer(middleware::from_fn_with_state(
            state.api_keys().clone(),
            require_api_key,
        ));
    Router::new()
        .route("/health", get(health))
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(middleware::from_fn(trace_request))
        .with_state(state)
}

/// `POST /v1/chat/completions`: runs the pipeline on the chosen model; with
/// `stream: true`, answers with server-sent events.
///
/// The `x-proxy-overhead-ms` header (the proxy's own time) is sent on plain answers;
/// a stream's headers go out before the backend has finished, so it has none.
async fn chat_completions(
    State(state): State<ServerState>,
    JsonBody(request): JsonBody<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let entry = state.models().select(request.model.as_deref())?;
    let wrapper = request
        .wrapper
        .as_deref()
        .unwrap_or(entry.target.wrapper_name());
    record_model(&entry.name, entry.target.endpoint_type(), wrapper);
    if request.stream.unwrap_or(false) {
        let include_usage = request
            .stream_options
            .is_some_and(|options| options.include_usage);
        let (client, target) = (entry.client.clone(), entry.target.clone());
        let start = async move { client.stream_chat_completion(&target, &request).await };
        return stream_response(start, include_usage, Span::current()).await;
    }
    let (completion, timings) = entry
        .client
        .get_chat_completion_timed(&entry.target, &request)
        .await?;
    record_tokens(
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    );
    let mut response = Json(completion).into_response();
    let overhead = format!("{:.3}", timings.proxy_overhead().as_secs_f64() * 1e3);
    if let Ok(value) = HeaderValue::from_str(&overhead) {
        response.headers_mut().insert(PROXY_OVERHEAD_HEADER, value);
    }
    Ok(response)
}

/// `GET /v1/models`: OpenAI's list shape.
async fn list_models(State(state): State<ServerState>) -> Json<Value> {
    let data: Vec<Value> = state
        .models()
        .entries()
        .iter()
        .map(|entry| {
            json!({
                "id": entry.name,
                "object": "model",
                "created": state.started(),
                "owned_by": "chat-completion-proxy",
            })
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// `GET /health`: `{"status": "ok"}` while the server runs.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        ApiErrorKind::NotFound,
        format!(
            "No route for {} {}; the routes are POST /v1/chat/completions, GET /v1/models and GET /health.",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        ApiErrorKind::MethodNotAllowed,
        format!(
            "Method {} is not allowed on {}.",
            request.method(),
            request.uri().path()
        ),
    )
}
