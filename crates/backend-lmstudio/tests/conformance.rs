//! The shared backend conformance suite, run against `lmstudio` and `lmstudio-legacy`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_lmstudio::{LmStudioBackend, LmStudioLegacyBackend};
use conformance::Fixture;
use serde_json::json;

/// LM Studio's overflow refusal, as seen by OpenAI clients.
fn overflow_reply() -> (u16, serde_json::Value) {
    (
        400,
        json!({"error": "Context length exceeded. Tokens in context: 8000, Context length: 8000"}),
    )
}

fn lmstudio_fixture() -> Fixture {
    Fixture {
        backend: Box::new(LmStudioBackend),
        path: "/v1/completions",
        success_reply: json!({
            "id": "cmpl-x", "object": "text_completion", "created": 1731990488, "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "text": "hello", "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
        }),
        success_text: "hello",
        empty_reply: json!({
            "id": "cmpl-x", "object": "text_completion", "created": 1731990488, "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "text": "", "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}
        }),
        error_reply: json!({"error": "Unexpected endpoint or method. (POST /v1/completions)"}),
        overflow_reply: overflow_reply(),
        max_tokens_fields: &["/max_tokens"],
    }
}

fn legacy_fixture() -> Fixture {
    Fixture {
        backend: Box::new(LmStudioLegacyBackend),
        path: "/v1/chat/completions",
        success_reply: json!({
            "id": "chatcmpl-x", "object": "chat.completion", "created": 1731990488, "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
        }),
        success_text: "hello",
        empty_reply: json!({
            "id": "chatcmpl-x", "object": "chat.completion", "created": 1731990488, "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}
        }),
        error_reply: json!({"error": "Unexpected endpoint or method. (POST /v1/chat/completions)"}),
        overflow_reply: overflow_reply(),
        max_tokens_fields: &["/max_tokens"],
    }
}

conformance::conformance_suite!(lmstudio_suite, lmstudio_fixture);
conformance::conformance_suite!(lmstudio_legacy_suite, legacy_fixture);
conformance::wire_format_suite!(lmstudio_wire_format, LmStudioBackend);
conformance::wire_format_suite!(lmstudio_legacy_wire_format, LmStudioLegacyBackend);
