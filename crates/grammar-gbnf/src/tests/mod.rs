//! Generated grammars, checked with the llama.cpp-faithful checker in `gbnf_check`:
//! each must parse, define every rule it uses, have `root`, have no left recursion,
//! accept the answers the wrappers' parsers read and reject the wrong ones.

use proxy_core::grammar::AnswerShape;
use proxy_core::{FunctionSchema, GrammarStyle};
use serde_json::{json, Value};

use crate::gbnf_check::{self, Grammar};
use crate::GbnfGenerator;

mod answer_schema;
mod answers;
mod constructs;
mod native_calls;

const IN_PARAMS: GrammarStyle = GrammarStyle::InnerThoughtsInParams;
const TOP_LEVEL: GrammarStyle = GrammarStyle::InnerThoughtsTopLevel;

/// More parse stacks than this at once would mean an ambiguous grammar.
const MAX_STACKS: usize = 16;

fn function(name: &str, parameters: Option<Value>) -> FunctionSchema {
    FunctionSchema {
        name: name.to_owned(),
        description: None,
        parameters,
    }
}

/// MemGPT's functions, as the fixtures send them.
fn memgpt_functions() -> Vec<FunctionSchema> {
    let heartbeat = json!({"type": "boolean", "description": "Request an immediate heartbeat."});
    vec![
        function(
            "send_message",
            Some(
                json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
            ),
        ),
        function(
            "pause_heartbeats",
            Some(
                json!({"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}),
            ),
        ),
        function(
            "core_memory_append",
            Some(json!({"type": "object", "properties": {
                "name": {"type": "string"}, "content": {"type": "string"}, "request_heartbeat": heartbeat
            }, "required": ["name", "content", "request_heartbeat"]})),
        ),
        function(
            "archival_memory_search",
            Some(json!({"type": "object", "properties": {
                "query": {"type": "string"}, "page": {"type": "integer"}, "request_heartbeat": heartbeat
            }, "required": ["query", "request_heartbeat"]})),
        ),
    ]
}

fn generate(functions: &[FunctionSchema], shape: impl Into<AnswerShape>) -> (String, Grammar) {
    let text = GbnfGenerator.gbnf(functions, shape).unwrap();
    let grammar = gbnf_check::parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    (text, grammar)
}

/// A grammar for one function `f` with `parameters`, forced style.
fn single(parameters: Value) -> Grammar {
    generate(&[function("f", Some(parameters))], IN_PARAMS).1
}

fn accepts(grammar: &Grammar, text: &str) -> bool {
    let outcome = grammar.matches(text);
    assert!(
        outcome.max_stacks <= MAX_STACKS,
        "{} stacks on {text}",
        outcome.max_stacks
    );
    outcome.accepted
}

/// A forced answer calling `f` with `params` (after `inner_thoughts`), as JSON text.
fn call_f(params: &str) -> String {
    let separator = if params.is_empty() { "" } else { ", " };
    format!(r#"{{"function": "f", "params": {{"inner_thoughts": "t"{separator}{params}}}}}"#)
}

fn assert_accepts(grammar: &Grammar, params: &[&str]) {
    for params in params {
        assert!(accepts(grammar, &call_f(params)), "should accept {params}");
    }
}

fn assert_rejects(grammar: &Grammar, params: &[&str]) {
    for params in params {
        assert!(!accepts(grammar, &call_f(params)), "should reject {params}");
    }
}

const FORCED_ANSWERS: [&str; 3] = [
    "{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Greet the user warmly.\",\n    \"message\": \"Hello Brad! How was your day? \u{1f31e}\"\n  }\n}",
    "{\n  \"function\": \"core_memory_append\",\n  \"params\": {\n    \"inner_thoughts\": \"Remember the dog's name.\",\n    \"name\": \"human\",\n    \"content\": \"Dog: Biscuit (corgi)\",\n    \"request_heartbeat\": true\n  }\n}",
    "\n{\n  \"function\": \"archival_memory_search\",\n  \"params\": {\n    \"inner_thoughts\": \"Look it up.\",\n    \"query\": \"Biscuit \\\"the\\\" corgi\\\\dog\",\n    \"page\": 0,\n    \"request_heartbeat\": true\n  }\n}",
];

const NOFORCE_ANSWERS: [&str; 5] = [
    "{\n  \"inner_thoughts\": \"Greet the user warmly.\",\n  \"function\": \"send_message\",\n  \"params\": {\n    \"message\": \"Hello Brad! \u{1f31e}\"\n  }\n}",
    "\n{\n  \"inner_thoughts\": \"Look it up.\",\n  \"function\": \"archival_memory_search\",\n  \"params\": {\n    \"query\": \"Biscuit\",\n    \"request_heartbeat\": false\n  }\n}",
    "{\"inner_thoughts\": \"Nothing to do.\"}",
    "{\"inner_thoughts\": \"Nothing to do.\", \"function\": null}",
    "{\"inner_thoughts\":\"x\",\"function\":\"pause_heartbeats\",\"params\":{\"minutes\":-5}}",
];
