//! Images through the whole pipeline to ollama's `/api/generate` (raw mode): the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::sync::Arc;

use backend_ollama as _;
use proxy_core::wrapper::{text_answer, PromptWrapper, RenderRequest, WrapperError};
use proxy_core::{
    AssistantMessage, ChatCompletionRequest, ModelTarget, ProxyClient, WrapperSelection,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The first bytes of a PNG file and of a JPEG file, base64-encoded.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";
const JPEG: &str = "/9j/4AAQ";

/// Renders each message as `role: text` on its own line and reads any answer as text.
struct Lines;

impl PromptWrapper for Lines {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        Ok(request
            .messages
            .iter()
            .map(|message| format!("{}: {}", message.role.as_str(), message.text_cow()))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    fn parse_output(&self, raw: &str, _: bool) -> Result<AssistantMessage, WrapperError> {
        Ok(text_answer(raw, &[]))
    }

    fn supports_text_answers(&self) -> bool {
        true
    }
}

fn target(server: &MockServer) -> ModelTarget {
    let mut target = ModelTarget::new("ollama", server.uri(), 8192);
    target.model = Some("vision-model".into());
    target.wrapper = WrapperSelection::Custom {
        name: "lines".into(),
        wrapper: Arc::new(Lines),
    };
    target
}

/// A conversation whose user message holds text and images (`urls`), one after another.
fn with_images(urls: &[String]) -> ChatCompletionRequest {
    let mut content = vec![json!({"type": "text", "text": "What is in"})];
    for (index, url) in urls.iter().enumerate() {
        if index > 0 {
            content.push(json!({"type": "text", "text": "and"}));
        }
        content.push(json!({"type": "image_url", "image_url": {"url": url, "detail": "auto"}}));
    }
    serde_json::from_value(json!({"messages": [
        {"role": "system", "content": "Look."},
        {"role": "user", "content": content}
    ]}))
    .unwrap()
}

fn png() -> String {
    format!("data:image/png;base64,{PNG}")
}

fn jpeg() -> String {
    format!("data:image/jpeg;base64,{JPEG}")
}

/// Sends `request` to a mock answering `reply` at `/api/generate`; the bodies it received and
/// the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;
    let resolved = target(&server).resolve().unwrap();
    let result = ProxyClient::new()
        .unwrap()
        .get_chat_completion(&resolved, request)
        .await
        .map(|response| {
            response.choices[0]
                .message
                .content
                .clone()
                .unwrap_or_default()
        })
        .map_err(|error| error.to_string());
    let bodies = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|received| received.url.path() == "/api/generate")
        .map(|received| serde_json::from_slice(&received.body).unwrap())
        .collect();
    (bodies, result)
}

#[tokio::test]
async fn images_go_in_images_with_numbered_tags_in_the_raw_prompt() {
    // Setup
    let request = with_images(&[png(), jpeg()]);

    // Exec
    let (bodies, result) = send(
        &request,
        json!({"response": "A cat and a dog.", "done": true}),
    )
    .await;

    // Check
    assert_eq!(result.as_deref(), Ok("A cat and a dog."));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["prompt"],
        json!("system: Look.\nuser: What is in\n[img-0]\nand\n[img-1]")
    );
    assert_eq!(bodies[0]["images"], json!([PNG, JPEG]));
    assert_eq!(bodies[0]["raw"], json!(true));
    assert_eq!(bodies[0]["model"], json!("vision-model"));
}

#[tokio::test]
async fn text_only_requests_carry_no_images_field() {
    let request: ChatCompletionRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let (bodies, _) = send(&request, json!({"response": "Hello.", "done": true})).await;
    assert_eq!(bodies[0].get("images"), None);
}

#[tokio::test]
async fn a_remote_url_is_refused_naming_the_field() {
    let (bodies, result) = send(
        &with_images(&["https://example.com/cat.png".to_owned()]),
        json!({"response": "", "done": true}),
    )
    .await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1].image_url.url` is a remote URL")
            && error.contains("does not download images"),
        "{error}"
    );
}
