//! Where the workspace is and how every task runs a step in it: one `cargo` runner and
//! one step runner (label, exit status, time), shared by all tasks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of the xtask crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where cargo puts build outputs: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Runs `cargo ARGS` in the workspace as one step.
pub fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let label = format!("cargo {}", args.join(" "));
    run_step(
        Command::new(env!("CARGO")).args(args).current_dir(root),
        &label,
    )
}

/// Runs `command`, announcing it as `label` and timing it; an error if it fails.
pub fn run_step(command: &mut Command, label: &str) -> Result<()> {
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
