//! End to end on a real llama.cpp server with a real model (SmolLM2-135M-Instruct):
//! the whole pipeline through every endpoint type llama-server speaks, with and without
//! grammars. Run with `cargo xtask e2e`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::ConstraintChoice;
use chat_completion_proxy::grammar::{registered_grammar_generator, AnswerShape};
use chat_completion_proxy::{
    ChatCompletionEvent, ChatCompletionResponse, FunctionSchema, GrammarStyle, ModelTarget,
    NativeCallSyntax, ProxyClient, ResolvedTarget, WrapperSelection, DEFAULT_MAX_THOUGHT_CHARS,
};
use e2e_tests::{check_call, context_size, fixture_conversations, server_url, Conversation};
use serde_json::{json, Value};

fn target(endpoint_type: &str, wrapper: &str) -> ResolvedTarget {
    constrained_target(endpoint_type, wrapper, ConstraintChoice::Default)
}

/// [`target`] sending the output constraint `constraint`.
fn constrained_target(
    endpoint_type: &str,
    wrapper: &str,
    constraint: ConstraintChoice,
) -> ResolvedTarget {
    let url = server_url().unwrap();
    let mut target = ModelTarget::new(endpoint_type, url, context_size());
    target.wrapper = WrapperSelection::Named(wrapper.to_owned());
    target.model = Some("smollm2".to_owned());
    target.constraint = constraint;
    target.resolve().unwrap()
}

fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

async fn complete(target: &ResolvedTarget, conversation: &Conversation) -> ChatCompletionResponse {
    client()
        .get_chat_completion(target, &conversation.request)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "{} via {} with {}: {error}",
                conversation.case,
                target.endpoint_type(),
                target.wrapper_name()
            )
        })
}

/// Every way llama-server takes a constraint, as the proxy sends it: (endpoint type,
/// constraint field, the wrappers run through it). `/completion` takes a GBNF `grammar`
/// and a `json_schema` it converts itself; its OpenAI-compatible `/v1/completions` (the
/// webui path) takes `grammar`; `/v1/chat/completions` (the lmstudio-legacy path) takes
/// `response_format`. (Its `/v1/completions` ignores `response_format`, so the lmstudio
/// path pointed at llama-server is not constrained: measured, build 11434.)
const CONSTRAINT_PATHS: [(&str, &str, &[&str]); 4] = [
    (
        "llamacpp",
        "grammar",
        &["chatml-grammar", "chatml-noforce-grammar"],
    ),
    (
        "llamacpp",
        "json_schema",
        &["chatml-grammar", "chatml-noforce-grammar"],
    ),
    ("webui", "grammar", &["chatml-grammar"]),
    ("lmstudio-legacy", "response_format", &["chatml-grammar"]),
];

#[tokio::test]
async fn every_constraint_path_of_llama_server_gives_a_valid_call_on_every_fixture() {
    for (endpoint_type, constraint, wrappers) in CONSTRAINT_PATHS {
        for wrapper in wrappers {
            let target =
                constrained_target(endpoint_type, wrapper, ConstraintChoice::parse(constraint));
            let path = format!("{wrapper} via {endpoint_type} `{constraint}`");
            for conversation in fixture_conversations().unwrap() {
                let response = complete(&target, &conversation).await;
                check_constrained_answer(&path, wrapper, &conversation, &response);
            }
        }
    }
}

/// A constrained reply is a valid call (for `noforce`, or thoughts alone), cut at the
/// token limit only when the model spent the whole budget.
fn check_constrained_answer(
    path: &str,
    wrapper: &str,
    conversation: &Conversation,
    response: &ChatCompletionResponse,
) {
    let message = &response.choices[0].message;
    let forced = !wrapper.contains("noforce");
    if forced || message.tool_calls.is_some() {
        check_call(message, &conversation.functions)
            .unwrap_or_else(|problem| panic!("{path} on {}: {problem}", conversation.case));
        // `length` only when the model spent its whole token budget; the call was then
        // closed by repair and still validates.
        let finish = serde_json::to_value(response.choices[0].finish_reason).unwrap();
        let budget = conversation.request.max_tokens.unwrap();
        assert!(
            finish == "tool_calls"
                || (finish == "length" && response.usage.completion_tokens >= budget),
            "{path} on {}: finish_reason {finish} after {} tokens",
            conversation.case,
            response.usage.completion_tokens
        );
    } else {
        assert!(
            message.content.is_some(),
            "{path}: noforce without a call must think: {message:?}"
        );
    }
    assert!(response.usage.prompt_tokens > 0 && response.usage.completion_tokens > 0);
}

/// The conversation a MemGPT agent starts with, sent with `first_message` so the
/// wrapper pre-seeds `send_message` (the way MemGPT sends an agent's first turn).
fn first_turn() -> Conversation {
    let mut conversation = fixture_conversations()
        .unwrap()
        .into_iter()
        .find(|conversation| conversation.case == "first_turn")
        .unwrap();
    conversation.request.first_message = Some(true);
    conversation
}

#[tokio::test]
async fn chatml_without_grammar_on_llamacpp_returns_a_valid_tool_call() {
    let conversation = first_turn();
    let response = complete(&target("llamacpp", "chatml"), &conversation).await;
    let message = &response.choices[0].message;
    check_call(message, &conversation.functions).unwrap();
    assert!(message.tool_calls.as_ref().unwrap()[0]
        .id
        .starts_with("call_"));
    assert_eq!(
        serde_json::to_value(response.choices[0].finish_reason).unwrap(),
        "tool_calls"
    );
}

#[tokio::test]
async fn every_openai_style_endpoint_type_of_llama_server_completes() {
    let conversation = first_turn();
    for endpoint_type in ["lmstudio", "vllm", "webui"] {
        let response = complete(&target(endpoint_type, "chatml"), &conversation).await;
        let message = &response.choices[0].message;
        check_call(message, &conversation.functions)
            .unwrap_or_else(|problem| panic!("{endpoint_type}: {problem}"));
        assert!(response.usage.total_tokens > 0, "{endpoint_type}");
    }
}

#[tokio::test]
async fn streaming_endpoint_types_stream_content_that_matches_the_response() {
    let conversation = first_turn();
    for (endpoint_type, wrapper) in [
        ("llamacpp", "chatml-grammar"),
        ("vllm", "chatml"),
        ("webui", "chatml"),
        ("lmstudio", "chatml"),
    ] {
        let stream = client()
            .stream_chat_completion(&target(endpoint_type, wrapper), &conversation.request)
            .await
            .unwrap_or_else(|error| panic!("{endpoint_type}: {error}"));
        assert!(stream.is_streamed_from_backend(), "{endpoint_type}");
        let mut pieces = Vec::new();
        let mut response = None;
        let mut stream = stream;
        while let Some(event) = futures::StreamExt::next(&mut stream).await {
            match event.unwrap_or_else(|error| panic!("{endpoint_type}: {error}")) {
                ChatCompletionEvent::Content(piece) => pieces.push(piece),
                // The MemGPT wrappers read no reasoning apart from the thoughts.
                ChatCompletionEvent::Reasoning(_) => {}
                ChatCompletionEvent::Finished { response: done, .. } => response = Some(done),
            }
        }
        let response = response.unwrap_or_else(|| panic!("{endpoint_type}: no response"));
        let message = &response.choices[0].message;
        check_call(message, &conversation.functions)
            .unwrap_or_else(|problem| panic!("{endpoint_type}: {problem}"));
        assert_eq!(
            Some(pieces.concat()),
            message
                .content
                .clone()
                .filter(|content| !content.is_empty())
                .or(Some(String::new())),
            "{endpoint_type}: the streamed pieces are the content"
        );
        assert!(
            pieces.len() > 1 || message.content.as_deref().map_or(0, str::len) < 8,
            "{endpoint_type}: content of {:?} came in one piece",
            message.content
        );
        assert!(response.usage.total_tokens > 0, "{endpoint_type}");
    }
}

/// Schemas beyond MemGPT's: nested objects, enums, arrays, nullable fields, unions.
fn schema_corpus() -> Vec<Vec<FunctionSchema>> {
    let memgpt: Vec<Vec<FunctionSchema>> = fixture_conversations()
        .unwrap()
        .into_iter()
        .map(|conversation| conversation.functions)
        .collect();
    let extra: Vec<FunctionSchema> = serde_json::from_value(json!([
        {"name": "book_flight", "description": "Book a flight.", "parameters": {
            "type": "object",
            "properties": {
                "from": {"type": "string"},
                "to": {"type": "string"},
                "class": {"type": "string", "enum": ["economy", "business", "first"]},
                "passengers": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"]}},
                "flexible": {"type": "boolean"},
                "max_price": {"type": ["number", "null"]},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "seat": {"const": "window"},
                "meta": {"$ref": "#/definitions/meta"}
            },
            "required": ["from", "to", "class"]
        }},
        {"name": "ping", "description": "No parameters."}
    ]))
    .unwrap();
    memgpt.into_iter().chain([extra]).collect()
}

/// Hermes/Qwen's tool call: a JSON object in `<tool_call>` tags.
const HERMES_CALL: NativeCallSyntax = NativeCallSyntax::HERMES;

/// Llama 3.x's JSON tool call: a plain object with `parameters`.
const LLAMA3_CALL: NativeCallSyntax = NativeCallSyntax::LLAMA3_JSON;

/// Each style with thoughts and arguments of any length, with the default bound on
/// the thoughts, and with free-text arguments bounded too.
fn shapes(styles: &[GrammarStyle]) -> Vec<AnswerShape> {
    let bounds = [
        (None, None),
        (Some(DEFAULT_MAX_THOUGHT_CHARS), None),
        (Some(DEFAULT_MAX_THOUGHT_CHARS), Some(300)),
    ];
    styles
        .iter()
        .flat_map(|&style| {
            bounds.map(|(max_thought_chars, max_argument_chars)| AnswerShape {
                style,
                max_thought_chars,
                max_argument_chars,
            })
        })
        .collect()
}

/// A short `/completion` at `url` constrained by `constraint` under the field `field`
/// (`grammar`, `json_schema`): the status and the reply body.
async fn constrained_completion(
    http: &reqwest::Client,
    url: &str,
    field: &str,
    constraint: Value,
) -> (reqwest::StatusCode, Value) {
    let mut body = json!({"prompt": "Answer in JSON:", "n_predict": 8, "seed": 1});
    body[field] = constraint;
    let reply = http.post(url).json(&body).send().await.unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_server_accepts_every_generated_grammar() {
    let generator = registered_grammar_generator().expect("the grammar-gbnf plugin is linked");
    let http = reqwest::Client::new();
    let url = format!("{}/completion", server_url().unwrap());
    for functions in schema_corpus() {
        for shape in shapes(&[
            GrammarStyle::InnerThoughtsInParams,
            GrammarStyle::InnerThoughtsTopLevel,
            GrammarStyle::NativeCall(HERMES_CALL),
            GrammarStyle::NativeCall(LLAMA3_CALL),
        ]) {
            let grammar = generator.generate(&functions, shape).unwrap();
            let (status, body) =
                constrained_completion(&http, &url, "grammar", json!(grammar.gbnf)).await;
            assert_eq!(
                status, 200,
                "{shape:?} grammar refused: {body}\n{}",
                grammar.gbnf
            );
        }
    }
}

/// The answer's JSON Schema (what ollama and vLLM get instead of a grammar) is one a
/// real schema-to-grammar converter takes: llama-server's `json_schema` field, which
/// it turns into a grammar with llama.cpp's converter, refusing what it cannot
/// convert with HTTP 400.
#[tokio::test]
async fn the_server_turns_every_answer_schema_into_a_grammar() {
    let generator = registered_grammar_generator().expect("the grammar-gbnf plugin is linked");
    let http = reqwest::Client::new();
    let url = format!("{}/completion", server_url().unwrap());
    for functions in schema_corpus() {
        for shape in shapes(&[
            GrammarStyle::InnerThoughtsInParams,
            GrammarStyle::InnerThoughtsTopLevel,
            GrammarStyle::InnerThoughtsTopLevelCallRequired,
            GrammarStyle::NativeCall(LLAMA3_CALL),
        ]) {
            let schema = generator
                .generate_schema(&functions, shape)
                .unwrap()
                .expect("grammar-gbnf builds answer schemas");
            let (status, body) =
                constrained_completion(&http, &url, "json_schema", schema.clone()).await;
            assert_eq!(status, 200, "{shape:?} schema refused: {body}\n{schema}");
        }
    }
}
