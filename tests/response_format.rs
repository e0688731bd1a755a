//! `response_format` through the whole pipeline, over real HTTP on loopback: a grammar
//! of the schema's values where the backend takes one (llama.cpp), the instruction in
//! the prompt everywhere, the answer read, validated and retried, and streamed once
//! checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{ChatCompletionEvent, ChatCompletionRequest, ErrorKind, ProxyError};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workspace_tests::llamacpp_mock::{bodies, llamacpp};
use workspace_tests::pipeline::{client, target};

/// What `client.chat.completions.parse(response_format=Person)` sends for
/// `class Person(BaseModel): name: str; age: int`.
fn person_format() -> Value {
    json!({"type": "json_schema", "json_schema": {"name": "Person", "strict": true, "schema": {
        "type": "object", "title": "Person",
        "properties": {"name": {"type": "string", "title": "Name"}, "age": {"type": "integer", "title": "Age"}},
        "required": ["name", "age"], "additionalProperties": false}}})
}

fn request(format: Value) -> ChatCompletionRequest {
    serde_json::from_value(json!({
        "messages": [{"role": "user", "content": "Ada Lovelace was 36."}],
        "response_format": format
    }))
    .unwrap()
}

#[tokio::test]
async fn a_schema_answer_is_constrained_by_a_grammar_and_comes_back_as_compact_json() {
    let server = llamacpp(vec!["\n{\"name\": \"Ada Lovelace\", \"age\": 36}"]).await;
    let response = client()
        .get_chat_completion(
            &target(&server, "llamacpp", "chatml"),
            &request(person_format()),
        )
        .await
        .unwrap();
    let choice = &response.choices[0];
    assert_eq!(
        choice.message.content.as_deref(),
        Some("{\"name\":\"Ada Lovelace\",\"age\":36}")
    );
    assert!(choice.message.tool_calls.is_none());
    assert_eq!(serde_json::to_value(choice.finish_reason).unwrap(), "stop");

    let body = &bodies(&server).await[0];
    let grammar = body["grammar"].as_str().expect("a grammar was sent");
    assert!(grammar.starts_with("root ::= "), "{grammar}");
    assert!(grammar.contains(r#""\"name\":""#), "{grammar}");
    assert!(grammar.contains(r#""\"age\":" ws integer"#), "{grammar}");
    let prompt = body["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("must validate against this JSON Schema"),
        "{prompt}"
    );
    assert!(
        prompt.contains("\"required\":[\"name\",\"age\"]"),
        "{prompt}"
    );
    assert!(!prompt.contains("Available functions"), "{prompt}");
    assert!(
        prompt.ends_with("<|im_start|>assistant\n"),
        "a plain turn: {prompt}"
    );
}

#[tokio::test]
async fn json_mode_without_a_grammar_backend_is_repaired_and_checked() {
    // vLLM takes no GBNF grammar: the instruction and the check do the work.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "model": "smol",
            "choices": [{"index": 0, "text": "Sure:\n```json\n{\"city\": \"Paris\",}\n```",
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
        })))
        .mount(&server)
        .await;
    let response = client()
        .get_chat_completion(
            &target(&server, "vllm", "chatml"),
            &request(json!({"type": "json_object"})),
        )
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("{\"city\":\"Paris\"}")
    );
    let body = &bodies(&server).await[0];
    assert!(body.get("grammar").is_none(), "{body}");
    assert!(
        body["prompt"]
            .as_str()
            .unwrap()
            .contains("Answer with one JSON object and nothing else"),
        "{body}"
    );
}

#[tokio::test]
async fn an_invalid_answer_is_asked_for_again_then_refused_with_the_raw_text() {
    let recovered = llamacpp(vec![
        "{\"name\": \"Ada\"}",
        "{\"name\": \"Ada\", \"age\": 36}",
    ])
    .await;
    let response = client()
        .get_chat_completion(
            &target(&recovered, "llamacpp", "chatml"),
            &request(person_format()),
        )
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("{\"name\":\"Ada\",\"age\":36}")
    );
    assert_eq!(bodies(&recovered).await.len(), 2, "one call and one retry");

    let bad = llamacpp(vec!["I cannot say."]).await;
    let error = client()
        .get_chat_completion(
            &target(&bad, "llamacpp", "chatml"),
            &request(person_format()),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidStructuredOutput);
    match &error {
        ProxyError::InvalidStructuredOutput { raw_output, reason } => {
            assert_eq!(raw_output, "I cannot say.");
            assert!(reason.contains("not JSON"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bodies(&bad).await.len(), 2, "one call and one retry");
}

#[tokio::test]
async fn a_streamed_schema_answer_is_sent_once_checked() {
    let server = MockServer::start().await;
    let mut body = String::new();
    for piece in ["{\"name\": ", "\"Ada\", ", "\"age\": 36}"] {
        body.push_str(&format!(
            "data: {}\n\n",
            json!({"content": piece, "stop": false})
        ));
    }
    body.push_str(&format!(
        "data: {}\n\n",
        json!({"content": "", "stop": true, "stop_type": "eos", "tokens_predicted": 3, "tokens_evaluated": 40})
    ));
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .mount(&server)
        .await;
    let mut streamed = request(person_format());
    streamed.stream = Some(true);
    let stream = client()
        .stream_chat_completion(&target(&server, "llamacpp", "chatml"), &streamed)
        .await
        .unwrap();
    let events: Vec<_> = stream.collect().await;
    let pieces: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            Ok(ChatCompletionEvent::Content(piece)) => Some(piece.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(pieces, vec!["{\"name\":\"Ada\",\"age\":36}".to_owned()]);
    assert!(matches!(
        events.last(),
        Some(Ok(ChatCompletionEvent::Finished { .. }))
    ));
}

#[tokio::test]
async fn a_format_with_tools_that_may_be_called_is_refused_by_name() {
    let server = llamacpp(vec!["{}"]).await;
    let mut with_tools = request(json!({"type": "json_object"}));
    with_tools.tools = Some(
        serde_json::from_value(json!([{"type": "function", "function": {"name": "f",
            "parameters": {"type": "object", "properties": {}}}}]))
        .unwrap(),
    );
    let error = client()
        .get_chat_completion(&target(&server, "llamacpp", "chatml"), &with_tools)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(error.to_string().contains("`response_format`"), "{error}");
    assert!(bodies(&server).await.is_empty(), "nothing was sent");

    // With tool_choice "none" the tools cannot be called: a JSON answer is served.
    with_tools.tool_choice = Some(json!("none"));
    let response = client()
        .get_chat_completion(&target(&server, "llamacpp", "chatml"), &with_tools)
        .await
        .unwrap();
    assert_eq!(response.choices[0].message.content.as_deref(), Some("{}"));
}

#[tokio::test]
async fn unknown_format_types_do_not_read() {
    let error = serde_json::from_value::<ChatCompletionRequest>(json!({
        "messages": [], "response_format": {"type": "yaml"}
    }))
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `yaml`"),
        "{error}"
    );
    let error = serde_json::from_value::<ChatCompletionRequest>(json!({
        "messages": [], "top_k": 40
    }))
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown field `top_k`"),
        "{error}"
    );
}
