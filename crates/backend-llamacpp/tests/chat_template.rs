//! The model's chat template from llama-server's `GET /props`: the template and its
//! special tokens where the server serves them, a clear error where it serves none,
//! and the failed requests kept as backend errors. Replies are shaped like build
//! 11434's (SmolLM2-135M-Instruct), trimmed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use backend_llamacpp::LlamaCppBackend;
use conformance::client;
use proxy_core::backend::{BackendAuth, BackendError, CompletionBackend, Endpoint};
use proxy_core::{ChatTemplateSpec, ErrorKind, TemplateSourceError};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A mock llama-server answering `GET /props` with `status` and `body`.
async fn serving(status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/props"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// Asks `server` for its chat template.
async fn ask(server: &MockServer) -> Result<ChatTemplateSpec, TemplateSourceError> {
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    LlamaCppBackend
        .chat_template(&client(), &endpoint, None)
        .await
}

/// `/props` as build 11434 answers it, with `fields` in place of its template fields.
fn props(fields: Value) -> Value {
    let mut props = json!({
        "default_generation_settings": {"n_ctx": 4096, "params": {"temperature": 0.8}},
        "total_slots": 1,
        "model_path": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "modalities": {"vision": false, "audio": false},
        "media_marker": "<__media_atLZ3wuiYXEt__>",
        "chat_template_caps": {"supports_tools": false},
        "build_info": "b11434-unknown",
    });
    for (key, value) in fields.as_object().unwrap() {
        props[key] = value.clone();
    }
    props
}

#[tokio::test]
async fn the_template_and_tokens_come_from_props_with_the_credentials() {
    // Setup
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/props"))
        .and(header("authorization", "Bearer sekrit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(props(json!({
            "chat_template": TEMPLATE,
            "bos_token": "<|im_start|>",
            "eos_token": "<|im_end|>",
        }))))
        .expect(1)
        .mount(&server)
        .await;
    let endpoint = Endpoint::parse(&server.uri()).unwrap();
    let auth = BackendAuth::BearerToken("sekrit".into());

    // Exec
    let spec = LlamaCppBackend
        .chat_template(&client(), &endpoint, Some(&auth))
        .await;

    // Check
    assert_eq!(
        spec,
        Ok(ChatTemplateSpec {
            source: TEMPLATE.to_owned(),
            bos_token: Some("<|im_start|>".to_owned()),
            eos_token: Some("<|im_end|>".to_owned()),
            origin: format!(
                "the llama.cpp server at {}/props (`chat_template`)",
                server.uri()
            ),
            tool_call_format: None,
        })
    );
}

#[tokio::test]
async fn an_older_server_without_the_token_fields_gives_the_template_alone() {
    let server = serving(200, json!({"chat_template": TEMPLATE, "total_slots": 1})).await;

    let spec = ask(&server).await.unwrap();

    assert_eq!(spec.source, TEMPLATE);
    assert_eq!((spec.bos_token, spec.eos_token), (None, None));
}

#[tokio::test]
async fn a_server_without_a_template_is_a_clear_error() {
    for (fields, state) in [
        (json!({"chat_template": "", "bos_token": "<s>"}), "empty"),
        (json!({}), "missing"),
        (json!({"chat_template": null}), "null"),
    ] {
        // Setup
        let server = serving(200, props(fields)).await;

        // Exec
        let error = ask(&server).await.unwrap_err();

        // Check
        assert_eq!(
            error,
            TemplateSourceError::BackendHasNoTemplate {
                server: "llama.cpp server",
                uri: format!("{}/props", server.uri()),
                field: "chat_template",
                state,
            }
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("`chat_template` is {state}"))
                && message.contains("--chat-template-file"),
            "{message}"
        );
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    }
}

#[tokio::test]
async fn a_template_of_the_wrong_type_is_an_unreadable_reply() {
    let server = serving(200, props(json!({"chat_template": ["a"]}))).await;

    let error = ask(&server).await.unwrap_err();

    assert!(
        matches!(&error, TemplateSourceError::Backend(BackendError::InvalidResponse { detail, .. })
            if detail == "`chat_template` is not a string"),
        "{error:?}"
    );
}

#[tokio::test]
async fn error_statuses_stay_backend_errors_with_their_evidence() {
    for status in [404, 500] {
        // Setup
        let server = serving(
            status,
            json!({"error": {"code": status, "message": "nope"}}),
        )
        .await;

        // Exec
        let error = ask(&server).await.unwrap_err();

        // Check
        match &error {
            TemplateSourceError::Backend(BackendError::Http {
                status: got, uri, ..
            }) => {
                assert_eq!(*got, status);
                assert_eq!(uri, &format!("{}/props", server.uri()));
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(error.kind(), ErrorKind::HttpError);
    }
}

#[tokio::test]
async fn a_server_still_loading_is_unavailable() {
    let server = serving(
        503,
        json!({"error": {"code": 503, "message": "Loading model"}}),
    )
    .await;

    let error = ask(&server).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::BackendUnavailable);
}
