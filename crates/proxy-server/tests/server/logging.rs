//! The request span is logged, and no key ever is.

use serde_json::json;

use crate::common::{
    captured_logs, client, config, llamacpp, request, Proxy, API_KEY, BACKEND_KEY, CALL_REPLY,
};

#[tokio::test]
async fn logs_have_the_request_but_never_a_key() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let wrong = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth("sk-wrong-key-5e6f")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    proxy.stop().await.unwrap();

    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains(&request_id) && line.contains("request finished"))
        .unwrap_or_else(|| panic!("no log line for {request_id}:\n{logs}"));
    for field in [
        "model=local",
        "endpoint_type=llamacpp",
        "wrapper=chatml",
        "prompt_tokens=40",
        "completion_tokens=12",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
    for secret in [API_KEY, BACKEND_KEY, "sk-wrong-key-5e6f"] {
        assert!(!logs.contains(secret), "{secret} was logged");
    }
}
