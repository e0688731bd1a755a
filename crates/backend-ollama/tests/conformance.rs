//! The shared backend conformance suite, run against `ollama`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_ollama::OllamaBackend;
use conformance::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture {
        backend: Box::new(OllamaBackend),
        path: "/api/generate",
        success_reply: json!({
            "model": "test-model", "created_at": "2026-01-01T00:00:00Z", "response": "hello",
            "done": true, "done_reason": "stop", "total_duration": 512000000,
            "prompt_eval_count": 21, "eval_count": 2
        }),
        success_text: "hello",
        empty_reply: json!({"model": "test-model", "response": "", "done": true, "done_reason": "stop"}),
        error_reply: json!({"error": "model runner has unexpectedly stopped"}),
        overflow_reply: (
            400,
            json!({"error": "the prompt is longer than the context length currently available to the model"}),
        ),
        max_tokens_fields: &["/options/num_predict"],
    }
}

conformance::conformance_suite!(fixture);
conformance::wire_format_suite!(OllamaBackend);
