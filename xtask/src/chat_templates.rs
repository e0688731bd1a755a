//! `cargo xtask chat-templates`: the chat-template renderer (`wrapper-template`)
//! against Python's jinja2 set up as transformers sets it up, on the real templates of
//! public models in `../shared/data/chat-templates/`.
//!
//! Those templates are public repositories' files, so neither they nor their expected
//! outputs are in this repository: the outputs are rendered here, on every run, by
//! `crates/wrapper-template/tests/reference/render_reference.py` (in a pinned venv
//! cached under the e2e cache, keyed by the Python version and its requirements) into
//! `target/chat-templates-expected/`, then the `compare_reference` example compares
//! every template × case byte for byte and prints a table.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::llama_server::{cache_dir, fnv1a, pip_install, venv_at};
use crate::workspace::{run_step, target_dir};

/// Where the reference script and its pinned requirements live.
const REFERENCE_DIR: &str = "crates/wrapper-template/tests/reference";

/// Renders the shared templates with jinja2 and compares the Rust renderer with it;
/// says so plainly and succeeds when the shared folder is absent.
pub fn run(root: &Path) -> Result<()> {
    let templates = root.join("../shared/data/chat-templates");
    if !templates.is_dir() {
        println!(
            "xtask: {} is absent: the renderer was NOT compared with jinja2 on the public \
             models' chat templates (the own templates in crates/wrapper-template/tests/ \
             are still checked by `cargo test`)",
            templates.display()
        );
        return Ok(());
    }
    let reference = root.join(REFERENCE_DIR);
    let venv = jinja_env(&reference)?;
    let expected = target_dir(root).join("chat-templates-expected");
    if expected.is_dir() {
        std::fs::remove_dir_all(&expected)
            .with_context(|| format!("cannot clear {}", expected.display()))?;
    }
    run_step(
        Command::new(venv.join("bin/python"))
            .arg(reference.join("render_reference.py"))
            .arg("--templates")
            .arg(&templates)
            .arg("--tokens")
            .arg(templates.join("sources.json"))
            .arg("--conversations")
            .arg(reference.join("conversations.json"))
            .arg("--out")
            .arg(&expected)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(root),
        "render_reference.py (jinja2, transformers' settings) on ../shared/data/chat-templates",
    )?;
    run_step(
        Command::new(env!("CARGO"))
            .args([
                "run",
                "--quiet",
                "-p",
                "wrapper-template",
                "--example",
                "compare_reference",
            ])
            .env("CCP_CHAT_TEMPLATES_DIR", &templates)
            .env("CCP_CHAT_TEMPLATES_EXPECTED", &expected)
            .current_dir(root),
        "cargo run -p wrapper-template --example compare_reference",
    )
}

/// The venv with the pinned jinja2 (`requirements.txt` beside the script), built on
/// first use and kept under a name made of the Python version and the requirements'
/// digest.
fn jinja_env(reference: &Path) -> Result<PathBuf> {
    let requirements = reference.join("requirements.txt");
    let pins = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let version = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .context("cannot start python3 (the reference renderer needs it)")?;
    anyhow::ensure!(
        version.status.success(),
        "python3 failed ({})",
        version.status
    );
    let python = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let venv = cache_dir()?.join(format!(
        "chat-templates-py{python}-{:016x}",
        fnv1a(pins.as_bytes())
    ));
    venv_at(&venv)?;
    let requirements = requirements.display().to_string();
    pip_install(&venv, &["-r", &requirements], &venv.join("installed"), &[])?;
    Ok(venv)
}
