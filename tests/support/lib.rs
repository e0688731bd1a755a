//! Shared support for the workspace's cross-crate tests: loading the reference
//! fixtures from `../shared/fixtures`.

// Test support: a broken fixture must fail the test that loads it, loudly.
#![allow(clippy::panic)]

use std::path::PathBuf;

use chat_completion_proxy::{ChatMessage, FunctionSchema};
use serde::Deserialize;
use serde_json::Value;

/// The folder holding the reference fixtures: `$CCP_FIXTURES_DIR`, or `../shared/fixtures`
/// beside the workspace.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("CCP_FIXTURES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"),
    }
}

/// Reads and parses a fixture file; `None` (with a message saying why the checks are
/// skipped) when the fixtures folder is absent.
pub fn load_fixture<T: for<'de> Deserialize<'de>>(file: &str) -> Option<T> {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: fixtures folder {} is absent (set CCP_FIXTURES_DIR to check the reference fixtures)",
            dir.display()
        );
        return None;
    }
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("cannot parse fixture {}: {e}", path.display())),
    )
}

/// `reference-prompts.json`.
#[derive(Debug, Deserialize)]
pub struct PromptFixtures {
    /// Cases for the MemGPT-style wrappers.
    pub prompts: Vec<PromptCase>,
    /// Cases for the summary wrapper.
    pub summary_prompts: Vec<PromptCase>,
}

/// One rendering case.
#[derive(Debug, Deserialize)]
pub struct PromptCase {
    /// The conversation's name (`first_turn`, `unicode`, ...).
    pub case: String,
    /// The wrapper's registered name.
    pub wrapper: String,
    /// The `first_message` hint.
    #[serde(default)]
    pub first_message: bool,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// The functions offered.
    #[serde(default)]
    pub functions: Option<Vec<FunctionSchema>>,
    /// The reference's prompt, byte for byte.
    pub expected_prompt: String,
}

/// `reference-parses.json`.
#[derive(Debug, Deserialize)]
pub struct ParseFixtures {
    /// The parse cases.
    pub parses: Vec<ParseCase>,
}

/// One parsing case.
#[derive(Debug, Deserialize)]
pub struct ParseCase {
    /// The wrapper's registered name.
    pub wrapper: String,
    /// The `first_message` hint.
    #[serde(default)]
    pub first_message: bool,
    /// How the clean output was damaged.
    pub mutation: String,
    /// The model's text.
    pub raw_output: String,
    /// The reference's message (`role`, `content`, `function_call`).
    pub expected_message: Value,
}

/// A short label for a failing case.
pub fn label(parts: &[&str]) -> String {
    parts.join(" / ")
}
