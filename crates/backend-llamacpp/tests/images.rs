//! Images through the whole pipeline to llama.cpp's `/completion`: the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_llamacpp as _;
use conformance::images::{jpeg, png, with_images, JPEG, PNG};
use proxy_core::ChatCompletionRequest;
use serde_json::{json, Value};

/// Sends `request` to a mock `llamacpp` server answering `reply` at `/completion`; the bodies it
/// received and the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    conformance::images::send("llamacpp", "/completion", request, reply).await
}

#[tokio::test]
async fn images_go_in_multimodal_data_with_a_media_marker_in_their_place() {
    // Setup
    let request = with_images(&[png(), jpeg()]);

    // Exec
    let (bodies, result) = send(
        &request,
        json!({"content": "A cat and a dog.", "stop_type": "eos"}),
    )
    .await;

    // Check
    assert_eq!(result.as_deref(), Ok("A cat and a dog."));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["prompt"],
        json!({
            "prompt_string": "system: Look.\nuser: What is in\n<__media__>\nand\n<__media__>",
            "multimodal_data": [PNG, JPEG]
        })
    );
}

#[tokio::test]
async fn text_only_requests_keep_a_plain_prompt() {
    let request: ChatCompletionRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi"}]}]}))
        .unwrap();
    let (bodies, _) = send(&request, json!({"content": "Hello.", "stop_type": "eos"})).await;
    assert_eq!(bodies[0]["prompt"], json!("user: hi"));
}

#[tokio::test]
async fn a_format_the_server_cannot_decode_is_refused_before_anything_is_sent() {
    let webp = "data:image/webp;base64,UklGRhAAAABXRUJQVlA4IA==".to_owned();
    let (bodies, result) = send(&with_images(&[webp]), json!({"content": ""})).await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1].image_url.url` is image/webp")
            && error.contains("`llamacpp`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_media_marker_already_in_the_text_is_refused() {
    let mut request = with_images(&[png()]);
    request.messages[0] =
        proxy_core::ChatMessage::new(proxy_core::Role::System, "Say <__media__>.");
    let (bodies, result) = send(&request, json!({"content": ""})).await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(error.contains("contains `<__media__>`"), "{error}");
}
