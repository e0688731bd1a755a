//! Images to vLLM's `/v1/completions`, which takes none: a request with an image part is
//! refused before anything is sent, naming the part and the endpoint type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_vllm as _;
use conformance::images::{jpeg, png, with_images};
use proxy_core::ChatCompletionRequest;
use serde_json::{json, Value};

/// Sends `request` to a mock `vllm` server answering `reply` at `/v1/completions`; the bodies it
/// received and the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    conformance::images::send("vllm", "/v1/completions", request, reply).await
}

#[tokio::test]
async fn an_image_is_refused_naming_the_part_and_the_endpoint_type() {
    let (bodies, result) = send(
        &with_images(&[png(), jpeg()]),
        json!({"choices": [{"text": "", "finish_reason": "stop"}]}),
    )
    .await;
    assert!(bodies.is_empty(), "nothing is sent");
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1]` is an image")
            && error.contains("the `vllm` endpoint type cannot take images"),
        "{error}"
    );
}
