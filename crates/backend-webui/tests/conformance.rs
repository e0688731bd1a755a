//! The shared backend conformance suite, run against `webui` and `webui-legacy`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_webui::{WebUiBackend, WebUiLegacyBackend};
use conformance::Fixture;
use serde_json::json;

fn webui_fixture() -> Fixture {
    Fixture {
        backend: Box::new(WebUiBackend),
        path: "/v1/completions",
        success_reply: json!({
            "id": "cmpl-1700000000123456789", "object": "text_completion", "created": 1700000000,
            "model": "Mistral-7B", "system_fingerprint": null,
            "choices": [{"index": 0, "finish_reason": "stop", "text": "hello", "logprobs": null}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}
        }),
        success_text: "hello",
        empty_reply: json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1700000000, "model": "Mistral-7B",
            "choices": [{"index": 0, "finish_reason": "stop", "text": "", "logprobs": null}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9}
        }),
        error_reply: json!({"error": {"message": "No model is loaded", "type": "server_error", "param": null, "code": null}}),
        // webui truncates on overflow with its own loaders; a llama.cpp-backed refusal
        // passed through in the OpenAI error shape must still be recognised.
        overflow_reply: (
            400,
            json!({"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error", "param": null, "code": null}}),
        ),
        max_tokens_fields: &["/max_tokens", "/max_new_tokens"],
    }
}

fn legacy_fixture() -> Fixture {
    Fixture {
        backend: Box::new(WebUiLegacyBackend),
        path: "/api/v1/generate",
        success_reply: json!({"results": [{"text": "hello"}]}),
        success_text: "hello",
        empty_reply: json!({"results": [{"text": ""}]}),
        error_reply: json!({"error": "Generation failed"}),
        overflow_reply: (
            500,
            json!({"error": "Prompt exceeds the maximum context length"}),
        ),
        max_tokens_fields: &["/max_new_tokens"],
    }
}

conformance::conformance_suite!(webui_suite, webui_fixture);
conformance::conformance_suite!(webui_legacy_suite, legacy_fixture);
conformance::wire_format_suite!(webui_wire_format, WebUiBackend);
conformance::wire_format_suite!(webui_legacy_wire_format, WebUiLegacyBackend);
