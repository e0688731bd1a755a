//! Criterion benchmarks of the proxy's hot paths (`cargo bench -p workspace-tests`):
//! rendering a large MemGPT-style conversation, parsing replies with each repair case,
//! JSON repair on 1 KB and 100 KB inputs, grammar generation for MemGPT's functions,
//! and request/response (de)serialization.
//!
//! The inputs are built deterministically from the public fixtures
//! (`tests/fixtures`).

// A benchmark whose input cannot be built should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use chat_completion_proxy::grammar::registered_grammar_generator;
use chat_completion_proxy::{
    find_wrapper, repair_json, ChatCompletionRequest, ChatCompletionResponse, ChatMessage,
    FunctionSchema, GrammarStyle, RenderRequest, Role,
};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use workspace_tests::{load_fixture, ParseFixtures, PromptFixtures};

/// The allocator the `chat-completion-proxy` binary ships with, so the figures are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Times the fixtures' `multi_turn` exchanges are repeated: 1 + 12 × 12 = 145 messages,
/// about 30 KB of chatml prompt (the fixture messages are short: 8 repeats, 97
/// messages, make only 21 KB).
const REPEATS: usize = 12;

/// The wrappers whose rendering is measured.
const RENDER_WRAPPERS: [&str; 3] = ["chatml", "llama3", "airoboros-l2-70b-2.1"];

/// The repair cases whose parsing is measured (all of the fixtures' mutations).
const MUTATIONS: [&str; 7] = [
    "clean",
    "trailing_eos",
    "missing_final_brace",
    "missing_two_braces",
    "double_json",
    "escaped_underscores",
    "garbage_after",
];

/// A short measurement: the whole suite runs in a few minutes on 2 cores.
fn configured() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
}

/// The large conversation: the `multi_turn` case's system message, then its exchanges
/// repeated [`REPEATS`] times; with its functions.
fn large_conversation() -> (Vec<ChatMessage>, Vec<FunctionSchema>) {
    let fixtures: PromptFixtures = load_fixture("reference-prompts.json");
    let case = fixtures
        .prompts
        .into_iter()
        .find(|case| case.case == "multi_turn")
        .expect("the fixtures have a multi_turn case");
    let (system, exchanges) = case
        .messages
        .split_first()
        .expect("multi_turn has messages");
    assert_eq!(system.role, Role::System);
    let mut messages = vec![system.clone()];
    for _ in 0..REPEATS {
        messages.extend(exchanges.iter().cloned());
    }
    (messages, case.functions.unwrap_or_default())
}

fn render(c: &mut Criterion) {
    let (messages, functions) = large_conversation();
    let request = RenderRequest::new(&messages, &functions);
    let mut group = c.benchmark_group("render_large_conversation");
    for name in RENDER_WRAPPERS {
        let wrapper = find_wrapper(name).expect("the wrapper is registered");
        let prompt = wrapper
            .render_prompt(&request)
            .expect("the conversation renders");
        eprintln!(
            "render {name}: {} messages, {} bytes of prompt",
            messages.len(),
            prompt.len()
        );
        group.throughput(Throughput::Bytes(prompt.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| wrapper.render_prompt(black_box(&request)))
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let fixtures: ParseFixtures = load_fixture("reference-parses.json");
    let wrapper = find_wrapper("chatml").expect("chatml is registered");
    let mut group = c.benchmark_group("parse_chatml");
    for mutation in MUTATIONS {
        let case = fixtures
            .parses
            .iter()
            .find(|case| case.wrapper == "chatml" && case.mutation == mutation)
            .unwrap_or_else(|| panic!("no chatml case with mutation {mutation}"));
        wrapper
            .parse_output(&case.raw_output, case.first_message)
            .expect("the fixture reply parses");
        group.bench_function(BenchmarkId::from_parameter(mutation), |b| {
            b.iter(|| wrapper.parse_output(black_box(&case.raw_output), case.first_message))
        });
    }
    group.finish();
}

/// Valid JSON of at least `size` bytes: an object holding a list of MemGPT-style
/// messages with escapes and non-ASCII text.
fn valid_json(size: usize) -> String {
    let mut items = Vec::new();
    let mut text = String::new();
    while text.len() < size {
        let n = items.len();
        items.push(json!({
            "id": n,
            "role": "assistant",
            "inner_thoughts": format!("Thought number {n}: the user said \"hi\" — reply warmly."),
            "params": {"message": "Hello! How was your day? 🌞", "request_heartbeat": n % 2 == 0},
        }));
        text = serde_json::to_string_pretty(&json!({ "messages": items })).unwrap();
    }
    text
}

fn repair(c: &mut Criterion) {
    let mut group = c.benchmark_group("repair_json_valid");
    for (label, size) in [("1KB", 1_000), ("100KB", 100_000)] {
        let text = valid_json(size);
        repair_json(&text).expect("valid JSON repairs to itself");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| repair_json(black_box(&text)))
        });
    }
    group.finish();
    // The floor: serde_json building the same `Value` (order-preserving maps, as the
    // workspace builds it) with no repair logic at all.
    let mut group = c.benchmark_group("serde_json_value_floor");
    for (label, size) in [("1KB", 1_000), ("100KB", 100_000)] {
        let text = valid_json(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| serde_json::from_str::<Value>(black_box(&text)))
        });
    }
    group.finish();
}

fn grammar(c: &mut Criterion) {
    let (_, functions) = large_conversation();
    let generator = registered_grammar_generator().expect("the gbnf plugin is linked");
    let mut group = c.benchmark_group("grammar_memgpt_functions");
    for (label, style) in [
        (
            "inner_thoughts_in_params",
            GrammarStyle::InnerThoughtsInParams,
        ),
        (
            "inner_thoughts_top_level",
            GrammarStyle::InnerThoughtsTopLevel,
        ),
    ] {
        // As requests get it: thoughts bounded by the default.
        let shape = chat_completion_proxy::grammar::AnswerShape {
            style,
            max_thought_chars: Some(chat_completion_proxy::DEFAULT_MAX_THOUGHT_CHARS),
            max_argument_chars: None,
        };
        generator
            .generate(&functions, shape)
            .expect("MemGPT's functions have a grammar");
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| generator.generate(black_box(&functions), shape))
        });
    }
    group.finish();
}

/// A typical proxy answer: one `send_message` tool call.
fn response() -> ChatCompletionResponse {
    serde_json::from_value(json!({
        "id": "chatcmpl-0123456789abcdef",
        "object": "chat.completion",
        "created": 1_704_067_200,
        "model": "bench",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_0123456789abcdef01234567",
                    "type": "function",
                    "function": {
                        "name": "send_message",
                        "arguments": "{\n  \"inner_thoughts\": \"Greet the user warmly.\",\n  \"message\": \"Hello Brad! How was your day? 🌞\"\n}"
                    }
                }]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 6000, "completion_tokens": 40, "total_tokens": 6040}
    }))
    .expect("the response deserializes")
}

fn serialization(c: &mut Criterion) {
    let (messages, functions) = large_conversation();
    let tools: Vec<Value> = functions
        .iter()
        .map(|function| json!({"type": "function", "function": function}))
        .collect();
    let request: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "bench",
        "messages": messages,
        "tools": tools,
        "temperature": 0.8,
    }))
    .expect("the request deserializes");
    let request_text = serde_json::to_string(&request).unwrap();
    let response = response();
    let response_text = serde_json::to_string(&response).unwrap();

    let mut group = c.benchmark_group("serde");
    group.throughput(Throughput::Bytes(request_text.len() as u64));
    group.bench_function("request_large_conversation/deserialize", |b| {
        b.iter(|| serde_json::from_str::<ChatCompletionRequest>(black_box(&request_text)))
    });
    group.bench_function("request_large_conversation/serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&request)))
    });
    group.throughput(Throughput::Bytes(response_text.len() as u64));
    group.bench_function("response_tool_call/deserialize", |b| {
        b.iter(|| serde_json::from_str::<ChatCompletionResponse>(black_box(&response_text)))
    });
    group.bench_function("response_tool_call/serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&response)))
    });
    group.finish();
}

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented
    // public function.
    let mut criterion = configured().configure_from_args();
    render(&mut criterion);
    parse(&mut criterion);
    repair(&mut criterion);
    grammar(&mut criterion);
    serialization(&mut criterion);
    criterion.final_summary();
}
