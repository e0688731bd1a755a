//! Wire contract with koboldcpp's `/api/v1/generate`: the exact request body and
//! headers, and replies shaped like the real server's (v1.76 and 2025 builds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_koboldcpp::KoboldCppBackend;
use conformance::{client, constraint, received_bodies, request, settings, CONTEXT_WINDOW, PROMPT};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendFinishReason, CompletionBackend, TokenCountRequest,
};
use proxy_core::backend::{ConstraintText, Endpoint};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAMMAR: &str = "root ::= \"hi\" | \"hello\"";

#[tokio::test]
async fn sends_stop_sequence_lengths_and_grammar_and_reads_results_text() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/generate"))
        .and(header("authorization", "Bearer pw"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": [{"text": "hello", "finish_reason": "length"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("pw".into());
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.constraint = Some(constraint::<KoboldCppBackend>(
        "grammar",
        ConstraintText::Gbnf(GRAMMAR),
    ));

    // Exec
    let completion = KoboldCppBackend.complete(&client(), &request).await;

    // Check: v1.76 says "length" for a stop-string hit too, so it is not the limit.
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "hello".into(),
            completion_tokens: None,
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Unknown,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "prompt": PROMPT,
            "max_context_length": CONTEXT_WINDOW,
            "max_length": 400,
            "grammar": GRAMMAR,
            "stop_sequence": SIMPLE_STOP,
        })]
    );
}

#[tokio::test]
async fn maps_overrides_and_reads_2025_token_counts() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/generate"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [{
                "text": "a long answer", "finish_reason": "length", "logprobs": null,
                "prompt_tokens": 12, "completion_tokens": 64
            }]})),
        )
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.overrides.max_tokens = Some(64);
    request.overrides.seed = Some(3);
    request.overrides.frequency_penalty = Some(0.5);

    // Exec
    let completion = KoboldCppBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "a long answer".into(),
            completion_tokens: Some(64),
            prompt_tokens: Some(12),
            finish_reason: BackendFinishReason::Length,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "prompt": PROMPT,
            "max_context_length": CONTEXT_WINDOW,
            "max_length": 64,
            "stop_sequence": SIMPLE_STOP,
            "sampler_seed": 3,
        })]
    );
}

#[tokio::test]
async fn counts_tokens_with_the_servers_tokenizer() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/extra/tokencount"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": 3, "ids": [1, 2, 3]})),
        )
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
    let count = KoboldCppBackend.count_tokens(&client(), &request).await;

    // Check
    assert_eq!(count, Ok(Some(3)));
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({"prompt": "hello world!"})]
    );
}

#[tokio::test]
async fn streams_server_sent_token_events() {
    // Setup: koboldcpp's events; "null" (a string) while generating, and no end
    // marker: the connection closes after the last event.
    let events = concat!(
        "event: message\ndata: {\"token\": \"Hel\", \"finish_reason\": \"null\"}\n\n",
        "event: message\ndata: {\"token\": \"lo\", \"finish_reason\": \"null\"}\n\n",
        "event: message\ndata: {\"token\": \"\", \"finish_reason\": \"stop\"}\n\n",
    );

    // Exec
    let (items, body) = conformance::stream_from(
        &KoboldCppBackend,
        "/api/extra/generate/stream",
        events.into(),
    )
    .await;

    // Check
    assert_eq!(
        items,
        conformance::hello_stream(None, None, BackendFinishReason::Stop)
    );
    assert_eq!(body["prompt"], json!(PROMPT));
    assert_eq!(body["max_context_length"], json!(CONTEXT_WINDOW));
}
