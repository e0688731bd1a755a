//! A client and a resolved target for tests that drive the whole pipeline against a
//! mock server on loopback.

use chat_completion_proxy::{
    ChatCompletionRequest, ModelTarget, ProxyClient, ResolvedTarget, TokenCounting,
    WrapperSelection,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A client that reads no completion settings file.
pub fn client() -> ProxyClient {
    match ProxyClient::builder().settings_file(None).build() {
        Ok(client) => client,
        Err(error) => panic!("the test client does not build: {error}"),
    }
}

/// `server` as an `endpoint_type` target with the named `wrapper`: model `smol`, a
/// 4096-token window, cl100k_base counting.
pub fn target(server: &MockServer, endpoint_type: &str, wrapper: &str) -> ResolvedTarget {
    configured_target(server, endpoint_type, wrapper, |_| {})
}

/// [`target`], changed by `configure` before it is resolved.
pub fn configured_target(
    server: &MockServer,
    endpoint_type: &str,
    wrapper: &str,
    configure: impl FnOnce(&mut ModelTarget),
) -> ResolvedTarget {
    let mut target = ModelTarget::new(endpoint_type, server.uri(), 4096);
    target.wrapper = WrapperSelection::Named(wrapper.into());
    target.model = Some("smol".into());
    target.token_counting = TokenCounting::Cl100k;
    configure(&mut target);
    match target.resolve() {
        Ok(target) => target,
        Err(error) => panic!("the test target does not resolve: {error}"),
    }
}

/// A system turn, a user turn and one `send_message` tool with a required `message`.
pub fn tools_request() -> ChatCompletionRequest {
    let request = json!({
        "messages": [{"role": "system", "content": "You are an agent."},
                     {"role": "user", "content": "Say hi to Ada."}],
        "tools": [{"type": "function", "function": {"name": "send_message",
            "description": "Sends a message.", "parameters": {"type": "object",
            "properties": {"message": {"type": "string"}}, "required": ["message"]}}}]
    });
    match serde_json::from_value(request) {
        Ok(request) => request,
        Err(error) => panic!("the test request does not read: {error}"),
    }
}

/// The answer every mock gives: a valid `send_message` call in the forced shape.
pub const SEND_MESSAGE_CALL: &str =
    r#"{"function": "send_message", "params": {"inner_thoughts": "Greet.", "message": "Hi Ada!"}}"#;

/// An OpenAI-compatible server answering `route` with [`SEND_MESSAGE_CALL`], as text completion
/// (`chat: false`) or as chat completion.
pub async fn openai_server(route: &str, chat: bool) -> MockServer {
    let choice = if chat {
        json!({"index": 0, "finish_reason": "stop",
               "message": {"role": "assistant", "content": SEND_MESSAGE_CALL}})
    } else {
        json!({"index": 0, "finish_reason": "stop", "text": SEND_MESSAGE_CALL})
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1750000000, "model": "smol",
            "choices": [choice],
            "usage": {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80}
        })))
        .mount(&server)
        .await;
    server
}
