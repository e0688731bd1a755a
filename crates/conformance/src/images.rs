//! What the image tests of every backend crate share: a request with image parts sent
//! through the whole pipeline (orchestrator, wrapper, backend) to a wiremock server on
//! loopback, with a wrapper whose prompt is easy to read.

use std::sync::Arc;

use proxy_core::wrapper::{text_answer, PromptWrapper, RenderRequest, WrapperError};
use proxy_core::{
    AssistantMessage, ChatCompletionRequest, ModelTarget, ProxyClient, WrapperSelection,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path as path_is};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The first bytes of a PNG file, base64-encoded.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";
/// The first bytes of a JPEG file, base64-encoded.
pub const JPEG: &str = "/9j/4AAQ";

/// [`PNG`] as a data URL.
pub fn png() -> String {
    format!("data:image/png;base64,{PNG}")
}

/// [`JPEG`] as a data URL.
pub fn jpeg() -> String {
    format!("data:image/jpeg;base64,{JPEG}")
}

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

/// A conversation whose user message holds text and images (`urls`), one after another:
/// `"What is in"`, the first image, then `"and"` before each further image.
pub fn with_images(urls: &[String]) -> ChatCompletionRequest {
    let mut content = vec![json!({"type": "text", "text": "What is in"})];
    for (index, url) in urls.iter().enumerate() {
        if index > 0 {
            content.push(json!({"type": "text", "text": "and"}));
        }
        content.push(json!({"type": "image_url", "image_url": {"url": url, "detail": "auto"}}));
    }
    request(json!({"messages": [
        {"role": "system", "content": "Look."},
        {"role": "user", "content": content}
    ]}))
}

/// `body` read as a request; panics (failing the test) when it is not one.
pub fn request(body: Value) -> ChatCompletionRequest {
    match serde_json::from_value(body) {
        Ok(request) => request,
        Err(error) => unreachable!("the test's request is not a chat completion request: {error}"),
    }
}

/// Sends `request` through the `endpoint_type` backend (model `vision-model`, the
/// line-per-message wrapper) to a mock answering `reply` at `path`. Returns the JSON
/// bodies the mock received there, and the answer's content or the error's message.
pub async fn send(
    endpoint_type: &str,
    path: &str,
    request: &ChatCompletionRequest,
    reply: Value,
) -> (Vec<Value>, Result<String, String>) {
    let exchange = send_with(endpoint_type, path, request, reply, &[]).await;
    (exchange.bodies, exchange.result)
}

/// What a mock server saw of one request, and its result.
#[derive(Debug)]
pub struct Exchange {
    /// The JSON bodies received at the completion path.
    pub bodies: Vec<Value>,
    /// The paths of every `GET` received, in order.
    pub gets: Vec<String>,
    /// The answer's content, or the error's message.
    pub result: Result<String, String>,
}

/// [`send`], with the mock also answering each `GET` route of `gets` (path, JSON
/// body; any other route is a 404).
pub async fn send_with(
    endpoint_type: &str,
    path: &str,
    request: &ChatCompletionRequest,
    reply: Value,
    gets: &[(&str, Value)],
) -> Exchange {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_is(path))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;
    for (route, body) in gets {
        Mock::given(method("GET"))
            .and(path_is(*route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let mut target = ModelTarget::new(endpoint_type, server.uri(), 8192);
    target.model = Some("vision-model".into());
    target.wrapper = WrapperSelection::Custom {
        name: "lines".into(),
        wrapper: Arc::new(Lines),
    };
    let result = match (target.resolve(), ProxyClient::new()) {
        (Ok(resolved), Ok(client)) => client
            .get_chat_completion(&resolved, request)
            .await
            .map(|response| {
                response
                    .choices
                    .first()
                    .and_then(|choice| choice.message.content.clone())
                    .unwrap_or_default()
            })
            .map_err(|error| error.to_string()),
        (Err(error), _) => Err(format!("the target does not resolve: {error}")),
        (_, Err(error)) => Err(format!("no client: {error}")),
    };
    let received = server.received_requests().await.unwrap_or_default();
    let bodies = received
        .iter()
        .filter(|received| received.url.path() == path)
        .map(|received| serde_json::from_slice(&received.body).unwrap_or(Value::Null))
        .collect();
    let gets = received
        .iter()
        .filter(|received| received.method.as_str() == "GET")
        .map(|received| received.url.path().to_owned())
        .collect();
    Exchange {
        bodies,
        gets,
        result,
    }
}
