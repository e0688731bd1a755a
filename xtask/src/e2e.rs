//! `cargo xtask e2e`: the end-to-end tests against a real llama.cpp server running a
//! real model (provided by [`crate::llama_server`]), always stopping the server.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::llama_server::{LlamaServer, CONTEXT_SIZE};

/// The package holding the end-to-end tests.
pub const E2E_PACKAGE: &str = "e2e-tests";

/// Starts the server, runs the end-to-end test package against it, stops the server.
pub fn run(root: &Path) -> Result<()> {
    // Build the tests first so the server does not sit idle during compilation.
    cargo_e2e(root, &["--no-run"], None)?;
    let server = LlamaServer::start()?;
    let result = cargo_e2e(root, &[], Some(&server.url));
    drop(server);
    result
}

fn cargo_e2e(root: &Path, extra: &[&str], url: Option<&str>) -> Result<()> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["test", "-p", E2E_PACKAGE, "--features", "e2e"])
        .args(extra)
        .current_dir(root);
    if let Some(url) = url {
        command
            .env("CCP_E2E_LLAMA_URL", url)
            .env("CCP_E2E_CONTEXT_SIZE", CONTEXT_SIZE.to_string())
            // One request at a time: the server runs one slot on 2 cores.
            .args(["--", "--test-threads", "1"]);
    }
    println!(
        "\n==> cargo test -p {E2E_PACKAGE} --features e2e {}",
        extra.join(" ")
    );
    let status = command.status().context("cannot start cargo")?;
    if !status.success() {
        bail!("the end-to-end tests failed ({status})");
    }
    Ok(())
}

/// `cargo xtask fidelity [--runs N]`: starts the server and runs the fidelity
/// measurement (valid calls per wrapper with the real model).
pub fn fidelity(root: &Path, args: &[String]) -> Result<()> {
    let build = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", E2E_PACKAGE, "--bin", "fidelity"])
        .current_dir(root)
        .status()
        .context("cannot start cargo")?;
    if !build.success() {
        bail!("building the fidelity tool failed ({build})");
    }
    let server = LlamaServer::start()?;
    let status = Command::new(root.join("target/release/fidelity"))
        .args(args)
        .env("CCP_E2E_LLAMA_URL", &server.url)
        .env("CCP_E2E_CONTEXT_SIZE", CONTEXT_SIZE.to_string())
        .current_dir(root)
        .status()
        .context("cannot start the fidelity tool")?;
    drop(server);
    if !status.success() {
        bail!("the fidelity run failed ({status})");
    }
    Ok(())
}
