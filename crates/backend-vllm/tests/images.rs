//! Images to vLLM's `/v1/completions`, which takes none: a request with an image part is
//! refused before anything is sent, naming the part and the endpoint type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::sync::Arc;

use backend_vllm as _;
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
    let mut target = ModelTarget::new("vllm", server.uri(), 8192);
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

/// Sends `request` to a mock answering `reply` at `/v1/completions`; the bodies it received and
/// the result.
async fn send(
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
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
        .filter(|received| received.url.path() == "/v1/completions")
        .map(|received| serde_json::from_slice(&received.body).unwrap())
        .collect();
    (bodies, result)
}

#[tokio::test]
async fn an_image_is_refused_naming_the_part_and_the_endpoint_type() {
    let (bodies, result) = send(
        &with_images(&[png(), jpeg()]),
        json!({"choices": [{"text": "", "finish_reason": "stop"}]}),
    )
    .await;
    assert!(bodies.is_empty(), "nothing is sent");
    let error = result.unwrap_err();
    assert!(
        error.contains("`messages[1].content[1]` is an image")
            && error.contains("the `vllm` endpoint type cannot take images"),
        "{error}"
    );
}
