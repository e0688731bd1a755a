//! The default wrapper is `chatml`, and choosing it without a name warns exactly once
//! per process (its own test binary, so no other test can trigger the warning first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::io::Write;
use std::sync::{Arc, Mutex};

use chat_completion_proxy::{choose_wrapper, ChatMessage, Role, DEFAULT_WRAPPER};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_wrapper_means_chatml_with_one_warning_per_process() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let messages = [ChatMessage::new(Role::System, "You are MemGPT.")];
    for _ in 0..3 {
        let chosen = choose_wrapper(&messages, None).unwrap();
        assert_eq!(chosen.name, DEFAULT_WRAPPER);
        assert_eq!(chosen.name, "chatml");
    }
    let named = choose_wrapper(&messages, Some("llama3")).unwrap();
    assert_eq!(named.name, "llama3");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logs.matches("no wrapper specified").count(),
        1,
        "logs were: {logs}"
    );
    assert!(logs.contains("WARN"), "{logs}");
}
