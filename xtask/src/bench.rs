//! `cargo xtask bench`: the end-to-end load benchmark.
//!
//! Starts the stub llama.cpp backend (`stub_llamacpp`, answering canned replies at
//! once) and the release `chat-completion-proxy serve` in front of it, then loads (a)
//! the stub directly and (b) the proxy with the same client (`load`) at each
//! concurrency, for a fixed number of requests. Prints one table (requests/s, p50/p99
//! latency, the proxy's added latency, its peak resident memory) and writes the same
//! figures to `target/bench/load.json`. Fails if any request is lost or wrong.
//!
//! A third row per concurrency loads `passthrough`, a proxy that only parses JSON and
//! makes the second HTTP hop: the floor any proxy in front of the stub has on the same
//! cores. `serve` against it is the proxy's own work; it against the stub is the hop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::e2e::E2E_PACKAGE;
use crate::service::{free_port, Service};
use crate::workspace::{cargo, target_dir};

/// The concurrencies measured unless `--concurrency` says otherwise.
const CONCURRENCIES: [usize; 3] = [1, 64, 512];

/// Requests per measurement unless `--requests` says otherwise (the direct rows take
/// about half a second at this count; fewer make the figures noisy).
const REQUESTS: usize = 10_000;

/// Open files the run needs: two sockets per connection at the top concurrency (client
/// and server side), for two hops, plus slack.
fn files_needed(concurrency: usize) -> u64 {
    (concurrency as u64) * 4 + 256
}

/// Runs the benchmark; `args` are `[--requests N] [--concurrency 1,64,512]`, or
/// `--instructions [--requests N] [--serve-binary PATH]` for the instruction count
/// ([`crate::bench_instructions`]; `--serve-binary`: count another build's
/// `chat-completion-proxy`, an older commit's say, against this build's stub and
/// load client).
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let instructions = args.iter().any(|arg| arg == "--instructions");
    let mut rest: Vec<String> = args
        .iter()
        .filter(|arg| *arg != "--instructions")
        .cloned()
        .collect();
    let serve_binary = match rest.iter().position(|arg| arg == "--serve-binary") {
        Some(at) => {
            let Some(path) = rest.get(at + 1).map(PathBuf::from) else {
                bail!("`--serve-binary` needs the path of a chat-completion-proxy binary");
            };
            rest.drain(at..at + 2);
            if !instructions {
                bail!("`--serve-binary` goes with `--instructions`");
            }
            if !path.is_file() {
                bail!("`--serve-binary` {}: no such file", path.display());
            }
            Some(path)
        }
        None => None,
    };
    let (requests, concurrencies) = parse_args(&rest)?;
    if instructions && rest.iter().any(|arg| arg == "--concurrency") {
        bail!("`--instructions` measures at concurrency 1 only; leave out `--concurrency`");
    }
    check_open_file_limit(concurrencies.iter().copied().max().unwrap_or(1))?;
    cargo(
        root,
        &["build", "--release", "-p", crate::plugins::CLI, "--quiet"],
    )?;
    cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            E2E_PACKAGE,
            "--bin",
            "stub_llamacpp",
            "--bin",
            "load",
            "--bin",
            "passthrough",
            "--quiet",
        ],
    )?;
    let target = target_dir(root);
    let release = target.join("release");
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;

    let stub_port = free_port()?;
    let stub = Service::start(
        "stub_llamacpp",
        Command::new(release.join("stub_llamacpp"))
            .args(["--listen", &format!("127.0.0.1:{stub_port}")]),
        stub_port,
        &out_dir.join("stub.log"),
        Duration::from_secs(30),
    )?;
    if instructions {
        let requests = if rest.iter().any(|arg| arg == "--requests") {
            requests
        } else {
            crate::bench_instructions::REQUESTS
        };
        let serve = serve_binary.unwrap_or_else(|| release.join("chat-completion-proxy"));
        return crate::bench_instructions::run(&release, &serve, &out_dir, &stub.url, requests);
    }
    let serve_port = free_port()?;
    let serve = Service::start(
        "chat-completion-proxy serve",
        Command::new(release.join("chat-completion-proxy"))
            .args(["serve", "--listen", &format!("127.0.0.1:{serve_port}")])
            .args(["--endpoint-type", "llamacpp", "--endpoint", &stub.url])
            .args(["--context-window", "8192", "--wrapper", "chatml"])
            .args(["--model-name", "bench"])
            .env("RUST_LOG", "warn"),
        serve_port,
        &out_dir.join("serve.log"),
        Duration::from_secs(30),
    )?;
    let floor_port = free_port()?;
    let floor = Service::start(
        "passthrough",
        Command::new(release.join("passthrough"))
            .args(["--listen", &format!("127.0.0.1:{floor_port}")])
            .args(["--backend", &stub.url]),
        floor_port,
        &out_dir.join("passthrough.log"),
        Duration::from_secs(30),
    )?;

    let mut rows = Vec::new();
    for &concurrency in &concurrencies {
        let direct = load(&release, "direct", &stub.url, requests, concurrency)?;
        let passthrough = load(&release, "passthrough", &floor.url, requests, concurrency)?;
        let proxy = load(&release, "proxy", &serve.url, requests, concurrency)?;
        rows.push(json!({
            "concurrency": concurrency,
            "requests": requests,
            "direct": direct,
            "passthrough": passthrough,
            "proxy": proxy,
            "proxy_share_of_direct": field(&proxy, "requests_per_second") / field(&direct, "requests_per_second"),
            "proxy_share_of_passthrough": field(&proxy, "requests_per_second") / field(&passthrough, "requests_per_second"),
            "added_p50_ms": field(&proxy, "p50_ms") - field(&direct, "p50_ms"),
            "added_p99_ms": field(&proxy, "p99_ms") - field(&direct, "p99_ms"),
        }));
    }
    let peak_kib = peak_resident_kib(serve.pid())?;
    drop(serve);
    drop(floor);
    drop(stub);

    print_table(&rows, peak_kib);
    let report = json!({
        "machine": machine(),
        "requests": requests,
        "serve_peak_resident_kib": peak_kib,
        "rows": rows,
    });
    let path = out_dir.join("load.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("\nxtask: figures written to {}", path.display());
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(usize, Vec<usize>)> {
    let mut requests = REQUESTS;
    let mut concurrencies = CONCURRENCIES.to_vec();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            bail!("`{flag}` needs a value");
        };
        match flag.as_str() {
            "--requests" => requests = positive(flag, value)?,
            "--concurrency" => {
                concurrencies = value
                    .split(',')
                    .map(|part| positive(flag, part))
                    .collect::<Result<_>>()?;
            }
            other => {
                bail!("unknown flag `{other}`: give --requests N and/or --concurrency 1,64,512")
            }
        }
    }
    Ok((requests, concurrencies))
}

fn positive(flag: &str, value: &str) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("`{flag}` needs positive whole numbers, not `{value}`"),
    }
}

/// Fails early, saying what to do, when the soft open-file limit is too low for the
/// connections at `concurrency` (the processes started here inherit it).
fn check_open_file_limit(concurrency: usize) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse::<u64>().ok());
    let needed = files_needed(concurrency);
    match soft {
        Some(soft) if soft < needed => bail!(
            "the open-file limit is {soft}, and concurrency {concurrency} needs about {needed}: raise it first (`ulimit -n {needed}`)"
        ),
        _ => Ok(()),
    }
}

/// Runs the load client once and returns its figures.
pub fn load(
    release: &Path,
    mode: &str,
    url: &str,
    requests: usize,
    concurrency: usize,
) -> Result<Value> {
    println!("xtask: {mode}, {requests} requests, concurrency {concurrency}");
    let output = Command::new(release.join("load"))
        .args(["--mode", mode, "--url", url])
        .args(["--requests", &requests.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .output()
        .context("cannot start the load client")?;
    if !output.status.success() {
        bail!(
            "the {mode} run at concurrency {concurrency} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("the load client printed no JSON")
}

fn field(figures: &Value, name: &str) -> f64 {
    figures
        .get(name)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

/// The peak resident memory (`VmHWM`) of process `pid`, in KiB.
fn peak_resident_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no VmHWM line in {path}"))
}

/// A one-line description of the machine (CPU model and count).
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} × {model}")
}

fn print_table(rows: &[Value], peak_kib: u64) {
    println!(
        "\n{:>5} | {:>9} {:>8} {:>8} | {:>9} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>9} | {:>6} {:>6}",
        "conc",
        "direct/s",
        "p50 ms",
        "p99 ms",
        "floor/s",
        "p50 ms",
        "proxy/s",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "%dir",
        "%floor"
    );
    println!("{}", "-".repeat(134));
    for row in rows {
        let direct = row.get("direct").cloned().unwrap_or_default();
        let floor = row.get("passthrough").cloned().unwrap_or_default();
        let proxy = row.get("proxy").cloned().unwrap_or_default();
        println!(
            "{:>5} | {:>9.0} {:>8.3} {:>8.3} | {:>9.0} {:>8.3} | {:>9.0} {:>8.3} {:>8.3} | {:>9.3} {:>9.3} | {:>5.0}% {:>5.0}%",
            row.get("concurrency").and_then(Value::as_u64).unwrap_or(0),
            field(&direct, "requests_per_second"),
            field(&direct, "p50_ms"),
            field(&direct, "p99_ms"),
            field(&floor, "requests_per_second"),
            field(&floor, "p50_ms"),
            field(&proxy, "requests_per_second"),
            field(&proxy, "p50_ms"),
            field(&proxy, "p99_ms"),
            field(row, "added_p50_ms"),
            field(row, "added_p99_ms"),
            field(row, "proxy_share_of_direct") * 100.0,
            field(row, "proxy_share_of_passthrough") * 100.0,
        );
    }
    println!(
        "\nfloor = passthrough (JSON in, second HTTP hop, JSON out; no proxy work); +p50/+p99 = proxy - direct"
    );
    println!(
        "serve peak resident memory (VmHWM): {:.1} MiB; machine: {}",
        peak_kib as f64 / 1024.0,
        machine()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_concurrencies() {
        let args: Vec<String> = ["--requests", "100", "--concurrency", "1,8"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (requests, concurrencies) = parse_args(&args).unwrap();
        assert_eq!(requests, 100);
        assert_eq!(concurrencies, vec![1, 8]);
        assert!(parse_args(&["--requests".to_owned(), "0".to_owned()]).is_err());
        assert!(parse_args(&["--bogus".to_owned(), "1".to_owned()]).is_err());
    }

    #[test]
    fn reads_our_own_peak_memory() {
        assert!(peak_resident_kib(std::process::id()).unwrap() > 0);
    }
}
