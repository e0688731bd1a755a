//! Enabled plugin features register their names; disabled ones register nothing.
//!
//! `cargo xtask test-all` runs this with all features, with each plugin feature alone
//! and with none, so a forgotten `use … as _;` line or a feature that links the wrong
//! crate fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::available_wrappers;

/// (feature, enabled in this build, names the plugin registers)
const WRAPPER_PLUGINS: &[(&str, bool, &[&str])] = &[
    (
        "wrapper-chatml",
        cfg!(feature = "wrapper-chatml"),
        &[
            "chatml",
            "chatml-grammar",
            "chatml-hints",
            "chatml-hints-grammar",
            "chatml-noforce",
            "chatml-noforce-grammar",
            "chatml-noforce-hints",
            "chatml-noforce-hints-grammar",
            "chatml-noforce-roles",
            "chatml-noforce-roles-grammar",
        ],
    ),
    (
        "wrapper-llama3",
        cfg!(feature = "wrapper-llama3"),
        &["llama3", "llama3-grammar", "llama3-hints-grammar"],
    ),
    (
        "wrapper-airoboros",
        cfg!(feature = "wrapper-airoboros"),
        &["airoboros-l2-70b-2.1", "airoboros-l2-70b-2.1-grammar"],
    ),
    (
        "wrapper-dolphin",
        cfg!(feature = "wrapper-dolphin"),
        &["dolphin-2.1-mistral-7b", "dolphin-2.1-mistral-7b-grammar"],
    ),
    (
        "wrapper-zephyr",
        cfg!(feature = "wrapper-zephyr"),
        &["zephyr-7B", "zephyr-7B-grammar"],
    ),
    (
        "wrapper-configurable",
        cfg!(feature = "wrapper-configurable"),
        &["experimental-wrapper-neural-chat-grammar-noforce"],
    ),
    (
        "wrapper-summary",
        cfg!(feature = "wrapper-summary"),
        &["simple-summary"],
    ),
];

#[test]
fn enabled_wrapper_plugins_are_present_and_disabled_ones_absent() {
    let available = available_wrappers();
    for (feature, enabled, names) in WRAPPER_PLUGINS {
        for name in *names {
            assert_eq!(
                available.contains(name),
                *enabled,
                "wrapper `{name}` of feature `{feature}` (enabled: {enabled}); available: {available:?}"
            );
        }
    }
    let mut expected: Vec<&str> = WRAPPER_PLUGINS
        .iter()
        .filter(|(_, enabled, _)| *enabled)
        .flat_map(|(_, _, names)| names.iter().copied())
        .collect();
    expected.sort_unstable();
    assert_eq!(
        available, expected,
        "no wrapper beyond the enabled plugins'"
    );
}

#[test]
fn unknown_wrapper_error_lists_the_available_ones() {
    let error = chat_completion_proxy::find_wrapper("no-such-wrapper")
        .err()
        .map(|error| error.to_string());
    let expected = format!(
        "unknown wrapper `no-such-wrapper`; available: {}",
        available_wrappers().join(", ")
    );
    assert_eq!(error.as_deref(), Some(expected.as_str()));
}
