//! Images through the whole pipeline to llama.cpp's `/completion`: the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_llamacpp as _;
use conformance::images::{jpeg, png, send_with, with_images, JPEG, PNG};
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
    // Setup: an older server, without `/props` (a 404): the default marker
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
async fn the_marker_the_server_names_in_props_marks_the_images() {
    // Setup: a newer server, started without LLAMA_MEDIA_MARKER, names a random marker.
    let request = with_images(&[png(), jpeg()]);
    let props = json!({"media_marker": "<__media_9f2c41__>", "total_slots": 1});

    // Exec
    let exchange = send_with(
        "llamacpp",
        "/completion",
        &request,
        json!({"content": "Two pets.", "stop_type": "eos"}),
        &[("/props", props)],
    )
    .await;

    // Check
    assert_eq!(exchange.result.as_deref(), Ok("Two pets."));
    assert_eq!(exchange.gets, ["/props"]);
    assert_eq!(
        exchange.bodies[0]["prompt"]["prompt_string"],
        json!("system: Look.\nuser: What is in\n<__media_9f2c41__>\nand\n<__media_9f2c41__>")
    );
    assert_eq!(
        exchange.bodies[0]["prompt"]["multimodal_data"],
        json!([PNG, JPEG])
    );
}

#[tokio::test]
async fn props_without_a_marker_means_the_default_one() {
    let exchange = send_with(
        "llamacpp",
        "/completion",
        &with_images(&[png()]),
        json!({"content": "A cat.", "stop_type": "eos"}),
        &[("/props", json!({"total_slots": 1, "media_marker": ""}))],
    )
    .await;
    assert_eq!(exchange.result.as_deref(), Ok("A cat."));
    assert_eq!(exchange.gets, ["/props"]);
    assert_eq!(
        exchange.bodies[0]["prompt"]["prompt_string"],
        json!("system: Look.\nuser: What is in\n<__media__>")
    );
}

#[tokio::test]
async fn text_only_requests_keep_a_plain_prompt() {
    let request: ChatCompletionRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi"}]}]}))
        .unwrap();
    let exchange = send_with(
        "llamacpp",
        "/completion",
        &request,
        json!({"content": "Hello.", "stop_type": "eos"}),
        &[("/props", json!({"media_marker": "<__m__>"}))],
    )
    .await;
    assert_eq!(exchange.bodies[0]["prompt"], json!("user: hi"));
    assert!(
        exchange.gets.is_empty(),
        "no /props for a text-only request"
    );
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
