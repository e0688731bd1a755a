//! The routes: `POST /v1/chat/completions` (and `/chat/completions`),
//! `GET /v1/models`, `GET /v1/models/{id}`, `GET /health` (liveness), `GET /ready`
//! (every model has a healthy replica), `GET /metrics` (unless metrics are off); a 404
//! envelope for any other path and a 405 envelope for a wrong method. With
//! `cors_origins` configured,
//! tower-http's CORS layer answers preflight `OPTIONS` requests and marks every
//! response for the allowed origins.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Json, Router};
use serde_json::{json, Value};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tracing::Span;

use proxy_core::ChatCompletionRequest;

use crate::auth::require_api_key;
use crate::errors::{ApiError, ApiErrorKind};
use crate::extract::JsonBody;
use crate::failover::{complete_with_fallbacks, readiness, stream_with_fallbacks};
use crate::metrics::{record_chat_request, ChatMetrics};
use crate::state::ServerState;
use crate::streaming::stream_response;
use crate::telemetry::{
    record_model, record_tokens, trace_request, PROXY_OVERHEAD_HEADER, REQUEST_ID_HEADER,
};

/// The server's router over `state`. `/health` and `/metrics` need no key (as
/// llama-server's `/health` and vLLM's `/metrics`: probes and scrapers send none);
/// every other route needs one when the server has keys. A CORS preflight needs none
/// (browsers send no credentials with it); the request that follows does.
///
/// The chat routes are measured ([`crate::metrics`]) outside the key check, so
/// refused keys are counted too.
pub fn router(state: ServerState) -> Router {
    let keys = middleware::from_fn_with_state(state.api_keys().clone(), require_api_key);
    let chat = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route_layer(keys.clone())
        .route_layer(middleware::from_fn_with_state(
            state.metrics().is_some(),
            record_chat_request,
        ));
    let api = Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{*id}", get(retrieve_model))
        .route_layer(keys)
        .merge(chat);
    let cors = cors_layer(state.cors_origins());
    let mut open = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    if state.metrics().is_some() {
        open = open.route("/metrics", get(metrics));
    }
    let router = open
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(middleware::from_fn(trace_request))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// The CORS layer for the configured origins (`None`: CORS is off): `*` or the list,
/// `GET`/`POST`, whatever request headers the page asks for (OpenAI's SDKs send
/// their own `x-stainless-*` headers), and the proxy's response headers readable.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([
                HeaderName::from_static(REQUEST_ID_HEADER),
                HeaderName::from_static(PROXY_OVERHEAD_HEADER),
                RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// `POST /v1/chat/completions`: runs the pipeline on the chosen model (then on its
/// fallbacks, see [`crate::failover`]); with `stream: true`, answers with
/// server-sent events.
///
/// The `x-proxy-overhead-ms` header (the proxy's own time) is sent on plain answers;
/// a stream's headers go out before the backend has finished, so it has none.
async fn chat_completions(
    State(state): State<ServerState>,
    Extension(metrics): Extension<ChatMetrics>,
    JsonBody(mut request): JsonBody<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let entry = state.models().select(request.model.as_deref())?;
    metrics.set_model(&entry.name);
    // The response echoes the name the client sent (an alias, or any name the only
    // or default model serves); with none, the model's own name.
    if request.model.is_none() {
        request.model = Some(entry.name.clone());
    }
    let wrapper = request
        .wrapper
        .as_deref()
        .unwrap_or(entry.target.wrapper_name());
    record_model(&entry.name, entry.target.endpoint_type(), wrapper);
    if request.stream.unwrap_or(false) {
        let include_usage = request
            .stream_options
            .is_some_and(|options| options.include_usage);
        let (state, name) = (state.clone(), entry.name.clone());
        let start = async move { stream_with_fallbacks(state.models(), &name, request).await };
        return stream_response(start, include_usage, Span::current(), metrics).await;
    }
    let (completion, report) = complete_with_fallbacks(state.models(), entry, request).await?;
    metrics.completed(&completion, &report);
    record_tokens(
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    );
    let mut response = Json(completion).into_response();
    let overhead = format!("{:.3}", report.timings.proxy_overhead().as_secs_f64() * 1e3);
    if let Ok(value) = HeaderValue::from_str(&overhead) {
        response.headers_mut().insert(PROXY_OVERHEAD_HEADER, value);
    }
    Ok(response)
}

/// One model object, in OpenAI's shape.
fn model_object(id: &str, created: u64) -> Value {
    json!({
        "id": id,
        "object": "model",
        "created": created,
        "owned_by": "chat-completion-proxy",
    })
}

/// `GET /v1/models`: OpenAI's list shape; each model's name, then each of its
/// aliases, as entries of their own (clients look their hard-coded name up here).
async fn list_models(State(state): State<ServerState>) -> Json<Value> {
    let data: Vec<Value> = state
        .models()
        .entries()
        .iter()
        .flat_map(|entry| std::iter::once(&entry.name).chain(&entry.aliases))
        .map(|id| model_object(id, state.started()))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// `GET /v1/models/{id}`: the model object for a name or alias (the rest of the
/// path, so names with `/` work); any other id is a 404 `model_not_found` envelope.
async fn retrieve_model(
    State(state): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::new(
            ApiErrorKind::NotFound,
            "The model id in the path is not valid percent-encoded UTF-8.",
        ));
    };
    match state.models().find(&id) {
        Some(_) => Ok(Json(model_object(&id, state.started()))),
        None => Err(ApiError::unknown_model(&id, &state.models().names())),
    }
}

/// `GET /health`: `{"status": "ok"}` while the server runs (liveness).
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`: every metric in Prometheus' text format (see [`crate::metrics`]).
async fn metrics(State(state): State<ServerState>) -> Response {
    let body = state
        .metrics()
        .map(|handle| handle.render())
        .unwrap_or_default();
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}

/// `GET /ready`: 200 when every model has at least one healthy replica, else 503;
/// the body lists each model's replicas and names the ones down (see
/// [`readiness`]).
async fn ready(State(state): State<ServerState>) -> Response {
    let (ready, body) = readiness(state.models());
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        ApiErrorKind::NotFound,
        format!(
            "No route for {} {}; the routes are POST /v1/chat/completions, GET /v1/models, GET /v1/models/{{id}}, GET /health, GET /ready and GET /metrics.",
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
