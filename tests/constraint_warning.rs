//! A target with no output constraint warns once, at start-up (its own test binary: a
//! `tracing` callsite another test hits first on another thread may not reach this
//! test's thread-local subscriber).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use workspace_tests::logs::capture_logs;
use workspace_tests::pipeline::{client, configured_target, openai_server, tools_request};

/// A target with no constraint says so once, when it is resolved, and its requests
/// say nothing more at the default level: the answers are checked after the call.
#[tokio::test]
async fn a_grammar_wrapper_with_no_constraint_is_logged_once_at_start_up() {
    let captured = capture_logs();

    let server = openai_server("/v1/chat/completions", true).await;
    let target = configured_target(&server, "groq", "chatml-grammar", |_| {});
    for _ in 0..2 {
        let response = client()
            .get_chat_completion(&target, &tools_request())
            .await
            .unwrap();
        assert!(response.choices[0].message.tool_calls.is_some());
    }

    let logs = captured.text();
    assert_eq!(
        logs.matches("is sent no output constraint").count(),
        1,
        "logs were: {logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("asked for again"),
        "{logs}"
    );
}
