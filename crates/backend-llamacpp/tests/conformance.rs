//! The shared backend conformance suite, run against `llamacpp`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_llamacpp::LlamaCppBackend;
use conformance::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture {
        backend: Box::new(LlamaCppBackend),
        path: "/completion",
        success_reply: json!({
            "index": 0, "content": "hello", "tokens": [], "id_slot": 0, "stop": true,
            "tokens_predicted": 2, "tokens_evaluated": 14, "tokens_cached": 0,
            "truncated": false, "stop_type": "eos", "stopping_word": ""
        }),
        success_text: "hello",
        empty_reply: json!({"content": "", "stop": true, "stop_type": "eos", "tokens_predicted": 0}),
        error_reply: json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}),
        overflow_reply: (
            400,
            json!({"error": {
                "code": 400,
                "message": "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it",
                "type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 8192
            }}),
        ),
        max_tokens_fields: &["/n_predict"],
    }
}

conformance::conformance_suite!(fixture);
conformance::wire_format_suite!(LlamaCppBackend);
