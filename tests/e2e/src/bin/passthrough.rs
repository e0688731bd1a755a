//! `passthrough`: the floor for the load benchmark (`cargo xtask bench`) — a proxy that
//! does only what any HTTP proxy in front of llama.cpp must: read and parse the
//! client's JSON body, POST a JSON body to the backend's `/completion` over one pooled
//! client, parse the reply and answer with JSON. No prompt, no parsing of the model's
//! text. Built like `serve` (axum, reqwest, a multi-thread tokio runtime, mimalloc),
//! so the difference between it and `serve` is the proxy's own work, and the
//! difference between it and the stub alone is the cost of a second HTTP hop.
//!
//! `POST /v1/chat/completions` answers `{"choices": [{"message": {"tool_calls":
//! [{"function": {"name": "send_message"}}]}}]}` when the backend's `content` names
//! `send_message`, else 502. Usage: `passthrough --listen ADDR --backend URL`.

use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Backend {
    client: reqwest::Client,
    completion_url: String,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (listen, backend) = match args.as_slice() {
        [flag_l, listen, flag_b, backend] if flag_l == "--listen" && flag_b == "--backend" => {
            (listen.clone(), backend.trim_end_matches('/').to_owned())
        }
        _ => {
            eprintln!("usage: passthrough --listen 127.0.0.1:PORT --backend http://127.0.0.1:PORT");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("passthrough: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&listen, backend)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("passthrough: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: &str, backend: String) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|error| format!("cannot build the client: {error}"))?;
    let state = Arc::new(Backend {
        client,
        completion_url: format!("{backend}/completion"),
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(forward))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    axum::serve(listener, app)
        .await
        .map_err(|error| error.to_string())
}

async fn forward(
    State(backend): State<Arc<Backend>>,
    Json(request): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let prompt = request["messages"].to_string();
    let reply: Value = backend
        .client
        .post(&backend.completion_url)
        .json(&json!({"prompt": prompt, "n_predict": 256, "stop": ["<|im_end|>"]}))
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?
        .json()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let content = reply["content"].as_str().unwrap_or_default();
    if !content.contains("send_message") {
        return Err(StatusCode::BAD_GATEWAY);
    }
    Ok(Json(json!({
        "choices": [{"message": {"tool_calls": [{"function": {"name": "send_message"}}]}}]
    })))
}
