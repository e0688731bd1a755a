//! The shared backend conformance suite, run against `koboldcpp`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_koboldcpp::KoboldCppBackend;
use conformance::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture {
        backend: Box::new(KoboldCppBackend),
        path: "/api/v1/generate",
        success_reply: json!({"results": [{"text": "hello", "finish_reason": "stop"}]}),
        success_text: "hello",
        empty_reply: json!({"results": [{"text": "", "finish_reason": "stop"}]}),
        error_reply: json!({"error": "Unexpected endpoint or method."}),
        // koboldcpp itself truncates an oversized prompt instead of refusing it; this
        // checks that a refusal in its error shape would still be recognised.
        overflow_reply: (
            500,
            json!({"detail": {"msg": "Prompt is longer than the context length.", "type": "bad_input"}}),
        ),
        max_tokens_fields: &["/max_length"],
    }
}

conformance::conformance_suite!(fixture);
conformance::wire_format_suite!(KoboldCppBackend);
