//! Images through the whole pipeline to llama.cpp's `/completion`: the orchestrator puts each
//! image part's marker in its place and the body carries the images, in order, where
//! the server reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::sync::Arc;

use backend_llamacpp as _;
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
    let mut target = ModelTarget::new("llamacpp", server.uri(), 8192);
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

/// Sends `request` to a mock answering `reply` at `/completion`; the bodies it received and
/// the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
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
        .filter(|received| received.url.path() == "/completion")
        .map(|received| serde_json::from_slice(&received.body).unwrap())
        .collect();
    (bodies, result)
}

#[tokio::test]
async fn images_go_in_multimodal_data_with_a_media_marker_in_their_place() {
    // Setup
    let request = with_images(&[png(), jpeg()]);

    // Exec
    let (bodies, result) = send(
        &request,
        json!({"content": "A cat and a dog.", "stop_type": "eos"}),
    )
    .await;

    // Check
    assert_eq!(result.as_deref(), Ok("A cat and a dog."));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["prompt"],
        json!({
            "prompt_string": "system: Look.\nuser: What is in\n<__media__>\nand\n<__media__>",
            "multimodal_data": [PNG, JPEG]
        })
    );
}

#[tokio::test]
async fn text_only_requests_keep_a_plain_prompt() {
    let request: ChatCompletionRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi"}]}]}))
        .unwrap();
    let (bodies, _) = send(&request, json!({"content": "Hello.", "stop_type": "eos"})).await;
    assert_eq!(bodies[0]["prompt"], json!("user: hi"));
}

#[tokio::test]
async fn a_format_the_server_cannot_decode_is_refused_before_anything_is_sent() {
    let webp = "data:image/webp;base64,UklGRhAAAABXRUJQVlA4IA==".to_owned();
    let (bodies, result) = send(&with_images(&[webp]), json!({"content": ""})).await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1].image_url.url` is image/webp")
            && error.contains("`llamacpp`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_media_marker_already_in_the_text_is_refused() {
    let mut request = with_images(&[png()]);
    request.messages[0] =
        proxy_core::ChatMessage::new(proxy_core::Role::System, "Say <__media__>.");
    let (bodies, result) = send(&request, json!({"content": ""})).await;
    assert!(bodies.is_empty());
    let error = result.unwrap_err();
    assert!(error.contains("contains `<__media__>`"), "{error}");
}
