//! Tidy checks (rust-analyzer's idea): every plugin crate under `crates/` is wired up
//! everywhere a plugin must be, so adding one cannot silently half-happen.
//!
//! A plugin crate `crates/wrapper-x`, `crates/backend-x` or `crates/grammar-x` must
//! have: a feature of the same name in the facade (its optional dependency), listed in
//! `full`, a `"x-name" => x_name` line in the facade's `plugins!` list, and a mention in
//! the README and ARCHITECTURE.md. The plugin list comes from `cargo metadata`
//! (`workspace-meta`); nothing here names a plugin.
//!
//! Wrappers do no I/O: prompt-kit and every wrapper crate must not pull an HTTP stack,
//! an async runtime or a tokenizer into a build, nor proxy-core (which has all three),
//! checked in the resolved dependency graph.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use workspace_meta::{dependency_graph, plugins, workspace_root};

/// The prompt kit every wrapper crate builds on.
const PROMPT_KIT: &str = "prompt-kit";

/// The wrapper plugin written as a user would (`tests/downstream-wrapper`).
const DOWNSTREAM_WRAPPER: &str = "downstream-wrapper";

/// Packages that prompt-kit and the wrappers must not depend on (as normal or build
/// dependencies, directly or not): HTTP stacks and runtimes, the tokenizer, and
/// proxy-core, which holds them.
const NOT_UNDER_WRAPPERS: &[&str] = &[
    "reqwest",
    "hyper",
    "tokio",
    "ureq",
    "tiktoken-rs",
    "proxy-core",
];

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

#[test]
fn prompt_kit_and_the_wrappers_pull_in_no_http_or_tokenizer() {
    let graph = dependency_graph().unwrap();
    let wrappers = plugins()
        .unwrap()
        .crates
        .iter()
        .map(String::as_str)
        .filter(|name| name.starts_with("wrapper-"));
    let checked: Vec<&str> = [PROMPT_KIT, DOWNSTREAM_WRAPPER]
        .into_iter()
        .chain(wrappers)
        .collect();
    assert!(
        checked.iter().any(|name| name.starts_with("wrapper-")),
        "{checked:?}"
    );
    for package in checked {
        let dependencies = graph.non_dev_dependencies(package).unwrap();
        let found: Vec<&str> = NOT_UNDER_WRAPPERS
            .iter()
            .copied()
            .filter(|name| dependencies.contains(name))
            .collect();
        assert!(
            found.is_empty(),
            "{package} depends on {found:?} (as a normal or build dependency, directly or \
             through another package): wrappers do no I/O, so prompt-kit and the wrapper \
             crates take no HTTP stack, runtime or tokenizer, nor proxy-core, which has \
             them; a test that needs one takes it as a dev-dependency"
        );
        if package != PROMPT_KIT {
            assert!(
                dependencies.contains(PROMPT_KIT),
                "{package} does not build on {PROMPT_KIT}"
            );
        }
    }
}

#[test]
fn the_dependency_check_sees_what_proxy_core_pulls_in() {
    // The check above is not vacuous: the same graph finds the HTTP client and the
    // tokenizer under proxy-core.
    let dependencies = dependency_graph()
        .unwrap()
        .non_dev_dependencies("proxy-core")
        .unwrap();
    for name in ["reqwest", "hyper", "tokio", "tiktoken-rs", PROMPT_KIT] {
        assert!(
            dependencies.contains(name),
            "proxy-core's graph lacks {name}: {dependencies:?}"
        );
    }
}
