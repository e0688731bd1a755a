//! Wire contract with LM Studio: the exact request bodies of `lmstudio`
//! (`/v1/completions`) and `lmstudio-legacy` (`/v1/chat/completions`), and replies
//! shaped like the real server's (REST v0 extras included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_lmstudio::{LmStudioBackend, LmStudioLegacyBackend};
use conformance::{client, constraint, received_bodies, request, settings, CONTEXT_WINDOW, PROMPT};
use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendFinishReason, CompletionBackend,
};
use proxy_core::backend::{ConstraintText, Endpoint};
use proxy_core::settings::SIMPLE_STOP;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn lmstudio_sends_its_fixed_fields_and_the_prompt() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(header("authorization", "Bearer lm-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-x", "object": "text_completion", "created": 1731990488,
            "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "text": "Hello!", "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            "stats": {"tokens_per_second": 55.1, "time_to_first_token": 0.1, "generation_time": 0.05, "stop_reason": "eosFound"},
            "model_info": {"arch": "qwen2", "quant": "Q4_K_M", "format": "gguf", "context_length": 4096}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let auth = BackendAuth::BearerToken("lm-token".into());
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.auth = Some(&auth);
    let schema = json!({"type": "object"});
    request.constraint = Some(constraint::<LmStudioBackend>(
        "response_format",
        ConstraintText::JsonSchema(&schema),
    ));
    let room = CONTEXT_WINDOW - request.prompt_tokens;

    // Exec
    let completion = LmStudioBackend.complete(&client(), &request).await;

    // Check: the schema is OpenAI's `response_format`; the caller's model name is not sent; the
    // default limit is the room after the prompt.
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "Hello!".into(),
            completion_tokens: Some(3),
            prompt_tokens: Some(10),
            finish_reason: BackendFinishReason::Stop,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "input_prefix": "",
            "input_suffix": "",
            "lmstudio": {"context_overflow_policy": 0},
            "stream": false,
            "model": "local model",
            "max_tokens": room,
            "prompt": PROMPT,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "strict": true, "schema": {"type": "object"}}},
        })]
    );
}

#[tokio::test]
async fn lmstudio_legacy_sends_the_prompt_as_one_user_message() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-x", "object": "chat.completion", "created": 1731990488,
            "model": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let mut request = request(&endpoint, &settings);
    request.overrides.max_tokens = Some(2);

    // Exec
    let completion = LmStudioLegacyBackend.complete(&client(), &request).await;

    // Check
    assert_eq!(
        completion,
        Ok(BackendCompletion {
            text: "Hi".into(),
            completion_tokens: Some(2),
            prompt_tokens: Some(10),
            finish_reason: BackendFinishReason::Length,
        })
    );
    assert_eq!(
        received_bodies(&server).await,
        vec![json!({
            "stop": SIMPLE_STOP,
            "input_prefix": "",
            "input_suffix": "",
            "lmstudio": {"context_overflow_policy": 0},
            "stream": false,
            "model": "local model",
            "max_tokens": 2,
            "messages": [{"role": "user", "content": PROMPT}],
        })]
    );
}

#[tokio::test]
async fn lmstudio_overflow_in_a_200_error_body_is_the_context_error() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded with context length of only 8192 tokens"
        })))
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let request = request(&endpoint, &settings);

    // Exec
    let result = LmStudioBackend.complete(&client(), &request).await;

    // Check
    assert!(
        matches!(
            &result,
            Err(BackendError::ContextWindowExceeded { status: 200, .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn streams_openai_text_completion_events_without_asking_for_usage() {
    conformance::cases::openai_text_stream(&backend_lmstudio::LmStudioBackend, false).await;
}

#[tokio::test]
async fn legacy_streams_chat_completion_events() {
    conformance::cases::openai_chat_stream(&backend_lmstudio::LmStudioLegacyBackend).await;
}
