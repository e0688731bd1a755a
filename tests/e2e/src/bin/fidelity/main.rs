//! `fidelity`: how often a real model answers with a valid function call, through the
//! proxy with each wrapper and through llama.cpp's own tool calling.
//!
//! Sends every public fixture conversation `--runs` times (default 5) down each row and
//! prints one table line per row:
//!
//! - a proxy row (see [`PROXY_ROWS`]) is `ProxyClient::get_chat_completion` with one
//!   endpoint type (backend), one wrapper, one output constraint and the thoughts
//!   bounded or not, in front of the server (every constraint path llama-server
//!   offers);
//! - the `native` row is llama-server's own `POST /v1/chat/completions` with the
//!   conversation's functions as OpenAI `tools` and `tool_choice: "required"` (the
//!   server must run with `--jinja`; legacy `function_call`/`function` messages are
//!   sent in the `tool_calls`/`tool` form it reads).
//!
//! Every request has the same `max_tokens` (`--max-tokens`, default 512) and the
//! server's default sampling (no fixed seed or temperature). Per row: valid calls, the
//! failures by kind, answers cut off at `max_tokens`, median and maximum latency, and
//! completion tokens (from the response's `usage`). A measurement, not a test: run it
//! with `cargo xtask fidelity`, which starts the real server with `--jinja` and sets
//! `CCP_E2E_LLAMA_URL`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

mod native;

use chat_completion_proxy::backend::ConstraintChoice;
use chat_completion_proxy::{
    ErrorKind, ModelTarget, ProxyClient, ResponseMessage, WrapperSelection,
};
use e2e_tests::{check_call, context_size, fixture_conversations, server_url, Conversation};
use native::{native, template_note};
use serde_json::Value;

/// One way through the proxy: a label for the table, the endpoint type (backend
/// registration name) pointed at the llama-server, and the wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    label: &'static str,
    endpoint_type: &'static str,
    wrapper: &'static str,
    /// The output constraint sent (`None`: the backend's default).
    constraint: Option<&'static str>,
    /// Whether `inner_thoughts` has the default bound (`false`: any length, as before
    /// thoughts were bounded).
    bounded_thoughts: bool,
}

/// The proxy rows, in table order: the wrappers on llamacpp's default grammar, the
/// grammar wrappers with unbounded thoughts, then every other constraint path
/// llama-server offers (its own `json_schema`, the webui path's `grammar` on
/// `/v1/completions`, the lmstudio-legacy path's `response_format` on
/// `/v1/chat/completions`). A new path is one more line here.
const PROXY_ROWS: [Row; 10] = [
    Row {
        label: "chatml",
        endpoint_type: "llamacpp",
        wrapper: "chatml",
        constraint: None,
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-noforce",
        endpoint_type: "llamacpp",
        wrapper: "chatml-noforce",
        constraint: None,
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-grammar",
        endpoint_type: "llamacpp",
        wrapper: "chatml-grammar",
        constraint: None,
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-noforce-grammar",
        endpoint_type: "llamacpp",
        wrapper: "chatml-noforce-grammar",
        constraint: None,
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-grammar/unbounded",
        endpoint_type: "llamacpp",
        wrapper: "chatml-grammar",
        constraint: None,
        bounded_thoughts: false,
    },
    Row {
        label: "chatml-noforce-grammar/unbounded",
        endpoint_type: "llamacpp",
        wrapper: "chatml-noforce-grammar",
        constraint: None,
        bounded_thoughts: false,
    },
    Row {
        label: "chatml-grammar/json_schema",
        endpoint_type: "llamacpp",
        wrapper: "chatml-grammar",
        constraint: Some("json_schema"),
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-noforce-grammar/json_schema",
        endpoint_type: "llamacpp",
        wrapper: "chatml-noforce-grammar",
        constraint: Some("json_schema"),
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-grammar/webui-grammar",
        endpoint_type: "webui",
        wrapper: "chatml-grammar",
        constraint: Some("grammar"),
        bounded_thoughts: true,
    },
    Row {
        label: "chatml-grammar/response_format",
        endpoint_type: "lmstudio-legacy",
        wrapper: "chatml-grammar",
        constraint: Some("response_format"),
        bounded_thoughts: true,
    },
];

/// The label of llama.cpp's own tool calling.
const NATIVE: &str = "native";

/// One selected line of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Proxy(Row),
    Native,
}

impl Path {
    fn label(self) -> &'static str {
        match self {
            Path::Proxy(row) => row.label,
            Path::Native => NATIVE,
        }
    }
}

/// The command line.
#[derive(Debug, PartialEq)]
struct Options {
    runs: u32,
    max_tokens: u64,
    /// The bound on every free-text string argument of the proxy rows (`None`: none,
    /// the default of a model entry).
    max_argument_chars: Option<u32>,
    /// A completion settings file for the proxy rows (sampling fields merged into
    /// every body, as `$CCP_COMPLETION_SETTINGS` is); `None`: none.
    settings: Option<std::path::PathBuf>,
    paths: Vec<Path>,
}

const USAGE: &str =
    "usage: fidelity [--runs N] [--max-tokens N] [--max-argument-chars N] [--settings FILE] [--wrappers a,b,native]";

/// `--runs N` (default 5), `--max-tokens N` (default 512: room for a whole answer, a
/// 135M model's inner thoughts can run long), `--max-argument-chars N` (the bound on
/// the proxy rows' free-text string arguments; default: none), `--settings FILE` (a
/// completion settings file for the proxy rows, e.g. a repetition penalty; default:
/// none) and `--wrappers a,b`
/// (row labels, `native` among them; default: every proxy row, then native).
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let mut options = Options {
        runs: 5,
        max_tokens: 512,
        max_argument_chars: None,
        settings: None,
        paths: PROXY_ROWS
            .into_iter()
            .map(Path::Proxy)
            .chain([Path::Native])
            .collect(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                options.runs = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|runs| *runs > 0)
                    .ok_or("--runs needs a positive number")?;
            }
            "--max-tokens" => {
                options.max_tokens = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|tokens| *tokens > 0)
                    .ok_or("--max-tokens needs a positive number")?;
            }
            "--max-argument-chars" => {
                options.max_argument_chars = Some(
                    args.next()
                        .and_then(|value| value.parse().ok())
                        .filter(|chars| *chars > 0)
                        .ok_or("--max-argument-chars needs a positive number")?,
                );
            }
            "--settings" => {
                options.settings = Some(args.next().ok_or("--settings needs a file")?.into());
            }
            "--wrappers" => {
                let list = args
                    .next()
                    .ok_or("--wrappers needs a comma-separated list")?;
                options.paths = list
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(path_named)
                    .collect::<Result<_, _>>()?;
                if options.paths.is_empty() {
                    return Err("--wrappers needs at least one name".to_owned());
                }
            }
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    Ok(options)
}

fn path_named(name: &str) -> Result<Path, String> {
    if name == NATIVE {
        return Ok(Path::Native);
    }
    PROXY_ROWS
        .into_iter()
        .find(|row| row.label == name)
        .map(Path::Proxy)
        .ok_or_else(|| {
            let known: Vec<&str> = PROXY_ROWS
                .iter()
                .map(|row| row.label)
                .chain([NATIVE])
                .collect();
            format!("unknown row `{name}`; available: {}", known.join(", "))
        })
}

/// The median of `values` (the mean of the two middle ones for an even count); `None`
/// when there are none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A call to an offered function with schema-valid arguments.
    Valid,
    /// A noforce wrapper's answer with inner thoughts and no call (counted as valid).
    ThoughtsOnly,
    /// No call could be read from the model's text (proxy: an output parsing error;
    /// native: a reply without `tool_calls`).
    Unparsable,
    /// A call that is not exactly one call to an offered function with valid
    /// arguments (proxy: or an invalid-tool-call error, its own check of the same).
    Schema,
    /// Any other error (HTTP, backend, a reply of the wrong shape).
    Other,
}

/// One request's result.
struct Outcome {
    verdict: Verdict,
    cut_at_limit: bool,
    completion_tokens: Option<u64>,
}

impl Outcome {
    fn failed(verdict: Verdict) -> Self {
        Outcome {
            verdict,
            cut_at_limit: false,
            completion_tokens: None,
        }
    }
}

#[derive(Default)]
struct Tally {
    total: u32,
    valid_calls: u32,
    thoughts_only: u32,
    unparsable: u32,
    schema_violations: u32,
    cut_at_limit: u32,
    other_errors: u32,
    latencies: Vec<f64>,
    /// Completion tokens of each reply that reported `usage`.
    reply_tokens: Vec<f64>,
    /// Completion tokens of the valid calls (thoughts-only answers excluded).
    valid_call_tokens: Vec<f64>,
    /// Tokens the server generated for the whole row, every retry included (its
    /// `/metrics`); `None` when it does not say.
    generated: Option<f64>,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome, latency: Duration) {
        self.total += 1;
        self.latencies.push(latency.as_secs_f64());
        if outcome.cut_at_limit {
            self.cut_at_limit += 1;
        }
        let tokens = outcome.completion_tokens.map(|tokens| tokens as f64);
        self.reply_tokens.extend(tokens);
        match outcome.verdict {
            Verdict::Valid => {
                self.valid_calls += 1;
                self.valid_call_tokens.extend(tokens);
            }
            Verdict::ThoughtsOnly => {
                self.valid_calls += 1;
                self.thoughts_only += 1;
            }
            Verdict::Unparsable => self.unparsable += 1,
            Verdict::Schema => self.schema_violations += 1,
            Verdict::Other => self.other_errors += 1,
        }
    }

    fn print(&self, label: &str) {
        let seconds = |value: Option<f64>| value.map_or("-".to_owned(), |s| format!("{s:.2}s"));
        let tokens = |value: Option<f64>| value.map_or("-".to_owned(), |t| format!("{t:.0}"));
        let max_latency = self.latencies.iter().copied().reduce(f64::max);
        let mean_valid = (!self.valid_call_tokens.is_empty()).then(|| {
            self.valid_call_tokens.iter().sum::<f64>() / self.valid_call_tokens.len() as f64
        });
        let generated_per_valid = self
            .generated
            .filter(|_| self.valid_calls > 0)
            .map(|generated| generated / f64::from(self.valid_calls));
        println!(
            "{:<36} {:>11} {:>7.1}% {:>8} {:>10} {:>7} {:>7} {:>8} {:>8} {:>10} {:>10} {:>10}{}",
            label,
            format!("{}/{}", self.valid_calls, self.total),
            100.0 * f64::from(self.valid_calls) / f64::from(self.total.max(1)),
            self.thoughts_only,
            self.unparsable,
            self.schema_violations,
            self.cut_at_limit,
            seconds(median(&self.latencies)),
            seconds(max_latency),
            tokens(median(&self.reply_tokens)),
            tokens(mean_valid),
            tokens(generated_per_valid),
            if self.other_errors > 0 {
                format!("  ({} other errors)", self.other_errors)
            } else {
                String::new()
            }
        );
    }
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

/// What every request needs.
struct Setup {
    url: String,
    max_tokens: u64,
    proxy: ProxyClient,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

fn run() -> Result<(), String> {
    let options = parse_args(std::env::args().skip(1))?;
    let conversations = fixture_conversations()?;
    let setup = Setup {
        url: server_url()?,
        max_tokens: options.max_tokens,
        proxy: ProxyClient::builder()
            .settings_file(options.settings.clone())
            .build()
            .map_err(|error| error.to_string())?,
        http: reqwest::Client::new(),
        runtime: tokio::runtime::Runtime::new().map_err(|error| error.to_string())?,
    };
    println!(
        "fidelity: {} conversations x {} runs per row, max_tokens {}, free-text arguments {}, llama-server at {}",
        conversations.len(),
        options.runs,
        options.max_tokens,
        options
            .max_argument_chars
            .map_or("unbounded".to_owned(), |max| format!("at most {max} characters")),
        setup.url
    );
    if let Some(settings) = &options.settings {
        println!(
            "completion settings of the proxy rows: {}",
            settings.display()
        );
    }
    if options.paths.contains(&Path::Native) {
        if let Some(note) = template_note(&setup) {
            println!("{note}");
        }
    }
    println!(
        "{:<36} {:>11} {:>8} {:>8} {:>10} {:>7} {:>7} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "row",
        "valid/total",
        "valid%",
        "thoughts",
        "unparsable",
        "schema",
        "cut-off",
        "med lat",
        "max lat",
        "tok/reply",
        "tok/valid",
        "gen/valid"
    );
    for path in &options.paths {
        let mut tally = Tally::default();
        let target = match path {
            Path::Proxy(row) => {
                let mut target =
                    ModelTarget::new(row.endpoint_type, setup.url.clone(), context_size());
                target.wrapper = WrapperSelection::Named(row.wrapper.to_owned());
                if let Some(constraint) = row.constraint {
                    target.constraint = ConstraintChoice::parse(constraint);
                }
                if !row.bounded_thoughts {
                    target.max_thought_chars = None;
                }
                target.max_argument_chars = options.max_argument_chars;
                Some(target.resolve().map_err(|error| error.to_string())?)
            }
            Path::Native => None,
        };
        let generated_before = generated_tokens(&setup);
        for conversation in &conversations {
            for _ in 0..options.runs {
                let started = Instant::now();
                let outcome = match (&target, path) {
                    (Some(target), Path::Proxy(row)) => {
                        through_proxy(&setup, target, row, conversation)
                    }
                    _ => native(&setup, conversation),
                };
                tally.add(&outcome, started.elapsed());
            }
        }
        tally.generated = generated_before
            .zip(generated_tokens(&setup))
            .map(|(before, after)| after - before);
        tally.print(path.label());
    }
    println!(
        "valid: exactly one call to an offered function whose arguments validate against its schema \
         (noforce: or inner thoughts alone, counted in thoughts)"
    );
    println!(
        "unparsable: the proxy found no call in the model's text; native: the reply had no tool_calls"
    );
    println!(
        "cut-off: the server stopped at max_tokens ({}); the proxy repairs such answers' JSON and says finish_reason \"length\"",
        options.max_tokens
    );
    println!(
        "latency: median and maximum per request; tok/reply: median completion tokens per reply with usage \
         (proxy errors have none); tok/valid: mean completion tokens per valid call (the answer's own); \
         gen/valid: every token the server generated for the row (retries included; its /metrics) per valid call"
    );
    Ok(())
}

/// Tokens the server has generated since it started: llama-server's
/// `llamacpp:tokens_predicted_total` on `GET /metrics` (it must run with `--metrics`);
/// `None` when it does not answer or say.
fn generated_tokens(setup: &Setup) -> Option<f64> {
    let text = setup.runtime.block_on(async {
        let response = setup
            .http
            .get(format!("{}/metrics", setup.url))
            .send()
            .await
            .ok()?;
        response.error_for_status().ok()?.text().await.ok()
    })?;
    text.lines()
        .find_map(|line| line.strip_prefix("llamacpp:tokens_predicted_total "))
        .and_then(|value| value.trim().parse().ok())
}

/// One request through the proxy's library with `row`'s backend and wrapper.
fn through_proxy(
    setup: &Setup,
    target: &chat_completion_proxy::ResolvedTarget,
    row: &Row,
    conversation: &Conversation,
) -> Outcome {
    let mut request = conversation.request.clone();
    request.seed = None;
    request.temperature = None;
    request.max_tokens = Some(setup.max_tokens);
    let response = match setup
        .runtime
        .block_on(setup.proxy.get_chat_completion(target, &request))
    {
        Ok(response) => response,
        Err(error) if error.kind() == ErrorKind::OutputParsingError => {
            return Outcome::failed(Verdict::Unparsable)
        }
        // The proxy checked the call against its function's schema itself.
        Err(error) if error.kind() == ErrorKind::InvalidToolCall => {
            eprintln!("{} on {}: {error}", row.label, conversation.case);
            return Outcome::failed(Verdict::Schema);
        }
        Err(error) => {
            eprintln!("{} on {}: {error}", row.label, conversation.case);
            return Outcome::failed(Verdict::Other);
        }
    };
    let Some(choice) = response.choices.first() else {
        eprintln!(
            "{} on {}: a response without choices",
            row.label, conversation.case
        );
        return Outcome::failed(Verdict::Other);
    };
    let finish = serde_json::to_value(choice.finish_reason).unwrap_or_default();
    let verdict = if choice.message.tool_calls.is_none() && row.wrapper.contains("noforce") {
        Verdict::ThoughtsOnly
    } else {
        judge(row.label, conversation, &choice.message, &finish)
    };
    if finish == "length" {
        eprintln!(
            "{} on {}: cut off at max_tokens ({} tokens); the answer: {:?}",
            row.label, conversation.case, response.usage.completion_tokens, choice.message
        );
    }
    Outcome {
        verdict,
        cut_at_limit: finish == "length",
        completion_tokens: Some(response.usage.completion_tokens),
    }
}

fn judge(
    label: &str,
    conversation: &Conversation,
    message: &ResponseMessage,
    finish: &Value,
) -> Verdict {
    match check_call(message, &conversation.functions) {
        Ok(()) => Verdict::Valid,
        Err(problem) => {
            eprintln!(
                "{label} on {} (finish_reason {finish}): {problem}",
                conversation.case
            );
            Verdict::Schema
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn medians_of_odd_even_and_empty_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn arguments_select_rows_runs_and_max_tokens() {
        let defaults = parse(&[]).unwrap();
        assert_eq!((defaults.runs, defaults.max_tokens), (5, 512));
        assert_eq!(
            (defaults.max_argument_chars, defaults.settings),
            (None, None)
        );
        let labels: Vec<&str> = defaults.paths.iter().map(|path| path.label()).collect();
        assert_eq!(
            labels,
            [
                "chatml",
                "chatml-noforce",
                "chatml-grammar",
                "chatml-noforce-grammar",
                "chatml-grammar/unbounded",
                "chatml-noforce-grammar/unbounded",
                "chatml-grammar/json_schema",
                "chatml-noforce-grammar/json_schema",
                "chatml-grammar/webui-grammar",
                "chatml-grammar/response_format",
                "native"
            ]
        );
        let path = parse(&["--wrappers", "chatml-grammar/json_schema"]).unwrap();
        assert_eq!(path.paths, [Path::Proxy(PROXY_ROWS[6])]);
        assert_eq!(PROXY_ROWS[6].constraint, Some("json_schema"));
        let chosen = parse(&[
            "--runs",
            "2",
            "--max-tokens",
            "256",
            "--max-argument-chars",
            "300",
            "--wrappers",
            "native,chatml-grammar",
        ])
        .unwrap();
        assert_eq!((chosen.runs, chosen.max_tokens), (2, 256));
        assert_eq!(chosen.max_argument_chars, Some(300));
        assert_eq!(chosen.paths, [Path::Native, Path::Proxy(PROXY_ROWS[2])]);
        assert_eq!(
            parse(&["--wrappers", "native"]).unwrap().paths,
            [Path::Native]
        );
        let unknown = parse(&["--wrappers", "llama9"]).unwrap_err();
        assert!(
            unknown.contains("available: chatml, ") && unknown.ends_with("native"),
            "{unknown}"
        );
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--max-tokens"]).is_err());
        assert!(parse(&["--max-argument-chars", "0"]).is_err());
        assert!(parse(&["--tool-choice", "auto"])
            .unwrap_err()
            .contains("usage"));
    }
}
