//! The shared backend conformance suite, run against `vllm`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_vllm::VllmBackend;
use conformance::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture {
        backend: Box::new(VllmBackend),
        path: "/v1/completions",
        success_reply: json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": "test-model",
            "choices": [{"index": 0, "text": "hello", "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
            "usage": {"prompt_tokens": 12, "total_tokens": 13, "completion_tokens": 1}
        }),
        success_text: "hello",
        empty_reply: json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": "test-model",
            "choices": [{"index": 0, "text": "", "logprobs": null, "finish_reason": "stop", "stop_reason": "\nUSER"}],
            "usage": {"prompt_tokens": 12, "total_tokens": 12, "completion_tokens": 0}
        }),
        // vLLM before 0.10.1: the flat error shape.
        error_reply: json!({"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "param": null, "code": 404}),
        overflow_reply: (
            400,
            json!({"error": {
                "message": "This model's maximum context length is 8192 tokens. However, your request has 9000 input tokens. Please reduce the length of the input messages.",
                "type": "BadRequestError", "param": null, "code": 400
            }}),
        ),
        max_tokens_fields: &["/max_tokens"],
    }
}

conformance::conformance_suite!(fixture);
conformance::wire_format_suite!(VllmBackend);
