//! Wire contract with Groq's `/openai/v1/chat/completions`: the exact request body
//! (prompt as one user message, at most 4 stop strings), and replies shaped like the
//! real service's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_groq::GroqBackend;
use conformance::{client, received_bodies, request, settings, CONTEXT_WINDOW, MODEL, PROMPT};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendFinishReason, CompletionBackend,
};
use proxy_core::backend::{ConstraintText, Endpoint, WireFormat};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn sends_the_prompt_as_a_user_message_with_four_stop_strings() {
    // Setup: the endpoint carries Groq's `/openai` prefix.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/v1/chat/completions"))
        .and(header("authorization", "Bearer gsk_test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23,
                      "queue_time": 0.01, "prompt_time": 0.002, "completion_time": 0.01, "total_time": 0.012}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("gsk_test".into());
    let endpoint = Endpoint::parse(&format!("{}/openai/", server.uri())).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.overrides.temperature = Some(0.2);
    let room = CONTEXT_WINDOW - request.prompt_tokens;

    // Exec
    let completion = GroqBackend.complete(&client(), &request).await;

    // Check: the settings' 14-string stop list is replaced by Groq's 4; the default
    // limit is the room after the prompt.
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "Hello!".into(),
            completion_tokens: Some(3),
            prompt_tokens: Some(20),
            finish_reason: BackendFinishReason::Stop,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": ["\nUSER", "\nASSISTANT", "\nFUNCTION", "  }\n}\n"],
            "model": MODEL,
            "max_tokens": room,
            "messages": [{"role": "user", "content": PROMPT}],
            "temperature": 0.2,
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
    let result = GroqBackend.complete(&client(), &request).await;

    // Check
    assert!(
        matches!(
            &result,
            Err(BackendError::InvalidRequest {
                backend: "groq",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(received_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn a_401_keeps_status_body_and_uri() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}
        })))
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = request(&endpoint, &settings);

    // Exec
    let result = GroqBackend.complete(&client(), &request).await;

    // Check
    let expected_uri = format!("{}/v1/chat/completions", server.uri());
    assert!(
        matches!(&result, Err(BackendError::Http { status: 401, body, uri, .. })
            if body.contains("Invalid API Key") && *uri == expected_uri),
        "{result:?}"
    );
}

#[tokio::test]
async fn streams_chat_completion_events() {
    conformance::cases::openai_chat_stream(&GroqBackend).await;
}

#[tokio::test]
async fn the_callers_max_tokens_replaces_the_context_window() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1730000000, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hel"}, "finish_reason": "length", "logprobs": null}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("gsk_test".into());
    let endpoint = Endpoint::parse(&format!("{}/openai/", server.uri())).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.overrides.max_tokens = Some(2);

    // Exec
    let completion = GroqBackend.complete(&client(), &request).await.unwrap();

    // Check
    assert_eq!(completion.finish_reason, BackendFinishReason::Length);
    let bodies = received_bodies(&server).await;
    assert_eq!(bodies[0]["max_tokens"], 2, "{}", bodies[0]);
}

/// Groq takes a JSON Schema as OpenAI's `response_format` on the models with
/// structured outputs, only when the model entry asks (`constraint =
/// "response_format"`): by default nothing constrains it.
#[tokio::test]
async fn the_answer_schema_goes_in_response_format_when_asked() {
    let schema = json!({"type": "object", "required": ["function"]});
    let body = conformance::constrained_body::<GroqBackend>(
        "/v1/chat/completions",
        json!({"id": "c", "object": "chat.completion", "created": 1, "model": MODEL,
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"},
                            "finish_reason": "stop"}]}),
        "response_format",
        ConstraintText::JsonSchema(&schema),
    )
    .await;
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": schema}})
    );
    assert_eq!(GroqBackend::SPEC.constraints.default_field(), None);
}
