//! The plugin features of the facade crate, from `workspace-meta` (the one reader of
//! `cargo metadata`, shared with the tests).

use anyhow::{anyhow, Result};

pub use workspace_meta::{CLI, FACADE};

/// Every plugin feature of the facade (all features but `default` and `full`), sorted.
pub fn facade_plugin_features() -> Result<Vec<String>> {
    let plugins = workspace_meta::plugins().map_err(|error| anyhow!(error))?;
    Ok(plugins.features().into_iter().map(str::to_owned).collect())
}
