//! Project automation, run as `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! - `demo`: the main job on the example conversation in `examples/`.
//! - `test-all`: every check the project has, in the order CI runs them.

mod demo;
mod plugins;
mod test_all;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test-all") => test_all::run(),
        Some("demo") => demo::run(&test_all::workspace_root()),
        Some(other) => Err(anyhow::anyhow!("unknown task `{other}`\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  demo       render examples/conversation.json with chatml and parse an example reply
  test-all   fmt check, clippy -D warnings, all tests with all features, the facade with
             each plugin feature alone and with none, the CLI's forwarded features, and the
             reference fixtures through the release binary";
