//! `cargo xtask test-all`: every check, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::plugins::{facade_plugin_features, CLI, FACADE};
use crate::workspace::{cargo, run_step, target_dir, workspace_root};

/// Runs every check in order.
pub fn run() -> Result<()> {
    let root = workspace_root();
    let started = Instant::now();
    let shared = root.join("../shared");
    if !shared.is_dir() {
        println!(
            "xtask: {} is absent: every check runs from the repository's own copies, but \
             their comparison with the shared originals (test `shared_copies`) has nothing \
             to compare",
            shared.display()
        );
    }
    cargo(&root, &["fmt", "--all", "--", "--check"])?;
    cargo(
        &root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Docs on every public item, with every intra-doc link resolving.
    run_step(
        Command::new(env!("CARGO"))
            .args(["doc", "--no-deps", "--workspace", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(&root),
        "cargo doc --no-deps --workspace --all-features (RUSTDOCFLAGS=-D warnings)",
    )?;
    // The end-to-end package needs a running server; `e2e` below provides one.
    cargo(
        &root,
        &[
            "test",
            "--workspace",
            "--all-features",
            "--exclude",
            crate::e2e::E2E_PACKAGE,
        ],
    )?;
    for feature in facade_plugin_features()? {
        cargo(
            &root,
            &[
                "test",
                "-p",
                FACADE,
                "--no-default-features",
                "--features",
                &feature,
            ],
        )?;
    }
    cargo(&root, &["test", "-p", FACADE, "--no-default-features"])?;
    // The CLI built with one plugin (the facade's feature, selected directly): its
    // tests check it lists only what that plugin registers.
    cargo(
        &root,
        &[
            "test",
            "-p",
            CLI,
            "--no-default-features",
            "--features",
            &format!("{FACADE}/wrapper-chatml"),
        ],
    )?;
    crate::chat_templates::run(&root)?;
    check_fixtures_through_cli(&root)?;
    crate::e2e::run(&root)?;
    // One model on three real servers, one killed and one hung under load.
    crate::failover::run(&root, &[])?;
    println!(
        "xtask test-all: every check passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Builds the release binary and runs the outside fixture checker against it, both
/// from the repository (`tools/check-fixtures.py`, `tests/fixtures/`), so a clone
/// checks the same with nothing beside it.
fn check_fixtures_through_cli(root: &Path) -> Result<()> {
    cargo(root, &["build", "--release", "-p", CLI])?;
    let binary = target_dir(root).join("release/chat-completion-proxy");
    let fixtures = root.join("tests/fixtures");
    run_step(
        Command::new("python3")
            .arg(root.join("tools/check-fixtures.py"))
            .arg("--bin")
            .arg(&binary)
            .arg("--prompts")
            .arg(fixtures.join("reference-prompts.json"))
            .arg("--parses")
            .arg(fixtures.join("reference-parses.json"))
            .current_dir(root),
        "python3 tools/check-fixtures.py",
    )
}
