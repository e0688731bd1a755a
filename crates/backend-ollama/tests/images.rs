//! Images through the whole pipeline to ollama's `/api/generate` (raw mode): the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_ollama as _;
use conformance::images::{jpeg, png, with_images, JPEG, PNG};
use proxy_core::ChatCompletionRequest;
use serde_json::{json, Value};

/// Sends `request` to a mock `ollama` server answering `reply` at `/api/generate`; the bodies it
/// received and the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    conformance::images::send("ollama", "/api/generate", request, reply).await
}

#[tokio::test]
async fn images_go_in_images_with_numbered_tags_in_the_raw_prompt() {
    // Setup
    let request = with_images(&[png(), jpeg()]);

    // Exec
    let (bodies, result) = send(
        &request,
        json!({"response": "A cat and a dog.", "done": true}),
    )
    .await;

    // Check
    assert_eq!(result.as_deref(), Ok("A cat and a dog."));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["prompt"],
        json!("system: Look.\nuser: What is in\n[img-0]\nand\n[img-1]")
    );
    assert_eq!(bodies[0]["images"], json!([PNG, JPEG]));
    assert_eq!(bodies[0]["raw"], json!(true));
    assert_eq!(bodies[0]["model"], json!("vision-model"));
}

#[tokio::test]
async fn text_only_requests_carry_no_images_field() {
    let request: ChatCompletionRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let (bodies, _) = send(&request, json!({"response": "Hello.", "done": true})).await;
    assert_eq!(bodies[0].get("images"), None);
}

#[tokio::test]
async fn a_remote_url_is_refused_naming_the_field() {
    let (bodies, result) = send(
        &with_images(&["https://example.com/cat.png".to_owned()]),
        json!({"response": "", "done": true}),
    )
    .await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1].image_url.url` is a remote URL")
            && error.contains("does not download images"),
        "{error}"
    );
}
