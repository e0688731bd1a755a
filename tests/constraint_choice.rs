//! A model entry's choice of output constraint (`constraint`) and the bound on the
//! thoughts (`max_thought_chars`), through the whole pipeline over real HTTP on
//! loopback: each backend's default, each field it states, `none`, the version split
//! of vLLM, and a clear error for a field the backend does not have.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::ConstraintChoice;
use chat_completion_proxy::ModelTarget;
use serde_json::{json, Value};
use wiremock::MockServer;
use workspace_tests::llamacpp_mock::{bodies, llamacpp};
use workspace_tests::pipeline::{
    client, configured_target, openai_server, tools_request, SEND_MESSAGE_CALL as CALL,
};

/// One `chatml-grammar` call through `endpoint_type` at `server`, configured by
/// `configure`; returns the body the server got.
async fn sent_body(
    server: &MockServer,
    endpoint_type: &str,
    configure: impl FnOnce(&mut ModelTarget),
) -> Value {
    let target = configured_target(server, endpoint_type, "chatml-grammar", configure);
    let response = client()
        .get_chat_completion(&target, &tools_request())
        .await
        .unwrap();
    let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.name, "send_message");
    let mut sent = bodies(server).await;
    assert_eq!(sent.len(), 1);
    sent.remove(0)
}

/// The `inner_thoughts` schema wherever `schema` puts it (the forced shape: in the one
/// call's params).
fn thoughts_schema(schema: &Value) -> &Value {
    &schema["anyOf"][0]["properties"]["params"]["properties"]["inner_thoughts"]
}

#[tokio::test]
async fn llamacpp_sends_the_bounded_grammar_by_default_and_the_schema_as_json_schema_when_asked() {
    let server = llamacpp(vec![CALL]).await;
    let default = sent_body(&server, "llamacpp", |_| {}).await;
    let grammar = default["grammar"].as_str().unwrap();
    assert!(
        grammar.contains("\nthoughts ::= \"\\\"\" ( char ( char"),
        "the thoughts are bounded: {grammar}"
    );
    assert_eq!(grammar.matches("( char").count(), 400, "{grammar}");
    assert!(default.get("json_schema").is_none());

    let server = llamacpp(vec![CALL]).await;
    let configured = sent_body(&server, "llamacpp", |target| {
        target.constraint = ConstraintChoice::parse("json_schema");
        target.max_thought_chars = Some(120);
    })
    .await;
    assert!(configured.get("grammar").is_none(), "{configured}");
    assert_eq!(
        thoughts_schema(&configured["json_schema"]),
        &json!({"type": "string", "maxLength": 120})
    );
}

#[tokio::test]
async fn free_text_arguments_are_bounded_only_when_the_entry_says_so() {
    let server = llamacpp(vec![CALL]).await;
    let default = sent_body(&server, "llamacpp", |_| {}).await;
    let grammar = default["grammar"].as_str().unwrap();
    assert!(!grammar.contains("argument-string"), "{grammar}");

    let server = llamacpp(vec![CALL]).await;
    let bounded = sent_body(&server, "llamacpp", |target| {
        target.max_argument_chars = Some(50);
    })
    .await;
    let grammar = bounded["grammar"].as_str().unwrap();
    let rule = grammar
        .lines()
        .find(|line| line.starts_with("argument-string ::= "))
        .unwrap_or_else(|| panic!("no bounded argument rule: {grammar}"));
    assert_eq!(rule.matches("( char").count(), 50, "{rule}");

    let server = llamacpp(vec![CALL]).await;
    let schema = sent_body(&server, "llamacpp", |target| {
        target.constraint = ConstraintChoice::parse("json_schema");
        target.max_argument_chars = Some(50);
    })
    .await;
    let params = &schema["json_schema"]["anyOf"][0]["properties"]["params"]["properties"];
    assert_eq!(
        params["message"],
        json!({"type": "string", "maxLength": 50}),
        "{params}"
    );
}

#[tokio::test]
async fn no_bound_and_no_constraint_when_the_entry_says_so() {
    let server = llamacpp(vec![CALL]).await;
    let unbounded = sent_body(&server, "llamacpp", |target| {
        target.max_thought_chars = None
    })
    .await;
    let grammar = unbounded["grammar"].as_str().unwrap();
    assert!(!grammar.contains("thoughts ::="), "{grammar}");

    let server = llamacpp(vec![CALL]).await;
    let off = sent_body(&server, "llamacpp", |target| {
        target.constraint = ConstraintChoice::Off;
    })
    .await;
    assert!(
        off.get("grammar").is_none() && off.get("json_schema").is_none(),
        "{off}"
    );
}

#[tokio::test]
async fn vllm_sends_structured_outputs_by_default_and_guided_json_for_older_servers() {
    let server = openai_server("/v1/completions", false).await;
    let current = sent_body(&server, "vllm", |_| {}).await;
    assert_eq!(
        thoughts_schema(&current["structured_outputs"]["json"]),
        &json!({"type": "string", "maxLength": 400})
    );
    assert!(current.get("guided_json").is_none());

    let server = openai_server("/v1/completions", false).await;
    let older = sent_body(&server, "vllm", |target| {
        target.constraint = ConstraintChoice::parse("guided_json");
    })
    .await;
    assert_eq!(older["guided_json"], current["structured_outputs"]["json"]);
    assert!(older.get("structured_outputs").is_none(), "{older}");
}

#[tokio::test]
async fn lmstudio_both_routes_send_the_answer_schema_as_response_format() {
    for (endpoint_type, route, chat) in [
        ("lmstudio", "/v1/completions", false),
        ("lmstudio-legacy", "/v1/chat/completions", true),
    ] {
        let server = openai_server(route, chat).await;
        let body = sent_body(&server, endpoint_type, |_| {}).await;
        let format = &body["response_format"];
        assert_eq!(format["type"], "json_schema", "{endpoint_type}: {body}");
        assert_eq!(format["json_schema"]["name"], "answer");
        assert_eq!(format["json_schema"]["strict"], true);
        assert_eq!(
            format["json_schema"]["schema"]["anyOf"][0]["properties"]["function"],
            json!({"const": "send_message"}),
            "{endpoint_type}: {body}"
        );
    }
}

#[tokio::test]
async fn groq_sends_a_schema_only_when_the_entry_asks_for_it() {
    let server = openai_server("/v1/chat/completions", true).await;
    let default = sent_body(&server, "groq", |_| {}).await;
    assert!(default.get("response_format").is_none(), "{default}");

    let server = openai_server("/v1/chat/completions", true).await;
    let asked = sent_body(&server, "groq", |target| {
        target.constraint = ConstraintChoice::parse("response_format");
    })
    .await;
    assert_eq!(asked["response_format"]["type"], "json_schema", "{asked}");
}

#[test]
fn a_constraint_the_backend_lacks_is_refused_naming_the_ones_it_has() {
    let mut target = ModelTarget::new("vllm", "http://localhost:8000", 4096);
    target.constraint = ConstraintChoice::parse("grammar");
    let error = target.resolve().unwrap_err().to_string();
    assert!(error.contains("`constraint` is `grammar`"), "{error}");
    assert!(
        error.contains("`structured_outputs`, `guided_json` or `none`"),
        "{error}"
    );
}
