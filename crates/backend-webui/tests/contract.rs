//! Wire contract with text-generation-webui: the exact request bodies of `webui`
//! (`/v1/completions`) and `webui-legacy` (`/api/v1/generate`), and replies shaped
//! like the real server's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_webui::{WebUiBackend, WebUiLegacyBackend};
use conformance::{client, constraint, received_bodies, request, settings, CONTEXT_WINDOW, PROMPT};
use proxy_core::backend::{BackendAuth, BackendCompletion, BackendFinishReason, CompletionBackend};
use proxy_core::backend::{ConstraintText, Endpoint};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAMMAR: &str = "root ::= [a-z ]+";

#[tokio::test]
async fn webui_sends_lengths_from_the_context_window_and_grammar_string() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(header("authorization", "Bearer k"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1700000000123456789", "object": "text_completion", "created": 1700000000,
            "model": "Mistral-7B", "system_fingerprint": null,
            "choices": [{"index": 0, "finish_reason": "stop", "text": "hello there", "logprobs": null}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("k".into());
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.constraint = Some(constraint::<WebUiBackend>(
        "grammar_string",
        ConstraintText::Gbnf(GRAMMAR),
    ));
    request.prompt_tokens = 100;

    // Exec
    let completion = WebUiBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "hello there".into(),
            completion_tokens: Some(3),
            prompt_tokens: Some(9),
            finish_reason: BackendFinishReason::Stop,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "prompt": PROMPT,
            "truncation_length": CONTEXT_WINDOW,
            "max_tokens": CONTEXT_WINDOW - 100,
            "max_new_tokens": CONTEXT_WINDOW - 100,
            "grammar_string": GRAMMAR,
        })]
    );
}

#[tokio::test]
async fn webui_caller_max_tokens_replaces_both_length_fields() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "finish_reason": "length", "text": "cut"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 32, "total_tokens": 32}
        })))
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.prompt_tokens = 100;
    request.overrides.max_tokens = Some(32);
    request.overrides.top_p = Some(0.9);

    // Exec
    let completion = WebUiBackend.complete(&client(), &request).await;

    // Check: a prompt count of 0 is "not reported".
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "cut".into(),
            completion_tokens: Some(32),
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Length,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "prompt": PROMPT,
            "truncation_length": CONTEXT_WINDOW,
            "max_tokens": 32,
            "max_new_tokens": 32,
            "top_p": 0.9,
        })]
    );
}

#[tokio::test]
async fn webui_legacy_sends_stopping_strings_and_fixed_max_new_tokens() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/generate"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [{"text": "hi"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.constraint = Some(constraint::<WebUiLegacyBackend>(
        "grammar_string",
        ConstraintText::Gbnf(GRAMMAR),
    ));

    // Exec
    let completion = WebUiLegacyBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "hi".into(),
            completion_tokens: None,
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Unknown,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "stopping_strings": SIMPLE_STOP,
            "max_new_tokens": 3072,
            "prompt": PROMPT,
            "truncation_length": CONTEXT_WINDOW,
            "grammar_string": GRAMMAR,
        })]
    );
}

#[tokio::test]
async fn streams_openai_text_completion_events() {
    conformance::cases::openai_text_stream(&WebUiBackend, true).await;
}

/// `constraint = "grammar"` on the webui path: llama-server serves the same
/// OpenAI-compatible API but reads `grammar`, not webui's `grammar_string`.
#[tokio::test]
async fn webui_sends_the_grammar_as_grammar_where_configured() {
    let body = conformance::constrained_body::<WebUiBackend>(
        "/v1/completions",
        json!({"choices": [{"index": 0, "text": "hi", "finish_reason": "stop"}]}),
        "grammar",
        ConstraintText::Gbnf(GRAMMAR),
    )
    .await;
    assert_eq!(body["grammar"], GRAMMAR);
    assert!(body.get("grammar_string").is_none(), "{body}");
}
