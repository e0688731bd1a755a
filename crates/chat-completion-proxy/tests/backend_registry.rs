//! Enabled backend features register their endpoint types, with the default endpoint
//! and capabilities SPEC §3 gives; disabled ones register nothing.
//!
//! `cargo xtask test-all` runs this with all features, with each plugin feature alone
//! and with none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::{available_backends, find_backend};

/// (feature, enabled in this build, [(endpoint type, default endpoint, grammar, tokenize)])
type Plugin = (
    &'static str,
    bool,
    &'static [(&'static str, &'static str, bool, bool)],
);

const BACKEND_PLUGINS: &[Plugin] = &[
    (
        "backend-llamacpp",
        cfg!(feature = "backend-llamacpp"),
        &[("llamacpp", "http://localhost:8080", true, true)],
    ),
    (
        "backend-koboldcpp",
        cfg!(feature = "backend-koboldcpp"),
        &[("koboldcpp", "http://localhost:5001", true, true)],
    ),
    (
        "backend-ollama",
        cfg!(feature = "backend-ollama"),
        &[("ollama", "http://localhost:11434", false, false)],
    ),
    (
        "backend-webui",
        cfg!(feature = "backend-webui"),
        &[
            ("webui", "http://localhost:5000", true, false),
            ("webui-legacy", "http://localhost:5000", true, false),
        ],
    ),
    (
        "backend-lmstudio",
        cfg!(feature = "backend-lmstudio"),
        &[
            ("lmstudio", "http://localhost:1234", false, false),
            ("lmstudio-legacy", "http://localhost:1234", false, false),
        ],
    ),
    (
        "backend-vllm",
        cfg!(feature = "backend-vllm"),
        &[("vllm", "http://localhost:8000", false, true)],
    ),
    (
        "backend-groq",
        cfg!(feature = "backend-groq"),
        &[("groq", "https://api.groq.com/openai", false, false)],
    ),
];

#[test]
fn enabled_backend_plugins_are_present_and_disabled_ones_absent() {
    let available = available_backends();
    for (feature, enabled, types) in BACKEND_PLUGINS {
        for (name, ..) in *types {
            assert_eq!(
                available.contains(name),
                *enabled,
                "endpoint type `{name}` of feature `{feature}` (enabled: {enabled}); available: {available:?}"
            );
        }
    }
    let mut expected: Vec<&str> = BACKEND_PLUGINS
        .iter()
        .filter(|(_, enabled, _)| *enabled)
        .flat_map(|(_, _, types)| types.iter().map(|(name, ..)| *name))
        .collect();
    expected.sort_unstable();
    assert_eq!(
        available, expected,
        "no backend beyond the enabled plugins'"
    );
}

#[test]
fn registrations_carry_the_specs_defaults_and_capabilities() {
    let enabled = BACKEND_PLUGINS.iter().filter(|(_, enabled, _)| *enabled);
    for (name, endpoint, grammar, tokenize) in enabled.flat_map(|(_, _, types)| types.iter()) {
        let registered = find_backend(name);
        assert!(registered.is_ok(), "{name}: {registered:?}");
        if let Ok(registered) = registered {
            let registration = registered.registration;
            assert_eq!(registration.name, *name);
            assert_eq!(registration.default_endpoint, *endpoint, "{name}");
            assert_eq!(registration.supports_grammar, *grammar, "{name}");
            assert_eq!(registration.supports_tokenize, *tokenize, "{name}");
            assert!(!registration.description.is_empty(), "{name}");
        }
    }
}

#[test]
fn unknown_endpoint_type_error_lists_the_available_ones() {
    let error = find_backend("openai").err().map(|error| error.to_string());
    let expected = format!(
        "unknown endpoint type `openai`; available: {}",
        available_backends().join(", ")
    );
    assert_eq!(error.as_deref(), Some(expected.as_str()));
}
