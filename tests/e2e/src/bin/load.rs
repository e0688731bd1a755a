//! `load`: a load client for the end-to-end benchmark (`cargo xtask bench`).
//!
//! Sends `--requests N` requests, `--concurrency C` at a time, over one shared
//! connection pool, to either the stub backend's `POST /completion` (`--mode direct`)
//! or the proxy's `POST /v1/chat/completions` (`--mode proxy`, a small MemGPT-style
//! request; `--mode passthrough` sends the same to the `passthrough` floor), checks every answer (status 200; for the proxy a `send_message` tool call)
//! and prints one JSON object: `requests`, `concurrency`, `seconds`, `requests_per_second`,
//! `p50_ms`, `p99_ms`. It exits with failure if any request is lost or wrong.
//!
//! Usage: `load --mode direct|proxy|passthrough --url BASE_URL [--requests N] [--concurrency C]`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where the requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The stub's `/completion`.
    Direct,
    /// The proxy's `/v1/chat/completions`.
    Proxy,
}

struct Options {
    mode: Mode,
    url: String,
    requests: usize,
    concurrency: usize,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("load: {message}\nusage: load --mode direct|proxy|passthrough --url BASE_URL [--requests N] [--concurrency C]");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("load: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        mode: Mode::Direct,
        url: String::new(),
        requests: 2000,
        concurrency: 1,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--mode" => {
                options.mode = match value.as_str() {
                    "direct" => Mode::Direct,
                    // The pass-through floor answers the same request and shape.
                    "proxy" | "passthrough" => Mode::Proxy,
                    other => return Err(format!("unknown mode `{other}`")),
                }
            }
            "--url" => options.url = value.trim_end_matches('/').to_owned(),
            "--requests" => options.requests = number(&flag, &value)?,
            "--concurrency" => options.concurrency = number(&flag, &value)?,
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    if options.url.is_empty() {
        return Err("give --url".to_owned());
    }
    Ok(options)
}

fn number(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`{flag}` needs a positive whole number, not `{value}`"
        )),
    }
}

/// The request each mode sends.
fn request_body(mode: Mode) -> (String, Value) {
    let system = "You are MemGPT, the latest version of Limnal Corporation's digital companion. \
                  Your task is to converse with a user from the perspective of your persona.";
    match mode {
        Mode::Direct => (
            "/completion".to_owned(),
            json!({
                "prompt": format!("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n{{\n  \"function\":"),
                "n_predict": 256,
                "temperature": 0.8,
                "stop": ["<|im_start|>", "<|im_end|>"],
            }),
        ),
        Mode::Proxy => (
            "/v1/chat/completions".to_owned(),
            json!({
                "model": "bench",
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"Hello there!\", \"time\": \"2024-01-01 10:00:00 AM\"}"},
                ],
                "tools": [{"type": "function", "function": {
                    "name": "send_message",
                    "description": "Sends a message to the human user.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "message": {"type": "string", "description": "Message contents. All unicode (including emojis) are supported."}
                        },
                        "required": ["message"]
                    }
                }}],
            }),
        ),
    }
}

/// Checks one answer's body.
fn check(mode: Mode, body: &[u8]) -> Result<(), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    match mode {
        Mode::Direct => match value.get("content").and_then(Value::as_str) {
            Some(content) if content.contains("send_message") => Ok(()),
            _ => Err(format!("no canned `content` in {value}")),
        },
        Mode::Proxy => {
            let name = value
                .pointer("/choices/0/message/tool_calls/0/function/name")
                .and_then(Value::as_str);
            if name == Some("send_message") {
                Ok(())
            } else {
                Err(format!("no send_message tool call in {value}"))
            }
        }
    }
}

async fn one_request(
    client: &reqwest::Client,
    mode: Mode,
    url: &str,
    body: &Value,
) -> Result<Duration, String> {
    let started = Instant::now();
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| format!("reading the body failed: {error}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    check(mode, &bytes)?;
    Ok(started.elapsed())
}

async fn run(options: Options) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|error| format!("cannot build the client: {error}"))?;
    let (path, body) = request_body(options.mode);
    let url = format!("{}{path}", options.url);
    let body = Arc::new(body);

    // Warm up: open the connections (one per worker) before measuring.
    let warm_up: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), Arc::clone(&body));
            tokio::spawn(async move { one_request(&client, options.mode, &url, &body).await })
        })
        .collect();
    for task in warm_up {
        task.await
            .map_err(|error| format!("a warm-up task failed: {error}"))??;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (client, url, body, next) = (
                client.clone(),
                url.clone(),
                Arc::clone(&body),
                Arc::clone(&next),
            );
            let (mode, total) = (options.mode, options.requests);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    latencies.push(one_request(&client, mode, &url, &body).await?);
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(options.requests);
    let mut failures = Vec::new();
    for worker in workers {
        match worker.await {
            Ok(Ok(mut some)) => latencies.append(&mut some),
            Ok(Err(message)) => failures.push(message),
            Err(error) => failures.push(format!("a worker task failed: {error}")),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} worker(s) stopped on a lost or wrong answer; the first: {first}",
            failures.len()
        ));
    }
    if latencies.len() != options.requests {
        return Err(format!(
            "{} of {} requests answered",
            latencies.len(),
            options.requests
        ));
    }
    latencies.sort_unstable();
    Ok(json!({
        "requests": options.requests,
        "concurrency": options.concurrency,
        "seconds": seconds,
        "requests_per_second": options.requests as f64 / seconds,
        "p50_ms": percentile_ms(&latencies, 0.50),
        "p99_ms": percentile_ms(&latencies, 0.99),
    }))
}

/// The `fraction` percentile (nearest rank) of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted
        .get(rank - 1)
        .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 50.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }

    #[test]
    fn checks_the_proxy_answer() {
        let good =
            br#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"send_message"}}]}}]}"#;
        assert!(check(Mode::Proxy, good).is_ok());
        assert!(check(Mode::Proxy, br#"{"choices":[]}"#).is_err());
        assert!(check(Mode::Direct, br#"{"content":" \"send_message\""}"#).is_ok());
        assert!(check(Mode::Direct, b"not json").is_err());
    }
}
