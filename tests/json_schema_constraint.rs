//! Backends that constrain with a JSON Schema instead of a grammar get the answer's
//! schema, through the whole pipeline over real HTTP on loopback: ollama's `format` and
//! vLLM's `structured_outputs.json` are the answer shape of a `-grammar` wrapper (the
//! same answers as its GBNF), or a `response_format` schema; a backend that takes a
//! grammar gets the grammar only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::grammar::{registered_grammar_generator, AnswerShape};
use chat_completion_proxy::{ChatCompletionRequest, GrammarStyle, DEFAULT_MAX_THOUGHT_CHARS};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workspace_tests::llamacpp_mock::{bodies, llamacpp};
use workspace_tests::pipeline::{client, target, tools_request};

/// A fake ollama answering `/api/generate` with `response`.
async fn ollama(response: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": "smol", "response": response, "done": true, "done_reason": "stop",
            "eval_count": 20, "prompt_eval_count": 60
        })))
        .mount(&server)
        .await;
    server
}

/// The forced answer shape's JSON Schema for `request`'s tools (thoughts bounded by
/// the default), from the registered generator.
fn answer_schema(request: &ChatCompletionRequest) -> Value {
    registered_grammar_generator()
        .unwrap()
        .generate_schema(
            &request.function_schemas(),
            AnswerShape {
                style: GrammarStyle::InnerThoughtsInParams,
                max_thought_chars: Some(DEFAULT_MAX_THOUGHT_CHARS),
                max_argument_chars: None,
            },
        )
        .unwrap()
        .unwrap()
}

async fn received(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_grammar_wrapper_on_ollama_sends_the_answer_schema_as_format() {
    let server =
        ollama(r#"{"function": "send_message", "params": {"inner_thoughts": "Greet.", "message": "Hi Ada!"}}"#)
            .await;
    let request = tools_request();

    let response = client()
        .get_chat_completion(&target(&server, "ollama", "chatml-grammar"), &request)
        .await
        .unwrap();

    let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.name, "send_message");
    let sent = received(&server).await;
    assert_eq!(sent.len(), 1);
    let expected = answer_schema(&request);
    assert_eq!(sent[0]["format"], expected, "{}", sent[0]);
    assert!(sent[0].get("grammar").is_none());
}

#[tokio::test]
async fn a_plain_wrapper_on_ollama_sends_no_format() {
    let server =
        ollama(r#" "send_message", "params": {"inner_thoughts": "Greet.", "message": "Hi Ada!"}}"#)
            .await;
    client()
        .get_chat_completion(&target(&server, "ollama", "chatml"), &tools_request())
        .await
        .unwrap();
    assert!(received(&server).await[0].get("format").is_none());
}

#[tokio::test]
async fn a_response_format_schema_is_ollamas_format_as_it_is() {
    let server = ollama(r#"{"name": "Ada", "age": 36}"#).await;
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"},
        "age": {"type": "integer"}}, "required": ["name", "age"], "additionalProperties": false});
    let request: ChatCompletionRequest = serde_json::from_value(json!({
        "messages": [{"role": "user", "content": "Ada Lovelace was 36."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "Person", "schema": schema}}
    }))
    .unwrap();

    let response = client()
        .get_chat_completion(&target(&server, "ollama", "chatml"), &request)
        .await
        .unwrap();

    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some(r#"{"name":"Ada","age":36}"#)
    );
    assert_eq!(received(&server).await[0]["format"], schema);
}

#[tokio::test]
async fn a_grammar_backend_gets_the_grammar_and_no_schema() {
    let server = llamacpp(vec![
        r#"{"function": "send_message", "params": {"inner_thoughts": "Greet.", "message": "Hi Ada!"}}"#,
    ])
    .await;
    client()
        .get_chat_completion(
            &target(&server, "llamacpp", "chatml-grammar"),
            &tools_request(),
        )
        .await
        .unwrap();
    let sent = bodies(&server).await;
    assert!(sent[0]["grammar"].is_string(), "{}", sent[0]);
    assert!(sent[0].get("format").is_none());
}

#[tokio::test]
async fn a_grammar_wrapper_on_vllm_sends_the_answer_schema_as_structured_outputs() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": "smol",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null, "stop_reason": null,
                "text": "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"Hi Ada!\"}}"}],
            "usage": {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80}
        })))
        .mount(&server)
        .await;
    let request = tools_request();

    let response = client()
        .get_chat_completion(&target(&server, "vllm", "chatml-grammar"), &request)
        .await
        .unwrap();

    let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.name, "send_message");
    let expected = answer_schema(&request);
    let sent = received(&server).await;
    assert_eq!(
        sent[0]["structured_outputs"],
        json!({ "json": expected }),
        "{}",
        sent[0]
    );
    assert!(sent[0].get("guided_json").is_none() && sent[0].get("grammar").is_none());
}
