//! `cargo xtask failover`: one model served by three real llama-servers behind one
//! `serve`, under a bounded load, while one server fails: killed with SIGKILL and
//! started again on its port (scenario `kill`), then stopped with SIGSTOP — it still
//! accepts connections but never answers — and resumed with SIGCONT (scenario
//! `hang`).
//!
//! Every request must get a valid answer (HTTP 200, one `send_message` call with a
//! string `message`): none lost, none an error. The failed server's share of the
//! answers must drop to zero while it is down and come back after it returns. The run
//! prints, per scenario and phase, the answers per replica (from `serve`'s
//! `/metrics`), the retries, and the latency of the requests the proxy retried on
//! another replica (their ids from its log) against the others'.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::llama_server;
use crate::service::{free_port, Service};
use crate::workspace::{cargo, target_dir};

/// Requests per scenario unless `--requests` says otherwise.
const REQUESTS: usize = 300;
/// Requests in flight at once unless `--concurrency` says otherwise.
const CONCURRENCY: usize = 16;
/// The model's name in the config.
const MODEL: &str = "smol";
/// How long `serve` waits for a replica's first byte before it counts the replica as
/// hung and retries elsewhere (the model config's `timeout_secs`).
const FIRST_BYTE_TIMEOUT_SECS: u64 = 15;

/// Each server's extra flags: three servers share the machine's cores, so each gets
/// one thread and sleeps instead of spinning while it waits (`--poll 0`); llama.cpp's
/// busy-waiting threads slow every server to a crawl when they outnumber the cores.
const SERVER_ARGS: &[&str] = &["--threads", "1", "--threads-batch", "1", "--poll", "0"];

/// How long after the failure the answers are counted (see [`run_scenario`]).
const SETTLE: Duration = Duration::from_millis(500);

/// Runs both scenarios; `args` are `[--requests N] [--concurrency N]`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let requests = flag(args, "--requests")?.unwrap_or(REQUESTS);
    let concurrency = flag(args, "--concurrency")?.unwrap_or(CONCURRENCY);
    cargo(
        root,
        &["build", "--release", "-p", crate::plugins::CLI, "--quiet"],
    )?;
    let out_dir = target_dir(root).join("failover");
    fs::create_dir_all(&out_dir)?;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(llama_server::start_with(SERVER_ARGS)?);
    }
    let ports: Vec<u16> = servers.iter().map(|server| port_of(&server.url)).collect();
    let serve_port = free_port()?;
    let config = out_dir.join("config.toml");
    fs::write(&config, config_toml(serve_port, &servers))?;
    let serve = Service::start(
        "chat-completion-proxy serve",
        Command::new(target_dir(root).join("release/chat-completion-proxy"))
            .args(["serve", "--config"])
            .arg(&config),
        serve_port,
        &out_dir.join("serve.log"),
        Duration::from_secs(60),
    )?;
    let mut failures = Vec::new();
    for scenario in [Scenario::Kill, Scenario::Hang] {
        let report = run_scenario(
            scenario,
            &serve.url,
            &serve.log,
            &mut servers,
            &ports,
            requests,
            concurrency,
        )?;
        report.print();
        failures.extend(report.failures());
    }
    if !failures.is_empty() {
        bail!("failover: {}", failures.join("; "));
    }
    println!("failover: every request answered validly in both scenarios");
    Ok(())
}

/// The value of `--name N`, if given.
fn flag(args: &[String], name: &str) -> Result<Option<usize>> {
    let Some(at) = args.iter().position(|arg| arg == name) else {
        return Ok(None);
    };
    match args.get(at + 1).and_then(|value| value.parse().ok()) {
        Some(value) if value > 0 => Ok(Some(value)),
        _ => bail!("`{name}` needs a positive number"),
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_default()
}

/// One model on the three servers: one slot each (the servers run `--parallel 1`),
/// a queue deep enough for the load, a short cooldown and probe interval so the run
/// sees a replica come back within seconds.
fn config_toml(serve_port: u16, servers: &[Service]) -> String {
    let endpoints: Vec<String> = servers
        .iter()
        .map(|server| format!("  {{ url = \"{}\", max_in_flight = 1 }},", server.url))
        .collect();
    format!(
        "listen = \"127.0.0.1:{serve_port}\"\n\n\
         [[models]]\n\
         name = \"{MODEL}\"\n\
         endpoint_type = \"llamacpp\"\n\
         wrapper = \"chatml-grammar\"\n\
         context_window = {}\n\
         tokenizer = \"cl100k\"\n\
         max_thought_chars = 120\n\
         max_argument_chars = 200\n\
         timeout_secs = {FIRST_BYTE_TIMEOUT_SECS}\n\
         max_queue = 256\n\
         endpoints = [\n{}\n]\n\n\
         [models.health]\n\
         eject_after = 2\n\
         cooldown_secs = 2\n\
         probe_interval_secs = 1\n",
        llama_server::CONTEXT_SIZE,
        endpoints.join("\n")
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// SIGKILL, then the server started again on its port.
    Kill,
    /// SIGSTOP (connections accepted, nothing answered), then SIGCONT.
    Hang,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Kill => "kill (SIGKILL, restarted on its port)",
            Scenario::Hang => "hang (SIGSTOP: accepts, never answers; then SIGCONT)",
        }
    }

    /// The replica that fails (the second for `kill`, the third for `hang`).
    fn victim(self) -> usize {
        match self {
            Scenario::Kill => 1,
            Scenario::Hang => 2,
        }
    }
}

/// One request's result.
struct Outcome {
    started: Instant,
    ended: Instant,
    problem: Option<String>,
    /// `serve`'s id for it (`x-request-id`).
    request_id: Option<String>,
}

/// What one scenario measured.
struct Report {
    scenario: Scenario,
    outcomes: Vec<Outcome>,
    /// The ids of the requests `serve` retried on another replica (its log).
    retried: HashSet<String>,
    /// Answers per replica: before the failure, while down, after it returned.
    phases: [Vec<(String, f64)>; 3],
    victim_label: String,
    retries: f64,
}

fn run_scenario(
    scenario: Scenario,
    serve_url: &str,
    serve_log: &Path,
    servers: &mut [Service],
    ports: &[u16],
    requests: usize,
    concurrency: usize,
) -> Result<Report> {
    println!("failover: scenario {}", scenario.name());
    let victim = scenario.victim();
    let done = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(requests)));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (done, next, outcomes) = (done.clone(), next.clone(), outcomes.clone());
            let url = format!("{serve_url}/v1/chat/completions");
            std::thread::spawn(move || {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(180)))
                    .build()
                    .new_agent();
                while next.fetch_add(1, Ordering::SeqCst) < requests {
                    let started = Instant::now();
                    let (request_id, answer) = one_request(&agent, &url);
                    let outcome = Outcome {
                        started,
                        ended: Instant::now(),
                        problem: answer.err(),
                        request_id,
                    };
                    if let Ok(mut all) = outcomes.lock() {
                        all.push(outcome);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let wait_for = |count: usize| {
        while done.load(Ordering::SeqCst) < count {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let answers_0 = answers_per_replica(serve_url)?;
    let retries_0 = metric_sum(serve_url, "ccp_backend_retries_total")?;
    wait_for(requests / 3);
    match scenario {
        Scenario::Kill => servers[victim].signal("KILL")?,
        Scenario::Hang => servers[victim].signal("STOP")?,
    }
    // Counted after the failure, once an answer the server had already written has
    // reached `serve`: such an answer belongs before, and nothing after it can come
    // from the failed server.
    std::thread::sleep(SETTLE);
    let answers_1 = answers_per_replica(serve_url)?;
    println!(
        "failover: replica {} ({}) failed after {} answers",
        victim + 1,
        servers[victim].url,
        done.load(Ordering::SeqCst)
    );
    wait_for(2 * requests / 3);
    let answers_2 = answers_per_replica(serve_url)?;
    match scenario {
        Scenario::Kill => servers[victim] = llama_server::start_on(ports[victim], SERVER_ARGS)?,
        Scenario::Hang => servers[victim].signal("CONT")?,
    }
    println!(
        "failover: replica {} back after {} answers",
        victim + 1,
        done.load(Ordering::SeqCst)
    );
    for worker in workers {
        if worker.join().is_err() {
            bail!("a load thread panicked");
        }
    }
    let answers_3 = answers_per_replica(serve_url)?;
    let retries = metric_sum(serve_url, "ccp_backend_retries_total")? - retries_0;
    let outcomes = std::mem::take(&mut *outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(Report {
        scenario,
        outcomes,
        retried: retried_requests(serve_log)?,
        phases: [
            delta(&answers_0, &answers_1),
            delta(&answers_1, &answers_2),
            delta(&answers_2, &answers_3),
        ],
        victim_label: replica_label(&servers[victim].url),
        retries,
    })
}

/// One chat completion with a required call; `Err` says what was wrong with it.
fn one_request(agent: &ureq::Agent, url: &str) -> (Option<String>, Result<(), String>) {
    let mut request_id = None;
    let answer = answer(agent, url, &mut request_id);
    (request_id, answer)
}

/// [`one_request`]'s request; `request_id` gets `serve`'s id for it.
fn answer(
    agent: &ureq::Agent,
    url: &str,
    request_id: &mut Option<String>,
) -> std::result::Result<(), String> {
    let body = json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Answer by calling send_message."},
            {"role": "user", "content": "Say hello to the team in one sentence."}
        ],
        "tools": [{"type": "function", "function": {
            "name": "send_message",
            "description": "Sends a message to the user.",
            "parameters": {"type": "object",
                "properties": {"message": {"type": "string", "description": "The message."}},
                "required": ["message"]}}}],
        "tool_choice": "required",
        "max_tokens": 160
    });
    let mut response = agent
        .post(url)
        .send_json(&body)
        .map_err(|error| format!("no answer: {error}"))?;
    *request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .map(str::to_owned);
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|error| format!("HTTP {status}, unreadable body: {error}"))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {text}"));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|error| format!("not JSON ({error}): {text}"))?;
    let call = &answer["choices"][0]["message"]["tool_calls"][0]["function"];
    if call["name"] != "send_message" {
        return Err(format!("not a send_message call: {text}"));
    }
    let arguments: Value = call["arguments"]
        .as_str()
        .and_then(|arguments| serde_json::from_str(arguments).ok())
        .unwrap_or_default();
    if !arguments["message"].is_string() {
        return Err(format!("no string `message`: {text}"));
    }
    Ok(())
}

/// The ids of the requests `serve`'s log says it retried on another replica (its
/// `retrying on another replica` lines, inside the request's span `request{id=…}`).
fn retried_requests(serve_log: &Path) -> Result<HashSet<String>> {
    let log = fs::read_to_string(serve_log)
        .with_context(|| format!("cannot read {}", serve_log.display()))?;
    Ok(log
        .lines()
        .filter(|line| line.contains("retrying on another replica"))
        .filter_map(|line| {
            let rest = line.split_once("request{id=")?.1;
            rest.split([' ', '}']).next().map(str::to_owned)
        })
        .collect())
}

/// The replica label `serve` uses for a server at `url` (its host and port).
fn replica_label(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// `ccp_replica_answers_total{model="smol",replica=…}` from `serve`'s `/metrics`.
fn answers_per_replica(serve_url: &str) -> Result<Vec<(String, f64)>> {
    let text = metrics_text(serve_url)?;
    let mut answers = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("ccp_replica_answers_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let replica = labels
            .split(',')
            .find_map(|label| label.strip_prefix("replica=\""))
            .map(|value| value.trim_end_matches('"').to_owned());
        if let (Some(replica), Ok(value)) = (replica, value.trim().parse::<f64>()) {
            answers.push((replica, value));
        }
    }
    Ok(answers)
}

/// The sum over every series of the metric `name`.
fn metric_sum(serve_url: &str, name: &str) -> Result<f64> {
    let text = metrics_text(serve_url)?;
    Ok(text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

fn metrics_text(serve_url: &str) -> Result<String> {
    let mut response = ureq::get(&format!("{serve_url}/metrics"))
        .call()
        .context("GET /metrics on serve")?;
    Ok(response.body_mut().read_to_string()?)
}

/// Per replica, `after` minus `before` (a replica missing before counts from zero).
fn delta(before: &[(String, f64)], after: &[(String, f64)]) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(replica, value)| {
            let earlier = before
                .iter()
                .find(|(other, _)| other == replica)
                .map_or(0.0, |(_, value)| *value);
            (replica.clone(), value - earlier)
        })
        .collect()
}

impl Report {
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let bad: Vec<&String> = self
            .outcomes
            .iter()
            .filter_map(|outcome| outcome.problem.as_ref())
            .collect();
        if !bad.is_empty() {
            failures.push(format!(
                "{}: {} of {} requests failed, the first: {}",
                self.scenario.name(),
                bad.len(),
                self.outcomes.len(),
                bad[0]
            ));
        }
        let share = |phase: usize| {
            self.phases[phase]
                .iter()
                .find(|(replica, _)| *replica == self.victim_label)
                .map_or(0.0, |(_, value)| *value)
        };
        if share(0) <= 0.0 {
            failures.push(format!(
                "{}: {} answered nothing before it failed",
                self.scenario.name(),
                self.victim_label
            ));
        }
        if share(1) > 0.0 {
            failures.push(format!(
                "{}: {} answered {} requests while it was down",
                self.scenario.name(),
                self.victim_label,
                share(1)
            ));
        }
        if share(2) <= 0.0 {
            failures.push(format!(
                "{}: {} answered nothing after it returned",
                self.scenario.name(),
                self.victim_label
            ));
        }
        failures
    }

    fn print(&self) {
        let latencies = |retried: bool| {
            let mut seconds: Vec<f64> = self
                .outcomes
                .iter()
                .filter(|outcome| {
                    outcome
                        .request_id
                        .as_ref()
                        .is_some_and(|id| self.retried.contains(id))
                        == retried
                })
                .map(|outcome| (outcome.ended - outcome.started).as_secs_f64())
                .collect();
            seconds.sort_by(f64::total_cmp);
            seconds
        };
        let (hit, others) = (latencies(true), latencies(false));
        let at = |values: &[f64], q: f64| {
            values
                .get(((values.len() as f64 - 1.0) * q).round() as usize)
                .map_or("-".to_owned(), |value| format!("{value:.2}s"))
        };
        let valid = self
            .outcomes
            .iter()
            .filter(|outcome| outcome.problem.is_none())
            .count();
        println!(
            "failover: {}: {valid}/{} valid answers, {} retries",
            self.scenario.name(),
            self.outcomes.len(),
            self.retries
        );
        for (phase, answers) in ["before", "down", "back"].iter().zip(&self.phases) {
            let cells: Vec<String> = answers
                .iter()
                .map(|(replica, value)| format!("{replica}: {value}"))
                .collect();
            println!("  answers per replica {phase:>6}: {}", cells.join(", "));
        }
        println!(
            "  latency of the {} requests retried on another replica: median {}, max {}; of the other {}: median {}, p99 {}",
            hit.len(),
            at(&hit, 0.5),
            at(&hit, 1.0),
            others.len(),
            at(&others, 0.5),
            at(&others, 0.99)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retried_requests_are_read_off_the_log_by_their_span_id() {
        let dir = std::env::temp_dir().join(format!("xtask-failover-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("serve.log");
        fs::write(
            &log,
            "2026-12-03T12:38:48Z  WARN request{id=req_aa method=POST path=/v1/chat/completions model=smol}: proxy_core::orchestrator::replicas: retrying on another replica: timed out\n\
             2026-12-03T12:38:49Z  INFO request{id=req_bb method=POST}: proxy_server::telemetry: request finished status=200\n\
             2026-12-03T12:38:50Z  WARN request{id=req_cc}: proxy_core::orchestrator::replicas: retrying on another replica: refused\n\
             2026-12-03T12:38:51Z  INFO proxy_core::orchestrator::replicas: replica 3 is back\n",
        )
        .unwrap();
        let retried = retried_requests(&log).unwrap();
        assert_eq!(
            retried,
            HashSet::from(["req_aa".to_owned(), "req_cc".to_owned()])
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn answers_per_phase_are_differences_per_replica() {
        let before = vec![("a:1".to_owned(), 3.0), ("b:2".to_owned(), 5.0)];
        let after = vec![
            ("b:2".to_owned(), 9.0),
            ("a:1".to_owned(), 3.0),
            ("c:3".to_owned(), 2.0),
        ];
        assert_eq!(
            delta(&before, &after),
            vec![
                ("b:2".to_owned(), 4.0),
                ("a:1".to_owned(), 0.0),
                ("c:3".to_owned(), 2.0)
            ]
        );
    }
}
