//! `cargo xtask test-all`: every check, stopping at the first failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::plugins::{facade_plugin_features, CLI, FACADE};

/// Runs every check in order.
pub fn run() -> Result<()> {
    let root = workspace_root();
    let started = Instant::now();
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
    // The CLI forwards the facade's features: its tests check `wrappers` lists only
    // what the chosen features register.
    cargo(
        &root,
        &[
            "test",
            "-p",
            CLI,
            "--no-default-features",
            "--features",
            "wrapper-chatml",
        ],
    )?;
    check_fixtures_through_cli(&root)?;
    crate::e2e::run(&root)?;
    println!(
        "xtask test-all: every check passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Builds the release binary and runs the shared fixture checker against it, as the
/// issue's "done when" does.
fn check_fixtures_through_cli(root: &Path) -> Result<()> {
    let shared = root.join("../shared");
    let checker = shared.join("tools/check-fixtures.py");
    if !checker.is_file() {
        println!(
            "xtask: SKIPPED the outside fixture check: {} is absent",
            checker.display()
        );
        return Ok(());
    }
    cargo(root, &["build", "--release", "-p", CLI])?;
    let binary = target_dir(root).join("release/chat-completion-proxy");
    run_step(
        Command::new("python3")
            .arg(&checker)
            .arg("--bin")
            .arg(&binary)
            .arg("--prompts")
            .arg(shared.join("fixtures/reference-prompts.json"))
            .arg("--parses")
            .arg(shared.join("fixtures/reference-parses.json"))
            .current_dir(root),
        "python3 check-fixtures.py",
    )
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let label = format!("cargo {}", args.join(" "));
    run_step(
        Command::new(env!("CARGO")).args(args).current_dir(root),
        &label,
    )
}

fn run_step(command: &mut Command, label: &str) -> Result<()> {
    println!("\n==> {label}");
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("cannot start `{label}`"))?;
    if !status.success() {
        bail!("`{label}` failed ({status})");
    }
    println!("<== {label}: ok in {:.1?}", started.elapsed());
    Ok(())
}

/// The workspace's root folder.
/// Where cargo puts build outputs: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The workspace root (the parent of the xtask crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
