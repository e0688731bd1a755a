//! The workspace's plugin list, read once from `cargo metadata`: the one place that
//! knows which plugins exist, for `xtask` (each plugin feature alone) and for the tests
//! that check a plugin is wired up and present exactly when enabled. Adding a plugin
//! crate changes what this returns; no list elsewhere needs editing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The facade crate's package name.
pub const FACADE: &str = "chat-completion-proxy";
/// The CLI crate's package name.
pub const CLI: &str = "chat-completion-proxy-cli";

/// What the workspace's metadata says about its plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugins {
    /// The facade's features (name → what each enables), as Cargo reports them.
    pub facade_features: BTreeMap<String, Vec<String>>,
    /// The CLI's feature names, sorted.
    pub cli_features: Vec<String>,
    /// The plugin crates under `crates/` (`wrapper-*`, `backend-*`, `grammar-*`), sorted.
    pub crates: Vec<String>,
}

impl Plugins {
    /// The facade's plugin features (every feature but `default` and `full`), sorted.
    pub fn features(&self) -> Vec<&str> {
        self.facade_features
            .keys()
            .map(String::as_str)
            .filter(|name| !matches!(*name, "default" | "full"))
            .collect()
    }

    /// The features `full` turns on, sorted.
    pub fn full(&self) -> Vec<&str> {
        let mut full: Vec<&str> = self
            .facade_features
            .get("full")
            .map(|list| list.iter().map(String::as_str).collect())
            .unwrap_or_default();
        full.sort_unstable();
        full
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The plugins, from one `cargo metadata --no-deps` run per process.
pub fn plugins() -> Result<&'static Plugins, String> {
    static PLUGINS: OnceLock<Result<Plugins, String>> = OnceLock::new();
    PLUGINS
        .get_or_init(read_plugins)
        .as_ref()
        .map_err(Clone::clone)
}

fn read_plugins() -> Result<Plugins, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("cargo metadata printed no JSON: {error}"))?;
    parse(&metadata)
}

/// Reads [`Plugins`] from `cargo metadata`'s JSON.
pub fn parse(metadata: &Value) -> Result<Plugins, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let facade = packages
        .iter()
        .find(|package| package["name"] == FACADE)
        .ok_or_else(|| format!("package {FACADE} is not in the workspace"))?;
    let mut cli_features: Vec<String> = packages
        .iter()
        .find(|package| package["name"] == CLI)
        .and_then(|cli| cli["features"].as_object())
        .map(|features| features.keys().cloned().collect())
        .unwrap_or_default();
    cli_features.sort();
    let facade_features = facade["features"]
        .as_object()
        .ok_or("the facade has no features table")?
        .iter()
        .map(|(name, enables)| {
            let enables = enables
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (name.clone(), enables)
        })
        .collect();
    let mut crates: Vec<String> = packages
        .iter()
        .filter(|package| {
            package["manifest_path"].as_str().is_some_and(|path| {
                Path::new(path)
                    .parent()
                    .and_then(Path::parent)
                    .is_some_and(|dir| dir.ends_with("crates"))
            })
        })
        .filter_map(|package| package["name"].as_str())
        .filter(|name| is_plugin_name(name))
        .map(str::to_owned)
        .collect();
    crates.sort();
    Ok(Plugins {
        facade_features,
        cli_features,
        crates,
    })
}

/// A plugin crate's name: `wrapper-*`, `backend-*` or `grammar-*`.
pub fn is_plugin_name(name: &str) -> bool {
    ["wrapper-", "backend-", "grammar-"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugins_are_read_from_the_metadata() {
        let metadata = json!({"packages": [
            {"name": FACADE, "manifest_path": "/w/crates/chat-completion-proxy/Cargo.toml",
             "features": {"default": ["full"], "full": ["wrapper-b", "backend-a"],
                          "wrapper-b": ["dep:wrapper-b"], "backend-a": ["dep:backend-a"]}},
            {"name": CLI, "manifest_path": "/w/crates/chat-completion-proxy-cli/Cargo.toml",
             "features": {"full": ["chat-completion-proxy/full"], "default": ["full"]}},
            {"name": "wrapper-b", "manifest_path": "/w/crates/wrapper-b/Cargo.toml", "features": {}},
            {"name": "backend-a", "manifest_path": "/w/crates/backend-a/Cargo.toml", "features": {}},
            {"name": "downstream-wrapper", "manifest_path": "/w/tests/downstream-wrapper/Cargo.toml", "features": {}},
            {"name": "proxy-core", "manifest_path": "/w/crates/proxy-core/Cargo.toml", "features": {}}
        ]});
        let plugins = parse(&metadata).unwrap();
        assert_eq!(plugins.features(), ["backend-a", "wrapper-b"]);
        assert_eq!(plugins.full(), ["backend-a", "wrapper-b"]);
        assert_eq!(plugins.crates, ["backend-a", "wrapper-b"]);
        assert_eq!(plugins.cli_features, ["default", "full"]);
    }

    #[test]
    fn this_workspace_has_plugins_and_full_enables_them_all() {
        let plugins = plugins().unwrap();
        assert!(plugins.crates.iter().any(|name| name == "wrapper-chatml"));
        assert_eq!(plugins.features(), plugins.full());
    }
}
