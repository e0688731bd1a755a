//! Successful completions: tools → `tool_calls`, legacy `functions` → `function_call`.

use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer};

use crate::common::{
    assert_send_message_call, completion_reply, config, request, Proxy, API_KEY, CALL_REPLY,
};

#[tokio::test]
async fn tools_get_tool_calls_and_the_timing_headers() {
    // Setup: the backend must see the backend key and the request's temperature.
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .and(header("authorization", "Bearer backend-secret-d41d8cd9"))
        .and(body_partial_json(json!({"temperature": 0.25})))
        .respond_with(completion_reply(CALL_REPLY))
        .expect(1)
        .mount(&backend)
        .await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    body["temperature"] = json!(0.25);

    // Exec
    let response = proxy.chat(&body).await;

    // Check
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(request_id.starts_with("req_"), "{request_id}");
    let overhead: f64 = response.headers()["x-proxy-overhead-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(overhead >= 0.0);
    let completion: Value = response.json().await.unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "local");
    let choice = &completion["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Say hi.");
    assert_send_message_call(&choice["message"]["tool_calls"][0]);
    assert!(choice["message"].get("function_call").is_none());
    // OpenAI's shape: these are present, and null or a string.
    assert!(
        choice.get("logprobs").is_some_and(Value::is_null),
        "{choice}"
    );
    assert!(
        choice["message"].get("refusal").is_some_and(Value::is_null),
        "{choice}"
    );
    assert_eq!(
        completion["system_fingerprint"],
        proxy_core::orchestrator::SYSTEM_FINGERPRINT
    );
    assert_eq!(
        completion["usage"],
        json!({"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52})
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn legacy_functions_get_function_call_and_the_model_may_be_left_out() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(true);
    body.as_object_mut().unwrap().remove("model");

    let response = proxy.chat(&body).await;

    assert_eq!(response.status(), 200);
    let completion: Value = response.json().await.unwrap();
    assert_eq!(completion["model"], "local", "the only model is used");
    let choice = &completion["choices"][0];
    assert_eq!(choice["finish_reason"], "function_call");
    assert_eq!(choice["message"]["function_call"]["name"], "send_message");
    assert!(
        choice["message"].get("tool_calls").is_none(),
        "OpenAI answers a functions caller with function_call alone: {choice}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn the_unversioned_path_serves_too() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let response = proxy
        .post("/chat/completions", Some(API_KEY), &request(false))
        .await;

    assert_eq!(response.status(), 200);
    proxy.stop().await.unwrap();
}

/// The body the fake llama.cpp server received.
async fn received_body(backend: &MockServer) -> Value {
    let requests = backend.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    serde_json::from_slice(&requests[0].body).unwrap()
}

#[tokio::test]
async fn max_completion_tokens_is_n_predict_and_wins_over_max_tokens() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    body["max_tokens"] = json!(100);
    body["max_completion_tokens"] = json!(64);

    let response = proxy.chat(&body).await;

    assert_eq!(response.status(), 200);
    assert_eq!(received_body(&backend).await["n_predict"], 64);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_huge_max_tokens_is_clamped_to_the_room_after_the_prompt() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    body["max_tokens"] = json!(1_000_000_000_000_u64);

    let response = proxy.chat(&body).await;

    assert_eq!(response.status(), 200);
    let sent = received_body(&backend).await;
    // The test model counts with cl100k_base and has a 2048-token window.
    let prompt_tokens = proxy_core::tokens::count_tokens(sent["prompt"].as_str().unwrap());
    assert_eq!(sent["n_predict"], 2048 - prompt_tokens, "{sent}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn fields_that_change_nothing_are_accepted() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    for (field, value) in [
        ("store", json!(false)),
        ("metadata", json!({"run": "1"})),
        ("user", json!("user-1")),
        ("service_tier", json!("auto")),
        ("stream_options", json!(null)),
        ("n", json!(1)),
        ("logprobs", json!(false)),
        ("logit_bias", json!({})),
        ("modalities", json!(["text"])),
        ("parallel_tool_calls", json!(true)),
        ("function_correction", json!(true)),
    ] {
        body[field] = value;
    }

    let response = proxy.chat(&body).await;

    assert_eq!(response.status(), 200);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn fields_this_proxy_cannot_honour_are_400s_naming_the_field() {
    let backend = crate::common::llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    for (field, value) in [
        ("logprobs", json!(true)),
        ("top_logprobs", json!(2)),
        ("logit_bias", json!({"1": 5})),
        ("audio", json!({"voice": "alloy", "format": "mp3"})),
        ("modalities", json!(["text", "audio"])),
        ("prediction", json!({"type": "content", "content": "x"})),
        ("web_search_options", json!({})),
        ("reasoning_effort", json!("high")),
        ("n", json!(9)),
        ("n", json!("five")),
        ("max_completion_tokens", json!(0)),
        ("frobnicate", json!(true)),
    ] {
        let mut body = request(false);
        body[field] = value.clone();

        let response = proxy.chat(&body).await;

        let error = crate::common::error_of(response, 400).await;
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(field) || error["param"] == field,
            "`{field}: {value}`: {error}"
        );
    }
    assert!(
        backend.received_requests().await.unwrap().is_empty(),
        "nothing was sent to the backend"
    );
    proxy.stop().await.unwrap();
}
