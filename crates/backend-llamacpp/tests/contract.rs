//! Wire contract with llama.cpp's `llama-server`: the exact request body and headers,
//! and replies shaped like the real server's (old and new stop-reason forms).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_llamacpp::LlamaCppBackend;
use conformance::{client, constraint, received_bodies, request, settings, PROMPT};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendFinishReason, BackendStreamEvent,
    CompletionBackend, TokenCountRequest,
};
use proxy_core::backend::{ConstraintText, Endpoint};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAMMAR: &str = "root ::= \"hi\" | \"hello\"";

#[tokio::test]
async fn sends_prompt_stop_array_and_grammar_and_reads_content() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .and(header("authorization", "Bearer sekrit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "index": 0, "content": "{\"greeting\":\"hello\"}", "tokens": [], "id_slot": 0,
            "stop": true, "model": "gpt-3.5-turbo", "tokens_predicted": 9,
            "tokens_evaluated": 14, "tokens_cached": 13, "truncated": false,
            "stop_type": "eos", "stopping_word": "", "has_new_line": false,
            "generation_settings": {"n_ctx": 4096},
            "timings": {"prompt_n": 1, "prompt_ms": 12.1, "predicted_n": 9}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("sekrit".into());
    let endpoint = Endpoint::parse(&format!("{}/", server.uri())).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.constraint = Some(constraint::<LlamaCppBackend>(
        "grammar",
        ConstraintText::Gbnf(GRAMMAR),
    ));

    // Exec
    let completion = LlamaCppBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "{\"greeting\":\"hello\"}".into(),
            completion_tokens: Some(9),
            prompt_tokens: Some(14),
            finish_reason: BackendFinishReason::Stop,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({"stop": SIMPLE_STOP, "prompt": PROMPT, "grammar": GRAMMAR})]
    );
}

#[tokio::test]
async fn maps_overrides_to_llamacpp_names_and_reads_the_old_stop_flags() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": "cut off", "stop": true, "tokens_predicted": 16, "tokens_evaluated": 0,
            "stopped_eos": false, "stopped_word": false, "stopped_limit": true, "stopping_word": ""
        })))
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.overrides.max_tokens = Some(16);
    request.overrides.temperature = Some(0.5);
    request.overrides.seed = Some(7);
    request.overrides.stop = vec!["<|im_end|>".into(), "</s>".into()];

    // Exec
    let completion = LlamaCppBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "cut off".into(),
            completion_tokens: Some(16),
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Length,
        })
    );
    let mut stops: Vec<&str> = SIMPLE_STOP.to_vec();
    stops.push("</s>");
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": stops, "prompt": PROMPT, "n_predict": 16, "temperature": 0.5, "seed": 7
        })]
    );
}

#[tokio::test]
async fn counts_tokens_with_the_servers_tokenizer() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tokens": [15339, 1917, 0]})))
        .expect(1)
        .mount(&server)
        .await;
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = TokenCountRequest {
        endpoint: &endpoint,
        auth: None,
        model: None,
        text: "hello world!",
    };

    // Exec
    let count = LlamaCppBackend.count_tokens(&client(), &request).await;

    // Check
    assert_eq!(count, Ok(Some(3)));
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({"content": "hello world!"})]
    );
}

#[tokio::test]
async fn streams_tokens_as_server_sent_events() {
    // Setup: the events as llama-server sends them (a ping comment, one chunk per
    // token, the last with `stop` and the counts, no `[DONE]`).
    let server = MockServer::start().await;
    let events = concat!(
        ": ping\n\n",
        "data: {\"index\":0,\"content\":\"{\\\"gree\",\"tokens\":[],\"stop\":false,\"id_slot\":0}\n\n",
        "data: {\"index\":0,\"content\":\"ting\\\": 1}\",\"tokens\":[],\"stop\":false,\"id_slot\":0}\n\n",
        "data: {\"index\":0,\"content\":\"\",\"tokens\":[],\"stop\":true,\"id_slot\":0,",
        "\"tokens_predicted\":4,\"tokens_evaluated\":14,\"stop_type\":\"eos\",\"stopping_word\":\"\"}\n\n",
    );
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = request(&endpoint, &settings);

    // Exec
    let stream = LlamaCppBackend
        .complete_streaming(&client(), &request)
        .await
        .unwrap()
        .expect("llama.cpp streams");
    let events: Vec<_> = futures::StreamExt::collect(stream).await;

    // Check
    assert_eq!(
        events,
        vec![
            Ok(BackendStreamEvent::Text("{\"gree".into())),
            Ok(BackendStreamEvent::Text("ting\": 1}".into())),
            Ok(BackendStreamEvent::Finished(BackendCompletion {
                text: "{\"greeting\": 1}".into(),
                completion_tokens: Some(4),
                prompt_tokens: Some(14),
                finish_reason: BackendFinishReason::Stop,
            })),
        ]
    );
    let body = &received_bodies(&server).await[0];
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["prompt"], json!(PROMPT));
}

#[tokio::test]
async fn a_refused_stream_is_an_error_before_any_event() {
    // Setup: newer servers answer a first-result error as a plain HTTP error.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "type": "exceed_context_size_error",
            "message": "request (9000 tokens) exceeds the available context size (8192 tokens)"
        }})))
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = request(&endpoint, &settings);

    // Exec
    let result = LlamaCppBackend
        .complete_streaming(&client(), &request)
        .await;

    // Check
    assert!(matches!(
        result,
        Err(BackendError::ContextWindowExceeded { status: 400, .. })
    ));
}

/// `constraint = "json_schema"`: llama-server converts the schema to a grammar itself.
#[tokio::test]
async fn the_answer_schema_goes_in_json_schema_where_configured() {
    let schema = json!({"type": "object", "required": ["function"]});
    let body = conformance::constrained_body::<LlamaCppBackend>(
        "/completion",
        json!({"content": "{}", "stop": true, "stop_type": "eos", "tokens_predicted": 1}),
        "json_schema",
        ConstraintText::JsonSchema(&schema),
    )
    .await;
    assert_eq!(body["json_schema"], schema);
    assert!(body.get("grammar").is_none(), "{body}");
}
