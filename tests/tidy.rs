//! Tidy checks (rust-analyzer's idea): every plugin crate under `crates/` is wired up
//! everywhere a plugin must be, so adding one cannot silently half-happen.
//!
//! A plugin crate `crates/wrapper-x`, `crates/backend-x` or `crates/grammar-x` must
//! have: a feature of the same name in the facade (its optional dependency), listed in
//! `full`, a `"x-name" => x_name` line in the facade's `plugins!` list, and a mention in
//! the README and ARCHITECTURE.md. The plugin list comes from `cargo metadata`
//! (`workspace-meta`); nothing here names a plugin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use workspace_meta::{plugins, workspace_root};

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn there_are_plugin_crates() {
    let plugins = plugins().unwrap();
    assert!(
        plugins.crates.iter().any(|name| name == "wrapper-chatml"),
        "{plugins:?}"
    );
}

#[test]
fn every_plugin_crate_is_a_facade_feature_in_full_and_linked() {
    let plugins = plugins().unwrap();
    let lib = read("crates/chat-completion-proxy/src/lib.rs");
    let features = plugins.features();
    let full = plugins.full();
    for plugin in &plugins.crates {
        assert!(
            features.contains(&plugin.as_str()),
            "the facade has no feature `{plugin}`: add `{plugin} = {{ path = \"../{plugin}\", optional = true }}` to its [dependencies]"
        );
        assert!(
            full.contains(&plugin.as_str()),
            "facade feature `full` lacks `{plugin}`"
        );
        let module = plugin.replace('-', "_");
        assert!(
            lib.contains(&format!("\"{plugin}\" => {module},")),
            "the facade's lib.rs lacks the line `\"{plugin}\" => {module},` in `plugins!`"
        );
    }
    assert_eq!(
        features,
        plugins
            .crates
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "every facade plugin feature is a plugin crate"
    );
}

#[test]
fn the_cli_forwards_only_full() {
    assert_eq!(
        plugins().unwrap().cli_features,
        ["default", "full"],
        "the CLI forwards only `full`; a per-plugin build selects the facade's features \
         (`--features chat-completion-proxy/wrapper-x`)"
    );
}

#[test]
fn every_plugin_crate_is_in_the_readme_and_architecture_map() {
    let readme = read("README.md");
    let architecture = read("ARCHITECTURE.md");
    for plugin in &plugins().unwrap().crates {
        assert!(
            readme.contains(plugin.as_str()),
            "README.md does not mention `{plugin}`"
        );
        assert!(
            architecture.contains(plugin.as_str()),
            "ARCHITECTURE.md does not mention `{plugin}`"
        );
    }
}
