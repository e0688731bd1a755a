//! A backend's default token limit (sent when the request has no `max_tokens` /
//! `max_completion_tokens`) fits the room the context window leaves after the
//! prompt, through the whole pipeline: vLLM's fixed 3000 and Groq's and LM Studio's
//! "the context window" are clamped as a caller's limit is, the prompt counted when
//! the clamp needs it. Each backend is a wiremock server speaking its wire format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::tokens::count_tokens;
use chat_completion_proxy::{ChatCompletionRequest, ModelTarget, ProxyClient};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The window every target here declares.
const WINDOW: u64 = 4096;

/// A plain chat request whose user message is `user_bytes` bytes long.
fn request(user_bytes: usize) -> ChatCompletionRequest {
    serde_json::from_value(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "lorem ipsum ".repeat(user_bytes / 12)}
        ]
    }))
    .unwrap()
}

fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

fn target(server: &MockServer, endpoint_type: &str) -> ModelTarget {
    let mut target = ModelTarget::new(endpoint_type, server.uri(), WINDOW);
    target.model = Some("m".into());
    target
}

/// The bodies the server received on `route`.
async fn bodies(server: &MockServer, route: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == route)
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

fn text_completion_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": "m",
        "choices": [{"index": 0, "text": "Hi.", "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    }))
}

fn chat_completion_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1750000000, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."},
                     "finish_reason": "stop", "logprobs": null}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    }))
}

/// A vLLM server whose `/tokenize` counts every prompt as `prompt_tokens`; the
/// `/tokenize` mock expects `tokenize_calls` calls.
async fn vllm(prompt_tokens: u64, tokenize_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": prompt_tokens})))
        .expect(tokenize_calls)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(text_completion_reply())
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn vllm_gets_its_default_3000_when_the_prompt_surely_leaves_room() {
    // A ~100-byte prompt leaves room for 3000 whatever its tokens: not counted.
    let server = vllm(0, 0).await;
    client()
        .get_chat_completion(&target(&server, "vllm").resolve().unwrap(), &request(24))
        .await
        .unwrap();
    let sent = bodies(&server, "/v1/completions").await;
    assert_eq!(sent[0]["max_tokens"], 3000, "{}", sent[0]);
}

#[tokio::test]
async fn vllm_default_is_lowered_to_the_room_after_the_counted_prompt() {
    // ~3,600 bytes might be 3,600 tokens: too many for 3000 more in 4096, so the
    // prompt is counted by the server (1,500 tokens) and the limit is the room.
    let server = vllm(1500, 1).await;
    client()
        .get_chat_completion(&target(&server, "vllm").resolve().unwrap(), &request(3600))
        .await
        .unwrap();
    let sent = bodies(&server, "/v1/completions").await;
    assert_eq!(sent[0]["max_tokens"], WINDOW - 1500, "{}", sent[0]);
}

#[tokio::test]
async fn vllm_streamed_default_is_clamped_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 2000})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"Hi.\",\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
            "text/event-stream",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let target = target(&server, "vllm").resolve().unwrap();
    let mut stream = client()
        .stream_chat_completion(&target, &request(3600))
        .await
        .unwrap();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        chunk.unwrap();
    }
    let sent = bodies(&server, "/v1/completions").await;
    assert_eq!(sent[0]["max_tokens"], WINDOW - 2000, "{}", sent[0]);
    assert_eq!(sent[0]["stream"], true);
}

/// Sends a long request through `endpoint_type` (a server without a tokenizer, so
/// the prompt is counted with cl100k_base) and returns the body sent to `route`.
async fn body_without_a_tokenizer(
    endpoint_type: &str,
    route: &str,
    reply: ResponseTemplate,
) -> Value {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(reply)
        .expect(1)
        .mount(&server)
        .await;
    client()
        .get_chat_completion(
            &target(&server, endpoint_type).resolve().unwrap(),
            &request(6000),
        )
        .await
        .unwrap();
    bodies(&server, route).await.remove(0)
}

#[tokio::test]
async fn groq_default_is_the_room_after_the_prompt() {
    let sent =
        body_without_a_tokenizer("groq", "/v1/chat/completions", chat_completion_reply()).await;
    let prompt = sent["messages"][0]["content"].as_str().unwrap();
    let prompt_tokens = count_tokens(prompt);
    assert!(prompt_tokens > 1000, "a long prompt: {prompt_tokens}");
    assert_eq!(sent["max_tokens"], WINDOW - prompt_tokens, "{sent}");
}

#[tokio::test]
async fn lmstudio_default_is_the_room_after_the_prompt() {
    let sent =
        body_without_a_tokenizer("lmstudio", "/v1/completions", text_completion_reply()).await;
    let prompt_tokens = count_tokens(sent["prompt"].as_str().unwrap());
    assert!(prompt_tokens > 1000, "a long prompt: {prompt_tokens}");
    assert_eq!(sent["max_tokens"], WINDOW - prompt_tokens, "{sent}");
}

#[tokio::test]
async fn lmstudio_legacy_default_is_the_room_after_the_prompt() {
    let sent = body_without_a_tokenizer(
        "lmstudio-legacy",
        "/v1/chat/completions",
        chat_completion_reply(),
    )
    .await;
    let prompt_tokens = count_tokens(sent["messages"][0]["content"].as_str().unwrap());
    assert!(prompt_tokens > 1000, "a long prompt: {prompt_tokens}");
    assert_eq!(sent["max_tokens"], WINDOW - prompt_tokens, "{sent}");
}

#[tokio::test]
async fn a_callers_limit_still_wins_over_the_default() {
    let server = vllm(0, 0).await;
    let mut limited = request(24);
    limited.max_completion_tokens = Some(50);
    client()
        .get_chat_completion(&target(&server, "vllm").resolve().unwrap(), &limited)
        .await
        .unwrap();
    let sent = bodies(&server, "/v1/completions").await;
    assert_eq!(sent[0]["max_tokens"], 50, "{}", sent[0]);
}
