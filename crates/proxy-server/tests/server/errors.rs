//! Every error answer is an OpenAI envelope with the right status and code.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{
    client, config, error_of, llamacpp, request, slow_llamacpp, Proxy, API_KEY, CALL_REPLY,
};

/// POSTs raw bytes with the test key.
async fn post_raw(proxy: &Proxy, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bodies_that_are_not_requests_are_400s_and_large_ones_413() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let error = error_of(post_raw(&proxy, "{\"messages\": [").await, 400).await;
    assert_eq!(error["code"], "invalid_json");
    assert_eq!(error["type"], "invalid_request_error");

    let error = error_of(post_raw(&proxy, r#"{"messages": "hello"}"#).await, 400).await;
    assert_eq!(error["param"], "messages");
    assert!(error["message"].as_str().unwrap().contains("invalid type"));

    let mut wrong = request(false);
    wrong["max_tokens"] = json!("many");
    let error = error_of(post_raw(&proxy, wrong.to_string()).await, 400).await;
    assert_eq!(error["param"], "max_tokens");

    // Over the default 4 MiB limit.
    let large = format!(r#"{{"messages": [], "pad": "{}"}}"#, "x".repeat(5 << 20));
    let error = error_of(post_raw(&proxy, large).await, 413).await;
    assert_eq!(error["code"], "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains("4194304"));

    // The connection survives all of this: a good request still works.
    assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn missing_or_wrong_keys_are_401s_that_do_not_echo_the_key() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let missing = proxy
        .post("/v1/chat/completions", None, &request(false))
        .await;
    let error = error_of(missing, 401).await;
    assert_eq!(error["type"], "authentication_error");
    assert_eq!(error["code"], "invalid_api_key");

    let wrong = proxy
        .post(
            "/v1/chat/completions",
            Some("sk-wrong-0000"),
            &request(false),
        )
        .await;
    let error = error_of(wrong, 401).await;
    assert_eq!(error["code"], "invalid_api_key");
    assert!(!error.to_string().contains("sk-wrong-0000"));

    let models = client()
        .get(format!("{}/v1/models", proxy.url))
        .send()
        .await
        .unwrap();
    error_of(models, 401).await;
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_models_paths_and_methods() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = config(&backend.uri());
    let mut second = server_config.models[0].clone();
    second.name = "big".into();
    server_config.models.push(second);
    let mut proxy = Proxy::start(server_config).await;

    let mut body = request(false);
    body["model"] = json!("gpt-4");
    let error = error_of(proxy.chat(&body).await, 404).await;
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["param"], "model");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("gpt-4") && message.contains("local, big"),
        "{message}"
    );

    body.as_object_mut().unwrap().remove("model");
    let error = error_of(proxy.chat(&body).await, 400).await;
    assert_eq!(error["param"], "model");

    let error = error_of(
        client()
            .get(format!("{}/v2/nothing", proxy.url))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(error["code"], "not_found");

    let error = error_of(
        client()
            .get(format!("{}/v1/chat/completions", proxy.url))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    assert_eq!(error["code"], "method_not_allowed");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn pipeline_refusals_are_400s() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = config(&backend.uri());
    server_config.models[0].context_window = 20;
    let mut proxy = Proxy::start(server_config).await;

    let error = error_of(proxy.chat(&request(false)).await, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert_eq!(error["type"], "invalid_request_error");

    let mut body = request(false);
    body["tool_choice"] = json!("required");
    let error = error_of(proxy.chat(&body).await, 400).await;
    assert_eq!(error["code"], "invalid_request");
    assert!(error["message"].as_str().unwrap().contains("tool_choice"));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn backend_down_is_a_502() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut proxy = Proxy::start(config(&format!("http://127.0.0.1:{port}"))).await;

    let error = error_of(proxy.chat(&request(false)).await, 502).await;

    assert_eq!(error["code"], "connection_error");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("Unable to connect"));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn unparseable_model_output_is_a_502_carrying_the_text() {
    let backend = llamacpp("I refuse to answer in JSON, sorry").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let error = error_of(proxy.chat(&request(false)).await, 502).await;

    assert_eq!(error["code"], "output_parsing_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("I refuse to answer in JSON, sorry"),
        "{message}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_slow_backend_is_a_504_after_the_model_timeout() {
    let backend = slow_llamacpp(Duration::from_secs(3)).await;
    let mut server_config = config(&backend.uri());
    server_config.models[0].timeout_secs = Some(1.0);
    let mut proxy = Proxy::start(server_config).await;

    let started = std::time::Instant::now();
    let error: Value = error_of(proxy.chat(&request(false)).await, 504).await;

    assert_eq!(error["code"], "timeout");
    assert!(started.elapsed() < Duration::from_millis(2900));
    proxy.stop().await.unwrap();
}
