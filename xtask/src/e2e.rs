//! `cargo xtask e2e`: the end-to-end tests against a real llama.cpp server running a
//! real model (provided by [`crate::llama_server`]), always stopping the server.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::clients;
use crate::llama_server::{self, CONTEXT_SIZE};
use crate::service::{free_port, Service};
use crate::workspace::{cargo, target_dir};

/// The package holding the end-to-end tests.
pub const E2E_PACKAGE: &str = "e2e-tests";

/// Starts the server, runs the end-to-end test package against it, stops the server.
pub fn run(root: &Path) -> Result<()> {
    // Build the tests first so the server does not sit idle during compilation.
    cargo_e2e(root, &["--no-run"], None)?;
    cargo(root, &["build", "-p", crate::plugins::CLI])?;
    let cache = llama_server::cache_dir()?;
    let venv = llama_server::venv(&cache)?;
    llama_server::pip_install(
        &venv,
        &[OPENAI_SDK],
        &venv.join(format!("{}.installed", OPENAI_SDK.replace("==", "-"))),
        &[],
    )?;
    let clients = clients::install(root, clients::Suites::All)?;
    let server = llama_server::start()?;
    let result = cargo_e2e(root, &[], Some(&server.url))
        .and_then(|()| sdk_tests(root, &venv, &server.url))
        .and_then(|()| clients.run(root, &server.url));
    drop(server);
    result
}

/// The pinned official OpenAI Python SDK.
pub const OPENAI_SDK: &str = "openai==1.109.1";

/// Starts `chat-completion-proxy serve` (the debug build) on a free port in front of
/// the llama-server at `backend`, serving it as `model` with the `chatml-grammar`
/// wrapper, optionally behind an API key and with a completion settings file
/// (`CCP_COMPLETION_SETTINGS`; without one, none is read).
pub fn start_proxy(
    root: &Path,
    backend: &str,
    key: Option<&str>,
    model: &str,
    settings: Option<&Path>,
) -> Result<Service> {
    let port = free_port()?;
    let mut command = Command::new(target_dir(root).join("debug/chat-completion-proxy"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--endpoint-type", "llamacpp", "--endpoint", backend])
        .args(["--context-window", &CONTEXT_SIZE.to_string()])
        .args(["--wrapper", "chatml-grammar", "--model-name", model])
        .env("RUST_LOG", "info")
        .env(
            "CCP_COMPLETION_SETTINGS",
            settings.unwrap_or(Path::new("/nonexistent/completion-settings.json")),
        );
    if let Some(key) = key {
        command.env("CCP_API_KEY", key);
    }
    Service::start(
        "chat-completion-proxy serve",
        &mut command,
        port,
        &llama_server::cache_dir()?.join(format!("proxy-serve-{port}.log")),
        Duration::from_secs(30),
    )
}

/// Starts `chat-completion-proxy serve` in front of the llama-server at `backend` and
/// runs the OpenAI SDK tests (`tests/e2e/sdk`) against it.
fn sdk_tests(root: &Path, venv: &Path, backend: &str) -> Result<()> {
    let key = "e2e-test-key";
    let model = "smollm2";
    let proxy = start_proxy(root, backend, Some(key), model, None)?;
    println!("\n==> OpenAI SDK ({OPENAI_SDK}) against the proxy");
    let status = Command::new(venv.join("bin/python"))
        .arg(root.join("tests/e2e/sdk/test_openai_sdk.py"))
        .env("CCP_PROXY_URL", format!("{}/v1", proxy.url))
        .env("CCP_PROXY_KEY", key)
        .env("CCP_PROXY_MODEL", model)
        .env(
            "CCP_FIXTURES",
            root.join("tests/fixtures/reference-prompts.json"),
        )
        .current_dir(root)
        .status()
        .context("cannot start python")?;
    drop(proxy);
    if !status.success() {
        bail!("the OpenAI SDK tests failed ({status})");
    }
    Ok(())
}

fn cargo_e2e(root: &Path, extra: &[&str], url: Option<&str>) -> Result<()> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["test", "-p", E2E_PACKAGE, "--features", "e2e"])
        .args(extra)
        .current_dir(root);
    if let Some(url) = url {
        // The server's model file, for the tests that read it directly (its GGUF
        // metadata); the server already made sure it is there.
        let model = llama_server::ensure_model(&llama_server::cache_dir()?)?;
        command
            .env("CCP_E2E_LLAMA_URL", url)
            .env("CCP_E2E_MODEL_PATH", model)
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

/// `cargo xtask fidelity [--runs N] [--max-tokens N] [--wrappers a,b,native]`: starts
/// the server with `--jinja` (its own tool calling on `/v1/chat/completions`, which the
/// `native` row measures; the proxy's raw-prompt `/completion` does not use the chat
/// template, so its rows are unaffected; the pinned build has `--jinja` on by default
/// anyway, it is passed so the row does not depend on that) and `--metrics` (the tokens it
/// generated per row, retries included), and runs the fidelity measurement (valid calls
/// per wrapper and for llama.cpp's own tool calling, with the real model).
pub fn fidelity(root: &Path, args: &[String]) -> Result<()> {
    cargo(
        root,
        &["build", "--release", "-p", E2E_PACKAGE, "--bin", "fidelity"],
    )?;
    let server = llama_server::start_with(&["--jinja", "--metrics"])?;
    let status = Command::new(target_dir(root).join("release/fidelity"))
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
