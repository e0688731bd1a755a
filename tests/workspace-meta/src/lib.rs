//! The workspace's plugin list, read once from `cargo metadata`: the one place that
//! knows which plugins exist, for `xtask` (each plugin feature alone) and for the tests
//! that check a plugin is wired up and present exactly when enabled. Adding a plugin
//! crate changes what this returns; no list elsewhere needs editing.
//!
//! Also the resolved dependency graph ([`dependency_graph`]), for the tests that check
//! which packages a crate pulls into a build (no HTTP stack or tokenizer under a
//! wrapper).

use std::collections::{BTreeMap, BTreeSet};
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
    parse(&cargo_metadata(&["--no-deps"])?)
}

/// Runs `cargo metadata --format-version 1 --offline` with `extra` arguments in the
/// workspace root and returns its JSON.
fn cargo_metadata(extra: &[&str]) -> Result<Value, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(extra)
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("cargo metadata printed no JSON: {error}"))
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

/// The workspace's resolved dependency graph on this platform: every package, and for
/// each the packages it depends on to build (normal and build dependencies; dev
/// dependencies left out, since they are not part of what a user's build pulls in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyGraph {
    /// Package id → package name.
    names: BTreeMap<String, String>,
    /// Workspace member name → package id.
    members: BTreeMap<String, String>,
    /// Package id → the ids it depends on (not as a dev dependency).
    dependencies: BTreeMap<String, Vec<String>>,
}

impl DependencyGraph {
    /// The names of every package the workspace member `package` pulls into a build,
    /// directly or not (normal and build dependencies, not dev ones), sorted; an error
    /// when `package` is not a workspace member.
    pub fn non_dev_dependencies(&self, package: &str) -> Result<BTreeSet<&str>, String> {
        let root = self
            .members
            .get(package)
            .ok_or_else(|| format!("package {package} is not in the workspace"))?;
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut pending: Vec<&str> = vec![root.as_str()];
        while let Some(id) = pending.pop() {
            for dependency in self.dependencies.get(id).into_iter().flatten() {
                if seen.insert(dependency.as_str()) {
                    pending.push(dependency.as_str());
                }
            }
        }
        Ok(seen
            .into_iter()
            .filter_map(|id| self.names.get(id).map(String::as_str))
            .collect())
    }
}

/// The resolved dependency graph, from one `cargo metadata --filter-platform` run per
/// process (this platform's packages only, so nothing else needs downloading).
pub fn dependency_graph() -> Result<&'static DependencyGraph, String> {
    static GRAPH: OnceLock<Result<DependencyGraph, String>> = OnceLock::new();
    GRAPH
        .get_or_init(|| {
            let target = option_env!("WORKSPACE_META_TARGET")
                .ok_or("workspace-meta was built without its target triple")?;
            parse_dependency_graph(&cargo_metadata(&["--filter-platform", target])?)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Reads the [`DependencyGraph`] from `cargo metadata`'s JSON (run with dependencies).
pub fn parse_dependency_graph(metadata: &Value) -> Result<DependencyGraph, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let names: BTreeMap<String, String> = packages
        .iter()
        .filter_map(|package| {
            Some((
                package["id"].as_str()?.to_owned(),
                package["name"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let members = metadata["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace members")?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| Some((names.get(id)?.clone(), id.to_owned())))
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata has no resolved graph (was it run with --no-deps?)")?;
    let dependencies = nodes
        .iter()
        .filter_map(|node| {
            let id = node["id"].as_str()?.to_owned();
            let deps = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|kind| kind["kind"].as_str() != Some("dev"))
                })
                .filter_map(|dep| dep["pkg"].as_str().map(str::to_owned))
                .collect();
            Some((id, deps))
        })
        .collect();
    Ok(DependencyGraph {
        names,
        members,
        dependencies,
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
    fn the_graph_follows_normal_and_non_dev_dependencies_not_dev_ones() {
        let normal = json!([{"kind": null, "target": null}]);
        let build = json!([{"kind": "build", "target": null}]);
        let dev = json!([{"kind": "dev", "target": null}]);
        let metadata = json!({
            "packages": [
                {"id": "w", "name": "wrapper-a"}, {"id": "k", "name": "kit"},
                {"id": "s", "name": "serde"}, {"id": "b", "name": "cc"},
                {"id": "t", "name": "tokio"}, {"id": "p", "name": "proptest"}
            ],
            "workspace_members": ["w", "k"],
            "resolve": {"nodes": [
                {"id": "w", "deps": [{"pkg": "k", "dep_kinds": normal},
                                     {"pkg": "t", "dep_kinds": dev}]},
                {"id": "k", "deps": [{"pkg": "s", "dep_kinds": normal},
                                     {"pkg": "b", "dep_kinds": build},
                                     {"pkg": "p", "dep_kinds": dev}]},
                {"id": "s", "deps": []}, {"id": "b", "deps": []},
                {"id": "t", "deps": []}, {"id": "p", "deps": []}
            ]}
        });
        let graph = parse_dependency_graph(&metadata).unwrap();
        let wrapper: Vec<&str> = graph
            .non_dev_dependencies("wrapper-a")
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(wrapper, ["cc", "kit", "serde"]);
        assert!(graph.non_dev_dependencies("serde").is_err(), "not a member");
    }

    #[test]
    fn this_workspace_has_plugins_and_full_enables_them_all() {
        let plugins = plugins().unwrap();
        assert!(plugins.crates.iter().any(|name| name == "wrapper-chatml"));
        assert_eq!(plugins.features(), plugins.full());
    }
}
