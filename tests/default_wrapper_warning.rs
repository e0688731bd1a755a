//! The default wrapper is `chatml`, and choosing it without a name warns exactly once
//! per process (its own test binary, so no other test can trigger the warning first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{choose_wrapper, ChatMessage, Role, DEFAULT_WRAPPER};
use workspace_tests::logs::capture_logs;

#[test]
fn no_wrapper_means_chatml_with_one_warning_per_process() {
    let captured = capture_logs();

    let messages = [ChatMessage::new(Role::System, "You are MemGPT.")];
    for _ in 0..3 {
        let chosen = choose_wrapper(&messages, None).unwrap();
        assert_eq!(chosen.name, DEFAULT_WRAPPER);
        assert_eq!(chosen.name, "chatml");
    }
    let named = choose_wrapper(&messages, Some("llama3")).unwrap();
    assert_eq!(named.name, "llama3");

    let logs = captured.text();
    assert_eq!(
        logs.matches("no wrapper specified").count(),
        1,
        "logs were: {logs}"
    );
    assert!(logs.contains("WARN"), "{logs}");
}
