//! Wire contract with ollama's `/api/generate`: the exact request body (raw mode,
//! options with `num_ctx`), the required model, and replies shaped like the real
//! server's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_ollama::OllamaBackend;
use conformance::{
    client, constraint, received_bodies, request, settings, CONTEXT_WINDOW, MODEL, PROMPT,
};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendFinishReason, CompletionBackend,
};
use proxy_core::backend::{ConstraintText, Endpoint};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn sends_model_raw_prompt_and_options_and_reads_response() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .and(header("api-key", "k"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": MODEL, "created_at": "2026-01-01T00:00:00Z", "response": "{\"a\":\"hi\"}",
            "done": true, "done_reason": "length", "total_duration": 512000000,
            "load_duration": 2000000, "prompt_eval_count": 21, "prompt_eval_duration": 90000000,
            "eval_count": 7, "eval_duration": 110000000
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::ApiKey("k".into());
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    let schema = json!({"type": "object", "required": ["a"]});
    request.constraint = Some(constraint::<OllamaBackend>(
        "format",
        ConstraintText::JsonSchema(&schema),
    ));
    request.overrides.max_tokens = Some(256);
    request.overrides.temperature = Some(0.2);

    // Exec
    let completion = OllamaBackend.complete(&client(), &request).await;

    // Check: the schema is `format`, the overrides go into options.
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "{\"a\":\"hi\"}".into(),
            completion_tokens: Some(7),
            prompt_tokens: Some(21),
            finish_reason: BackendFinishReason::Length,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "model": MODEL,
            "prompt": PROMPT,
            "stream": false,
            "options": {
                "stop": SIMPLE_STOP,
                "num_ctx": CONTEXT_WINDOW,
                "num_predict": 256,
                "temperature": 0.2,
            },
            "raw": true,
            "format": {"type": "object", "required": ["a"]},
        })]
    );
}

#[tokio::test]
async fn a_missing_model_is_a_clear_error_before_any_request() {
    // Setup
    let server = MockServer::start().await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.model = None;

    // Exec
    let result = OllamaBackend.complete(&client(), &request).await;

    // Check
    assert!(
        matches!(
            &result,
            Err(BackendError::InvalidRequest {
                backend: "ollama",
                ..
            })
        ),
        "{result:?}"
    );
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("model name not specified"), "{message}");
    assert!(received_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn model_not_found_keeps_the_servers_message() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "model 'test-model' not found"})),
        )
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = request(&endpoint, &settings);

    // Exec
    let result = OllamaBackend.complete(&client(), &request).await;

    // Check
    assert!(
        matches!(&result, Err(BackendError::Http { status: 404, body, .. }) if body.contains("not found")),
        "{result:?}"
    );
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("ollama API server"), "{message}");
}

#[tokio::test]
async fn streams_newline_delimited_json() {
    // Setup: ollama's stream, one JSON object per line, the last with the counts.
    let lines = concat!(
        "{\"model\":\"test-model\",\"created_at\":\"2025-01-01T00:00:00Z\",\"response\":\"Hel\",\"done\":false}\n",
        "{\"model\":\"test-model\",\"created_at\":\"2025-01-01T00:00:00Z\",\"response\":\"lo\",\"done\":false}\n",
        "{\"model\":\"test-model\",\"created_at\":\"2025-01-01T00:00:01Z\",\"response\":\"\",\"done\":true,",
        "\"done_reason\":\"length\",\"total_duration\":5000,\"prompt_eval_count\":12,\"eval_count\":2}\n",
    );

    // Exec
    let (items, body) =
        conformance::stream_from(&OllamaBackend, "/api/generate", lines.into()).await;

    // Check
    assert_eq!(
        items,
        conformance::hello_stream(Some(2), Some(12), BackendFinishReason::Length)
    );
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["raw"], json!(true));
    assert_eq!(body["model"], json!(MODEL));
}
