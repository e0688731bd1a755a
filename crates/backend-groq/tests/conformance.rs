//! The shared backend conformance suite, run against `groq`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_groq::GroqBackend;
use conformance::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture {
        backend: Box::new(GroqBackend),
        path: "/v1/chat/completions",
        success_reply: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": "test-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21, "queue_time": 0.01, "total_time": 0.012}
        }),
        success_text: "hello",
        empty_reply: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": "test-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 0, "total_tokens": 20}
        }),
        error_reply: json!({"error": {"message": "The model `x` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}),
        overflow_reply: (
            400,
            json!({"error": {
                "message": "Please reduce the length of the messages or completion.",
                "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"
            }}),
        ),
        max_tokens_fields: &["/max_tokens"],
    }
}

conformance::conformance_suite!(fixture);
conformance::wire_format_suite!(GroqBackend);
