//! What the binary under test was built with: the CLI forwards only `full`, so a build
//! with some plugins selects the facade's features directly, and the tests read the
//! same build's [`ENABLED_PLUGINS`] to know what to expect.

use chat_completion_proxy::ENABLED_PLUGINS;

/// Whether this build links every plugin in `plugins`; when it does not, says on
/// stderr which ones it lacks (the test then has nothing to check in this build).
pub fn built_with(plugins: &[&str]) -> bool {
    let missing: Vec<&str> = plugins
        .iter()
        .copied()
        .filter(|plugin| !ENABLED_PLUGINS.contains(plugin))
        .collect();
    if !missing.is_empty() {
        eprintln!("not run in this build: it lacks the plugins {missing:?}");
    }
    missing.is_empty()
}
