//! The plugins linked into a build are exactly the ones its features enable, and every
//! registered wrapper comes from one of them.
//!
//! Nothing here lists the plugins: the facade's features come from `cargo metadata`
//! (`workspace-meta`), the enabled ones from [`ENABLED_PLUGINS`], the linked ones from
//! the registrations themselves. `cargo xtask test-all` runs this with all features,
//! with each plugin feature alone and with none, so a forgotten `plugin!` line or a
//! feature that links the wrong crate fails here, and a new plugin needs no edit here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{
    available_wrappers, linked_plugins, wrapper_registry, ENABLED_PLUGINS,
};

#[test]
fn the_linked_plugins_are_exactly_the_enabled_features() {
    let mut enabled: Vec<&str> = ENABLED_PLUGINS.to_vec();
    enabled.sort_unstable();
    assert_eq!(
        linked_plugins(),
        enabled,
        "a plugin registers something exactly when its feature is on"
    );
    let plugins = workspace_meta::plugins().unwrap();
    let features = plugins.features();
    for plugin in ENABLED_PLUGINS {
        assert!(
            features.contains(plugin),
            "`{plugin}` is listed in the facade's plugin! lines but is not one of its features: {features:?}"
        );
    }
    if cfg!(feature = "full") {
        assert_eq!(enabled, features, "`full` enables every plugin feature");
    }
}

#[test]
fn every_wrapper_comes_from_an_enabled_plugin() {
    for name in available_wrappers() {
        let plugin = wrapper_registry().get(name).unwrap().registration.plugin;
        assert!(
            ENABLED_PLUGINS.contains(&plugin),
            "wrapper `{name}` comes from `{plugin}`, which is not enabled: {ENABLED_PLUGINS:?}"
        );
    }
    let wrapper_plugins = ENABLED_PLUGINS
        .iter()
        .filter(|plugin| plugin.starts_with("wrapper-"));
    // A wrapper plugin registers named wrappers, or builds them from the model's own
    // chat template (a chat-template plugin).
    let template_plugins = chat_completion_proxy::chat_template_plugin::chat_template_plugins();
    for plugin in wrapper_plugins {
        assert!(
            template_plugins.contains(plugin)
                || available_wrappers().iter().any(|name| wrapper_registry()
                    .get(name)
                    .unwrap()
                    .registration
                    .plugin
                    == *plugin),
            "`{plugin}` is enabled but registers no wrapper"
        );
    }
}

/// The names users type (SPEC §4), plus the summarizer's: all there in a full build.
#[test]
fn a_full_build_has_every_wrapper_name_of_the_contract() {
    if !cfg!(feature = "full") {
        return;
    }
    let contract = [
        "llama3",
        "llama3-grammar",
        "llama3-hints-grammar",
        "experimental-wrapper-neural-chat-grammar-noforce",
        "chatml",
        "chatml-grammar",
        "chatml-noforce",
        "chatml-noforce-grammar",
        "chatml-noforce-roles",
        "chatml-noforce-roles-grammar",
        "chatml-hints",
        "chatml-hints-grammar",
        "chatml-noforce-hints",
        "chatml-noforce-hints-grammar",
        "airoboros-l2-70b-2.1",
        "airoboros-l2-70b-2.1-grammar",
        "dolphin-2.1-mistral-7b",
        "dolphin-2.1-mistral-7b-grammar",
        "zephyr-7B",
        "zephyr-7B-grammar",
        "simple-summary",
    ];
    let available = available_wrappers();
    for name in contract {
        assert!(available.contains(&name), "{name}: {available:?}");
    }
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

#[test]
fn a_wrapper_file_needs_the_loader_plugin() {
    let result =
        chat_completion_proxy::load_wrapper_file(std::path::Path::new("/nonexistent.toml"));
    let message = result
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    if ENABLED_PLUGINS.contains(&"wrapper-configurable") {
        assert!(message.contains("/nonexistent.toml"), "{message}");
        assert!(
            !message.contains("links no wrapper-file loader"),
            "{message}"
        );
    } else {
        assert!(
            message.contains("links no wrapper-file loader"),
            "{message}"
        );
    }
}
