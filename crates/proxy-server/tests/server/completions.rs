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
