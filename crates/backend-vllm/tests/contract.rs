//! Wire contract with vLLM's `/v1/completions` and `/tokenize`: the exact request
//! bodies, the required model, and replies shaped like the real server's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_vllm::VllmBackend;
use conformance::{client, received_bodies, request, settings, MODEL, PROMPT};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendFinishReason, CompletionBackend,
    TokenCountRequest,
};
use proxy_core::backend::{ConstraintText, Endpoint, WireFormat};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn sends_model_user_and_fixed_max_tokens_and_reads_choices() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(header("authorization", "Bearer vk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": MODEL,
            "choices": [{"index": 0, "text": "{\"a\":\"hi\"}", "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
            "usage": {"prompt_tokens": 12, "total_tokens": 20, "completion_tokens": 8}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("vk".into());
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    request.user = Some("agent-7");
    request.overrides.temperature = Some(0.2);

    // Exec
    let completion = VllmBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "{\"a\":\"hi\"}".into(),
            completion_tokens: Some(8),
            prompt_tokens: Some(12),
            finish_reason: BackendFinishReason::Stop,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "prompt": PROMPT,
            "max_tokens": 3000,
            "stream": false,
            "user": "agent-7",
            "model": MODEL,
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
    let result = VllmBackend.complete(&client(), &request).await;

    // Check
    assert!(
        matches!(
            &result,
            Err(BackendError::InvalidRequest {
                backend: "vllm",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(received_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn counts_tokens_with_the_servers_tokenizer() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 3, "max_model_len": 8192, "tokens": [1, 2, 3], "token_strs": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = TokenCountRequest {
        endpoint: &endpoint,
        auth: None,
        model: Some(MODEL),
        text: "hello world!",
    };

    // Exec
    let count = VllmBackend.count_tokens(&client(), &request).await;

    // Check
    assert_eq!(count, Ok(Some(3)));
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({"prompt": "hello world!", "model": MODEL})]
    );
}

#[tokio::test]
async fn streams_openai_text_completion_events() {
    conformance::cases::openai_text_stream(&VllmBackend, true).await;
}

#[tokio::test]
async fn the_callers_max_tokens_replaces_the_fixed_default() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": MODEL,
            "choices": [{"index": 0, "text": "hi", "logprobs": null, "finish_reason": "length", "stop_reason": null}],
            "usage": {"prompt_tokens": 12, "total_tokens": 19, "completion_tokens": 7}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.overrides.max_tokens = Some(7);

    // Exec
    let completion = VllmBackend.complete(&client(), &request).await.unwrap();

    // Check: sent under vLLM's (OpenAI's) name, and the cut reply is `length`.
    assert_eq!(completion.finish_reason, BackendFinishReason::Length);
    let bodies = received_bodies(&server).await;
    assert_eq!(bodies[0]["max_tokens"], 7, "{}", bodies[0]);
}

/// The version split: vLLM 0.10.2 and later read `structured_outputs.json` (0.12
/// removed `guided_json`, and ignores it without an error); servers up to 0.11 read
/// `guided_json`, picked per model with `constraint = "guided_json"`.
#[tokio::test]
async fn the_answer_schema_goes_in_structured_outputs_or_guided_json() {
    let reply = json!({
        "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": MODEL,
        "choices": [{"index": 0, "text": "{}", "logprobs": null, "finish_reason": "stop", "stop_reason": null}],
        "usage": {"prompt_tokens": 12, "total_tokens": 13, "completion_tokens": 1}
    });
    let schema = json!({"type": "object", "required": ["function"]});

    let current = conformance::constrained_body::<VllmBackend>(
        "/v1/completions",
        reply.clone(),
        "structured_outputs",
        ConstraintText::JsonSchema(&schema),
    )
    .await;
    let older = conformance::constrained_body::<VllmBackend>(
        "/v1/completions",
        reply,
        "guided_json",
        ConstraintText::JsonSchema(&schema),
    )
    .await;

    assert_eq!(current["structured_outputs"], json!({"json": schema}));
    assert!(current.get("guided_json").is_none(), "{current}");
    assert_eq!(older["guided_json"], schema);
    assert!(older.get("structured_outputs").is_none(), "{older}");
    assert_eq!(
        VllmBackend::SPEC
            .constraints
            .default_field()
            .map(|field| field.name),
        Some("structured_outputs")
    );
}
