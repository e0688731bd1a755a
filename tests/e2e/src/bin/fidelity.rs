//! `fidelity`: how often a real model answers with a valid function call, per wrapper.
//!
//! Sends every public fixture conversation `--runs` times (default 5) through the
//! `llamacpp` backend with each wrapper, with the server's default sampling (no fixed
//! seed or temperature), and prints a table. A measurement, not a test: run it with
//! `cargo xtask fidelity`, which starts the real server and sets `CCP_E2E_LLAMA_URL`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chat_completion_proxy::{ModelTarget, ProxyClient, WrapperSelection};
use e2e_tests::{check_call, context_size, fixture_conversations, server_url};

const WRAPPERS: [&str; 4] = [
    "chatml",
    "chatml-noforce",
    "chatml-grammar",
    "chatml-noforce-grammar",
];

/// Room for a whole answer: a 135M model's inner thoughts can run long.
const MAX_TOKENS: u64 = 512;

#[derive(Default)]
struct Tally {
    total: u32,
    valid_calls: u32,
    thoughts_only: u32,
    unparseable: u32,
    schema_violations: u32,
    cut_at_limit: u32,
    other_errors: u32,
    latency: Duration,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fidelity: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--runs N` (default 5) and `--wrappers a,b` (default: all four).
fn args() -> Result<(u32, Vec<String>), String> {
    let mut args = std::env::args().skip(1);
    let mut runs = 5;
    let mut wrappers: Vec<String> = WRAPPERS.iter().map(|w| (*w).to_owned()).collect();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .ok_or("--runs needs a positive number")?;
            }
            "--wrappers" => {
                wrappers = args
                    .next()
                    .ok_or("--wrappers needs a comma-separated list")?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: fidelity [--runs N] [--wrappers a,b]"
                ))
            }
        }
    }
    Ok((runs, wrappers))
}

fn run() -> Result<(), String> {
    let (runs, wrappers) = args()?;
    let url = server_url()?;
    let conversations = fixture_conversations()?;
    let client = ProxyClient::builder()
        .settings_file(None)
        .build()
        .map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|error| error.to_string())?;
    println!(
        "fidelity: {} conversations x {runs} runs per wrapper, llamacpp at {url}",
        conversations.len()
    );
    println!(
        "{:<24} {:>12} {:>8} {:>13} {:>10} {:>8} {:>9} {:>13}",
        "wrapper",
        "valid/total",
        "valid%",
        "thoughts-only",
        "unparsable",
        "schema",
        "cut-off",
        "mean latency"
    );
    for wrapper in wrappers.iter().map(String::as_str) {
        let mut target = ModelTarget::new("llamacpp", url.clone(), context_size());
        target.wrapper = WrapperSelection::Named(wrapper.to_owned());
        let target = target.resolve().map_err(|error| error.to_string())?;
        let mut tally = Tally::default();
        for conversation in &conversations {
            let mut request = conversation.request.clone();
            request.seed = None;
            request.temperature = None;
            request.max_tokens = Some(MAX_TOKENS);
            for _ in 0..runs {
                tally.total += 1;
                let started = Instant::now();
                let result = runtime.block_on(client.get_chat_completion(&target, &request));
                tally.latency += started.elapsed();
                match result {
                    Ok(response) => {
                        let message = &response.choices[0].message;
                        let finish = serde_json::to_value(response.choices[0].finish_reason)
                            .unwrap_or_default();
                        if finish == "length" {
                            tally.cut_at_limit += 1;
                        }
                        if message.tool_calls.is_none() && wrapper.contains("noforce") {
                            tally.thoughts_only += 1;
                            tally.valid_calls += 1;
                        } else {
                            match check_call(message, &conversation.functions) {
                                Ok(()) => tally.valid_calls += 1,
                                Err(problem) => {
                                    eprintln!(
                                        "{wrapper} on {} (finish_reason {finish}): {problem}",
                                        conversation.case
                                    );
                                    tally.schema_violations += 1;
                                }
                            }
                        }
                    }
                    Err(error)
                        if error.kind() == chat_completion_proxy::ErrorKind::OutputParsingError =>
                    {
                        tally.unparseable += 1
                    }
                    Err(error) => {
                        eprintln!("{wrapper} on {}: {error}", conversation.case);
                        tally.other_errors += 1;
                    }
                }
            }
        }
        let mean = tally.latency / tally.total.max(1);
        println!(
            "{:<24} {:>12} {:>7.1}% {:>13} {:>10} {:>8} {:>9} {:>11.0?}{}",
            wrapper,
            format!("{}/{}", tally.valid_calls, tally.total),
            100.0 * f64::from(tally.valid_calls) / f64::from(tally.total.max(1)),
            tally.thoughts_only,
            tally.unparseable,
            tally.schema_violations,
            tally.cut_at_limit,
            mean,
            if tally.other_errors > 0 {
                format!("  ({} other errors)", tally.other_errors)
            } else {
                String::new()
            }
        );
    }
    println!("cut-off: the server stopped at max_tokens ({MAX_TOKENS}); such answers are repaired JSON, reported with finish_reason \"length\"");
    println!("valid: a call to an offered function whose arguments validate against its schema (noforce: or inner thoughts alone, counted in thoughts-only)");
    Ok(())
}
