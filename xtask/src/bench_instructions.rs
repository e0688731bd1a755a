//! `cargo xtask bench --instructions`: the proxy's own cost per request in CPU
//! instructions, counted by valgrind's callgrind — a figure that repeats from run to
//! run whatever else the machine is doing (the requests-per-second table moves by
//! ±30% on a shared 2-core machine, too much to tell a 5% change).
//!
//! `serve` (release) runs under callgrind in front of the stub llama.cpp backend and
//! answers the load client's requests one at a time, twice: `WARM_UP` requests, then
//! `WARM_UP + N`. The difference of the two runs' instruction totals over `N` is the
//! instructions one request costs the proxy (start-up, warm-up and shutdown cancel
//! out). Prints the figure and writes it to `target/bench/instructions.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::service::{free_port, Service};

/// Requests of the first run (and before the measured ones in the second).
const WARM_UP: usize = 200;

/// Measured requests unless `--requests` says otherwise (each takes about 15 ms
/// under callgrind).
pub const REQUESTS: usize = 1_000;

/// Runs the measurement of the `serve` binary with the load client in `release`,
/// writing into `out_dir`.
pub fn run(
    release: &Path,
    serve: &Path,
    out_dir: &Path,
    stub_url: &str,
    requests: usize,
) -> Result<()> {
    check_valgrind()?;
    println!("xtask: counting {}", serve.display());
    let first = total_instructions(release, serve, out_dir, stub_url, WARM_UP)?;
    let second = total_instructions(release, serve, out_dir, stub_url, WARM_UP + requests)?;
    if second <= first {
        bail!(
            "the longer run counted no more instructions ({second} against {first}); the callgrind files in {} say more",
            out_dir.display()
        );
    }
    let per_request = (second - first) as f64 / requests as f64;
    println!(
        "\nserve: {per_request:.0} instructions per request ({requests} requests at concurrency 1, chatml, one tool call each; runs of {WARM_UP} and {} requests: {first} and {second} instructions)",
        WARM_UP + requests
    );
    let path = out_dir.join("instructions.json");
    let report = json!({
        "requests": requests,
        "warm_up": WARM_UP,
        "instructions_first_run": first,
        "instructions_second_run": second,
        "instructions_per_request": per_request,
        "serve_binary": serve.display().to_string(),
    });
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("xtask: figures written to {}", path.display());
    Ok(())
}

fn check_valgrind() -> Result<()> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => bail!(
            "`--instructions` counts with valgrind, which is not installed: install it (Debian: `apt-get install valgrind`) or leave the flag out"
        ),
    }
}

/// Starts `serve` under callgrind, sends it `requests` requests, stops it (so callgrind
/// writes its file) and returns the instructions it executed in all.
fn total_instructions(
    release: &Path,
    serve: &Path,
    out_dir: &Path,
    stub_url: &str,
    requests: usize,
) -> Result<u64> {
    let port = free_port()?;
    let profile: PathBuf = out_dir.join(format!("serve-{requests}.callgrind"));
    let _ = std::fs::remove_file(&profile);
    let serve = Service::start(
        "chat-completion-proxy serve (callgrind)",
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", profile.display()))
            .arg(serve)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--endpoint-type", "llamacpp", "--endpoint", stub_url])
            .args(["--context-window", "8192", "--wrapper", "chatml"])
            .args(["--model-name", "bench"])
            .env("RUST_LOG", "warn"),
        port,
        &out_dir.join(format!("serve-callgrind-{requests}.log")),
        Duration::from_secs(120),
    )?;
    crate::bench::load(release, "proxy", &serve.url, requests, 1)?;
    serve.interrupt_and_wait(Duration::from_secs(60))?;
    let text = std::fs::read_to_string(&profile)
        .with_context(|| format!("callgrind wrote no {}", profile.display()))?;
    summary(&text).with_context(|| format!("no `summary:` line in {}", profile.display()))
}

/// The `summary:` total of a callgrind output file.
fn summary(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|total| total.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_line() {
        let text = "version: 1\nevents: Ir\nsummary: 289289648\ntotals: 289289859\n";
        assert_eq!(summary(text), Some(289_289_648));
        assert_eq!(summary("events: Ir\n"), None);
    }
}
