//! Tidy checks (rust-analyzer's idea): every plugin crate under `crates/` is wired up
//! everywhere a plugin must be, so adding one cannot silently half-happen.
//!
//! A plugin crate `crates/wrapper-x` or `crates/backend-x` must have: a feature of the
//! same name in the facade (and in its `full` list), a `use wrapper_x` line in the
//! facade's `lib.rs`, the same feature forwarded by the CLI crate, and a mention in the
//! README.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn plugin_crates() -> Vec<String> {
    let dir = workspace_root().join("crates");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("wrapper-")
                || name.starts_with("backend-")
                || name.starts_with("grammar-")
        })
        .collect();
    names.sort();
    names
}

/// The strings listed in a Cargo.toml feature array such as `full = [ ... ]`.
fn feature_list(manifest: &str, feature: &str) -> Vec<String> {
    let start = manifest
        .find(&format!("\n{feature} = ["))
        .unwrap_or_else(|| panic!("no `{feature}` feature"));
    let rest = &manifest[start..];
    let end = rest.find(']').unwrap_or(rest.len());
    rest[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn there_are_plugin_crates() {
    let plugins = plugin_crates();
    assert!(
        plugins.iter().any(|name| name == "wrapper-chatml"),
        "{plugins:?}"
    );
}

#[test]
fn every_plugin_crate_is_a_facade_feature_in_full_and_linked() {
    let manifest = read("crates/chat-completion-proxy/Cargo.toml");
    let lib = read("crates/chat-completion-proxy/src/lib.rs");
    let full = feature_list(&manifest, "full");
    for plugin in plugin_crates() {
        assert!(
            manifest.contains(&format!("\n{plugin} = [\"dep:{plugin}\"]")),
            "facade Cargo.toml lacks the feature line `{plugin} = [\"dep:{plugin}\"]`"
        );
        assert!(
            full.contains(&plugin),
            "facade feature `full` lacks `{plugin}`"
        );
        let module = plugin.replace('-', "_");
        assert!(
            lib.contains(&format!("#[cfg(feature = \"{plugin}\")]"))
                && lib.contains(&format!("use {module}")),
            "facade lib.rs lacks `#[cfg(feature = \"{plugin}\")] use {module} as _;`"
        );
    }
}

#[test]
fn every_plugin_crate_is_forwarded_by_the_cli_and_in_its_full_feature() {
    let manifest = read("crates/chat-completion-proxy-cli/Cargo.toml");
    let full = feature_list(&manifest, "full");
    for plugin in plugin_crates() {
        assert!(
            manifest.contains(&format!(
                "\n{plugin} = [\"chat-completion-proxy/{plugin}\"]"
            )),
            "CLI Cargo.toml lacks `{plugin} = [\"chat-completion-proxy/{plugin}\"]`"
        );
        assert!(
            full.contains(&plugin),
            "CLI feature `full` lacks `{plugin}`"
        );
    }
}

#[test]
fn every_plugin_crate_is_in_the_readme_and_architecture_map() {
    let readme = read("README.md");
    let architecture = read("ARCHITECTURE.md");
    for plugin in plugin_crates() {
        assert!(
            readme.contains(&plugin),
            "README.md does not mention `{plugin}`"
        );
        assert!(
            architecture.contains(&plugin),
            "ARCHITECTURE.md does not mention `{plugin}`"
        );
    }
}
