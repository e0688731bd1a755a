//! Images through the whole pipeline to koboldcpp's `/api/v1/generate`: the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_koboldcpp as _;
use conformance::images::{jpeg, png, with_images, JPEG, PNG};
use proxy_core::ChatCompletionRequest;
use serde_json::{json, Value};

/// Sends `request` to a mock `koboldcpp` server answering `reply` at `/api/v1/generate`; the bodies it
/// received and the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    conformance::images::send("koboldcpp", "/api/v1/generate", request, reply).await
}

#[tokio::test]
async fn images_go_in_images_and_leave_no_text_in_the_prompt() {
    // Setup
    let request = with_images(&[png(), jpeg()]);

    // Exec
    let (bodies, result) = send(&request, json!({"results": [{"text": "A cat and a dog."}]})).await;

    // Check: koboldcpp puts the images before the prompt itself.
    assert_eq!(result.as_deref(), Ok("A cat and a dog."));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["prompt"],
        json!("system: Look.\nuser: What is in\nand")
    );
    assert_eq!(bodies[0]["images"], json!([PNG, JPEG]));
}

#[tokio::test]
async fn more_images_than_the_server_reads_are_refused() {
    let (bodies, result) = send(
        &with_images(&[png(), png(), png(), png(), png()]),
        json!({"results": [{"text": ""}]}),
    )
    .await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(
        error.contains("hold 5 images; the `koboldcpp` endpoint type takes at most 4"),
        "{error}"
    );
}
