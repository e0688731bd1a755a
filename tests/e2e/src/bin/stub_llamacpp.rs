//! `stub_llamacpp`: a stand-in for llama.cpp's `llama-server` that answers at once, for
//! the load benchmark (`cargo xtask bench`).
//!
//! `POST /completion` answers a fixed chatml continuation (a `send_message` call),
//! `POST /tokenize` a fixed token list, `GET /health` `{"status": "ok"}`. The request
//! body is read in full but not looked at, so the stub costs the same whatever is sent.
//!
//! Usage: `stub_llamacpp --listen 127.0.0.1:PORT`.

use std::process::ExitCode;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The continuation of a chatml prompt: the rest of a `send_message` call.
pub const CANNED_CONTINUATION: &str =
    " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Hi.\", \"message\": \"Hello!\"}\n}";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(address)) => address,
        _ => {
            eprintln!("usage: stub_llamacpp --listen 127.0.0.1:PORT");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("stub_llamacpp: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stub_llamacpp: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: &str) -> std::io::Result<()> {
    let app = Router::new()
        .route("/completion", post(completion))
        .route("/tokenize", post(tokenize))
        .route("/health", get(health));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("stub_llamacpp listening on {listen}");
    axum::serve(listener, app).await
}

async fn completion(_body: axum::body::Bytes) -> Json<Value> {
    Json(json!({
        "content": CANNED_CONTINUATION,
        "tokens_predicted": 24,
        "tokens_evaluated": 512,
        "stop_type": "eos",
        "stopped_eos": true,
        "stopped_word": false,
        "stopped_limit": false,
    }))
}

async fn tokenize(_body: axum::body::Bytes) -> Json<Value> {
    Json(json!({ "tokens": [1, 2, 3, 4, 5, 6, 7, 8] }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
