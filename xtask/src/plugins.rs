//! The plugin features of the facade crate, read from `cargo metadata`.

use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The facade crate's package name.
pub const FACADE: &str = "chat-completion-proxy";
/// The CLI crate's package name.
pub const CLI: &str = "chat-completion-proxy-cli";

/// Every plugin feature of the facade (all features but `default` and `full`), sorted.
pub fn facade_plugin_features() -> Result<Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let facade = packages
        .iter()
        .find(|package| package["name"] == FACADE)
        .with_context(|| format!("package {FACADE} not found in the workspace"))?;
    let mut features: Vec<String> = facade["features"]
        .as_object()
        .context("facade has no features table")?
        .keys()
        .filter(|name| !matches!(name.as_str(), "default" | "full"))
        .cloned()
        .collect();
    features.sort();
    Ok(features)
}
