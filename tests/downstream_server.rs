//! Downstream backends (a wire format and one with its own I/O) and a downstream
//! wrapper, each in one crate that depends on `proxy-core` (the wrapper: `prompt-kit`)
//! only, are registered by linking them and used by the HTTP server like
//! any built-in plugin: nothing in the workspace names them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

// Without a reference the linker drops the crates and their registrations with them.
use downstream_backend as _;
use downstream_wrapper as _;

use chat_completion_proxy::TokenCounting;
use proxy_server::{ModelConfig, ServerConfig, ServerState};
use serde_json::{json, Value};

/// Serves `config` on an ephemeral port: the completions URL, the stop switch and the
/// server task.
async fn start(
    config: &ServerConfig,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let state = ServerState::from_config(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(proxy_server::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    (url, stop, server)
}

#[tokio::test]
async fn the_server_answers_through_a_downstream_backend_and_wrapper() {
    let mut model = ModelConfig::new("echo", downstream_backend::ENDPOINT_TYPE, 4096);
    model.wrapper = Some("downstream-plain".to_owned());
    model.tokenizer = TokenCounting::Cl100k;
    let config = ServerConfig {
        models: vec![model],
        ..ServerConfig::default()
    };
    let (url, stop, server) = start(&config).await;

    let response = reqwest::Client::new()
        .post(&url)
        .json(&json!({
            "model": "echo",
            "messages": [
                {"role": "system", "content": "You are Sam."},
                {"role": "user", "content": "hi"}
            ],
            "tools": [{"type": "function", "function": {"name": "send_message",
                "parameters": {"type": "object", "properties": {"message": {"type": "string"}}}}}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Echoing.", "{body}");
    let call = &message["tool_calls"][0]["function"];
    assert_eq!(call["name"], "send_message", "{body}");
    // The downstream wrapper's prompt: "system: You are Sam.\nuser: hi\nassistant:".
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    let expected = "system: You are Sam.\nuser: hi\nassistant:".len();
    assert_eq!(
        arguments["message"],
        format!("read {expected} bytes"),
        "{body}"
    );
    assert_eq!(body["model"], "echo");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_server_answers_through_a_downstream_wire_format_over_http() {
    let backend = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/generate"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "text": " Sending.\ncall send_message {\"message\": \"hello\"}", "tokens": 9
        })))
        .mount(&backend)
        .await;
    let mut model = ModelConfig::new("json", downstream_backend::JSON_ENDPOINT_TYPE, 4096);
    model.endpoint = Some(backend.uri());
    model.wrapper = Some("downstream-plain".to_owned());
    model.tokenizer = TokenCounting::Cl100k;
    let config = ServerConfig {
        models: vec![model],
        ..ServerConfig::default()
    };
    let (url, stop, server) = start(&config).await;

    let body: Value = reqwest::Client::new()
        .post(&url)
        .json(&json!({
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "send_message",
                "parameters": {"type": "object", "properties": {"message": {"type": "string"}}}}}]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call = &body["choices"][0]["message"]["tool_calls"][0]["function"];
    assert_eq!(call["name"], "send_message", "{body}");
    assert_eq!(body["usage"]["completion_tokens"], 9, "{body}");
    let sent = &backend.received_requests().await.unwrap()[0];
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(sent, json!({"prompt": "user: hi\nassistant:"}));

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
