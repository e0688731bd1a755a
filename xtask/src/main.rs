//! Project automation, run as `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! - `chat-templates`: the Jinja chat-template renderer against Python's jinja2 on the
//!   public models' templates in `../shared/data/chat-templates/`.
//! - `demo`: the main job on the example conversation in `examples/`.
//! - `test-all`: every check the project has, in the order CI runs them.
//! - `e2e`: the end-to-end tests on a real llama.cpp server with a real model.
//! - `e2e-clients`: only the third-party client suites of `e2e` (OpenAI's Python and
//!   Node SDKs, LangChain, LiteLLM, MemGPT).
//! - `e2e-memgpt`: only MemGPT's suite.
//! - `fidelity`: valid-call rates, latency and tokens on that model, per wrapper through
//!   the proxy and for llama.cpp's own tool calling (`--jinja`, `tools`).
//! - `failover`: one model on three real llama-servers behind `serve`, under load,
//!   while one is killed and restarted, then hung and resumed: no request lost.
//! - `bench`: the end-to-end load benchmark (stub backend: direct, through a
//!   pass-through floor and through `serve`).

mod bench;
mod bench_instructions;
mod chat_templates;
mod clients;
mod demo;
mod e2e;
mod failover;
mod llama_server;
mod plugins;
mod service;
mod test_all;
mod workspace;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test-all") => test_all::run(),
        Some("chat-templates") => chat_templates::run(&workspace::workspace_root()),
        Some("demo") => demo::run(&workspace::workspace_root()),
        Some("e2e") => e2e::run(&workspace::workspace_root()),
        Some("e2e-clients") => {
            clients::run_alone(&workspace::workspace_root(), clients::Suites::All)
        }
        Some("e2e-memgpt") => {
            clients::run_alone(&workspace::workspace_root(), clients::Suites::MemGpt)
        }
        Some("bench") => bench::run(&workspace::workspace_root(), &args[1..]),
        Some("fidelity") => e2e::fidelity(&workspace::workspace_root(), &args[1..]),
        Some("failover") => failover::run(&workspace::workspace_root(), &args[1..]),
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
  bench      [--requests N] [--concurrency 1,64,512] load benchmark: a stub llama.cpp
             directly, through a pass-through floor and through `serve` (release);
             table + target/bench/load.json
             bench --instructions [--requests N] [--serve-binary PATH]: serve's
             instructions per request, counted by valgrind's callgrind (repeatable on
             a busy machine); target/bench/instructions.json; --serve-binary counts
             another build's binary (an older commit's) with the same stub and client
  chat-templates  the chat-template renderer against Python's jinja2 (transformers'
             settings) on every template in ../shared/data/chat-templates (expected
             outputs rendered into target/chat-templates-expected, never committed);
             says so and passes when that folder is absent
  demo       a real llama-server and model, `serve` in front, examples/conversation.json
             sent over HTTP; prints the tool call and the timings
  e2e        end-to-end tests on a real llama.cpp server and model (built/downloaded on
             first use into ~/.cache/chat-completion-proxy/e2e, or $CCP_E2E_CACHE), then
             OpenAI's Python and Node SDKs, LangChain, LiteLLM and MemGPT against `serve`
  e2e-clients  only those client suites (their environments are cached the same way)
  e2e-memgpt   only MemGPT (pymemgpt 0.3.25) stepping agents through `serve`
  failover   [--requests N] [--concurrency N] one model on three real llama-servers
             behind `serve`, under load; one server SIGKILLed and restarted, then
             SIGSTOPped (hung) and resumed: every request must get a valid answer, the
             failed server's share drop to zero and come back; prints the answers per
             replica and phase and the latency of the requests hit by the failure
  fidelity   [--runs N] [--max-tokens N] [--wrappers chatml,...,native] on the real model
             (a measurement): each fixture conversation through the proxy with each
             wrapper and through llama-server's own tool calling (--jinja, tools,
             tool_choice \"required\"); per row valid calls, failures, cut-offs, median
             and max latency, completion tokens
  test-all   fmt check, clippy -D warnings, docs -D warnings, all tests with all features, the facade with
             each plugin feature alone and with none, the CLI's forwarded features, and the
             shared chat templates against jinja2, the reference fixtures through the
             release binary, then e2e, then failover";
