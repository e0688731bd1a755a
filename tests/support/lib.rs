//! Shared support for the workspace's cross-crate tests: loading the reference
//! fixtures, which live in the repository (`tests/fixtures/`), so a clone checks them
//! with nothing beside it. `tests/shared_copies.rs` keeps them byte-identical to the
//! project's shared copy (`../shared/fixtures`) where that is present.

// Test support: a broken or missing fixture must fail the test that loads it, loudly.
#![allow(clippy::panic)]

pub mod llamacpp_mock;
pub mod logs;
pub mod pipeline;

use std::path::PathBuf;

use chat_completion_proxy::{ChatMessage, FunctionSchema};
use serde::Deserialize;
use serde_json::Value;

/// The fixture files, as they are named in `tests/fixtures/` and `../shared/fixtures/`.
pub const FIXTURE_FILES: [&str; 2] = ["reference-prompts.json", "reference-parses.json"];

/// The folder holding the reference fixtures: `$CCP_FIXTURES_DIR`, or the repository's
/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("CCP_FIXTURES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
    }
}

/// Reads and parses a fixture file; panics (failing the test) when it is missing or
/// broken: a check whose data is absent has checked nothing.
pub fn load_fixture<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let path = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse fixture {}: {e}", path.display()))
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
