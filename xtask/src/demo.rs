//! `cargo xtask demo`: the main job on the example conversation shipped in
//! `examples/`: render it into a ChatML prompt, then parse an example model reply
//! (with the damage local models typically do) back into an OpenAI assistant message.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::plugins::CLI;

/// Runs the demo through the CLI binary.
pub fn run(root: &Path) -> Result<()> {
    let examples = root.join("examples");
    println!("== 1. render: examples/conversation.json -> the prompt a ChatML model receives\n");
    let prompt = cli(
        root,
        &["render", "--wrapper", "chatml"],
        &examples.join("conversation.json"),
    )?;
    println!("{prompt}");
    println!(
        "\n\n== 2. parse: examples/chatml-reply.txt (the model's raw continuation) -> OpenAI message\n"
    );
    let reply = std::fs::read_to_string(examples.join("chatml-reply.txt"))?;
    println!("raw model text: {reply:?}\n");
    let message = cli(
        root,
        &["parse", "--wrapper", "chatml"],
        &examples.join("chatml-reply.txt"),
    )?;
    println!("{message}");
    Ok(())
}

fn cli(root: &Path, args: &[&str], stdin_file: &Path) -> Result<String> {
    let stdin = std::fs::File::open(stdin_file)
        .with_context(|| format!("cannot open {}", stdin_file.display()))?;
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", CLI, "--"])
        .args(args)
        .current_dir(root)
        .stdin(Stdio::from(stdin))
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the CLI")?;
    if !output.status.success() {
        bail!("`chat-completion-proxy {}` failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
