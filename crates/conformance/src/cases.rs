//! The conformance cases. Each takes the backend's [`Fixture`], starts its own
//! loopback server where it needs one, and checks one behaviour every backend shares.

use std::time::Duration;

use proxy_core::backend::{
    BackendAuth, BackendError, BackendFinishReason, CompletionBackend, DefaultMaxTokens, Endpoint,
};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::CONTEXT_WINDOW;
use crate::{client, client_with_timeout, complete, received_bodies, request, settings, Fixture};

/// A server that answers the fixture's path with `status` and JSON `body`.
async fn server_replying(fixture: &Fixture, status: u16, body: &Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fixture.path))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// A server that answers the fixture's path with `status` and a raw text body.
async fn server_replying_text(fixture: &Fixture, status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fixture.path))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// A well-formed reply gives its text, and the request was a JSON POST to the path.
pub async fn success(fixture: Fixture) {
    let server = server_replying(&fixture, 200, &fixture.success_reply).await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    let completion = result.map_err(|e| e.to_string());
    assert_eq!(
        completion.as_ref().map(|c| c.text.as_str()),
        Ok(fixture.success_text)
    );
    assert_ne!(
        completion.map(|c| c.finish_reason).ok(),
        Some(BackendFinishReason::Length),
        "a successful short reply must not claim the token limit"
    );
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    let content_type = requests
        .first()
        .and_then(|r| r.headers.get("content-type"))
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
}

/// Nothing listening: a connection error naming the endpoint.
pub async fn connection_refused(fixture: Fixture) {
    let port = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener.local_addr().map(|a| a.port()).unwrap_or(9),
        Err(_) => 9,
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let result = complete(fixture.backend.as_ref(), &client(), &endpoint, None).await;
    assert!(
        matches!(&result, Err(BackendError::Connection { .. })),
        "{result:?}"
    );
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with(&format!("Unable to connect to endpoint {endpoint}")),
        "{message}"
    );
}

/// A 500 with a body: the error carries status, body and the full URI.
pub async fn http_error_carries_status_body_and_uri(fixture: Fixture) {
    let server = server_replying_text(&fixture, 500, "model crashed: out of memory").await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::Http { status: 500, .. })),
        "{result:?}"
    );
    if let Err(BackendError::Http { body, uri, .. }) = &result {
        assert_eq!(body, "model crashed: out of memory");
        assert_eq!(uri, &format!("{}{}", server.uri(), fixture.path));
    }
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("Make sure that the"), "{message}");
    assert!(
        message.contains("out of memory") && message.contains("500"),
        "{message}"
    );
}

/// A 200 whose body is not JSON: a clear invalid-response error with the body.
pub async fn garbage_reply(fixture: Fixture) {
    let server = server_replying_text(&fixture, 200, "<html>It works!</html>").await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::InvalidResponse { body, .. }) if body.contains("It works!")),
        "{result:?}"
    );
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("not JSON"), "{message}");
}

/// A 200 with JSON that is not this server's reply: an invalid-response error.
pub async fn wrong_shape_reply(fixture: Fixture) {
    let server = server_replying(&fixture, 200, &json!({"status": "ok"})).await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::InvalidResponse { .. })),
        "{result:?}"
    );
}

/// A 200 whose body is an error object is an error, not a completion.
pub async fn error_body_in_a_200_reply(fixture: Fixture) {
    let server = server_replying(&fixture, 200, &fixture.error_reply).await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::ErrorReply { .. })),
        "{result:?}"
    );
}

/// Empty completion text is [`BackendError::EmptyResponse`].
pub async fn empty_text(fixture: Fixture) {
    let server = server_replying(&fixture, 200, &fixture.empty_reply).await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::EmptyResponse { .. })),
        "{result:?}"
    );
    assert_eq!(
        result.err().map(|e| e.kind()),
        Some(proxy_core::ErrorKind::EmptyResponse)
    );
}

/// The server's own context-overflow reply becomes the context-window error.
pub async fn context_overflow(fixture: Fixture) {
    let (status, body) = fixture.overflow_reply.clone();
    let server = server_replying(&fixture, status, &body).await;
    let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::ContextWindowExceeded { status: s, .. }) if *s == status),
        "{result:?}"
    );
    let message = result
        .as_ref()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.starts_with("Request exceeds maximum context length"),
        "{message}"
    );
    let client_message = result
        .err()
        .map(|error| error.client_message())
        .unwrap_or_default();
    assert!(
        client_message.starts_with("This model's maximum context length is ")
            && client_message.ends_with("Please reduce the length of the messages."),
        "{client_message}"
    );
}

/// A busy server — 429 Too Many Requests, or 503 while it loads the model — is the
/// busy-server error with its status and `Retry-After` (so the HTTP server can pass
/// both on), not a generic HTTP error.
pub async fn busy_server_keeps_status_and_retry_after(fixture: Fixture) {
    let loading =
        json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}});
    for (status, retry_after, body, kind) in [
        (
            429,
            Some("7"),
            json!({"error": "too many requests"}),
            proxy_core::ErrorKind::RateLimited,
        ),
        (
            503,
            Some("120"),
            loading.clone(),
            proxy_core::ErrorKind::BackendUnavailable,
        ),
        (
            503,
            None,
            loading,
            proxy_core::ErrorKind::BackendUnavailable,
        ),
    ] {
        let server = MockServer::start().await;
        let mut reply = ResponseTemplate::new(status).set_body_json(&body);
        if let Some(value) = retry_after {
            reply = reply.insert_header("retry-after", value);
        }
        Mock::given(method("POST"))
            .and(path(fixture.path))
            .respond_with(reply)
            .mount(&server)
            .await;
        let result = complete(fixture.backend.as_ref(), &client(), &server.uri(), None).await;
        assert!(
            matches!(
                &result,
                Err(BackendError::Unavailable { status: s, retry_after: r, .. })
                    if *s == status && r.as_deref() == retry_after
            ),
            "{status} {retry_after:?}: {result:?}"
        );
        let error = result.err();
        assert_eq!(error.as_ref().map(BackendError::kind), Some(kind));
        assert_eq!(
            error.as_ref().and_then(BackendError::retry_after),
            retry_after
        );
    }
}

/// Runs a success against a server that only answers when `header: value` is sent.
async fn succeeds_with_auth(fixture: Fixture, auth: BackendAuth, name: &str, value: &str) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fixture.path))
        .and(header(name, value))
        .respond_with(ResponseTemplate::new(200).set_body_json(&fixture.success_reply))
        .mount(&server)
        .await;
    let result = complete(
        fixture.backend.as_ref(),
        &client(),
        &server.uri(),
        Some(&auth),
    )
    .await;
    assert_eq!(
        result.map(|c| c.text).map_err(|e| e.to_string()),
        Ok(fixture.success_text.to_owned())
    );
}

/// `bearer_token` sends `Authorization: Bearer KEY`.
pub async fn bearer_token_auth(fixture: Fixture) {
    let auth = BackendAuth::BearerToken("sekrit".into());
    succeeds_with_auth(fixture, auth, "authorization", "Bearer sekrit").await;
}

/// `api_key` sends `api-key: KEY`.
pub async fn api_key_auth(fixture: Fixture) {
    let auth = BackendAuth::ApiKey("sekrit".into());
    succeeds_with_auth(fixture, auth, "api-key", "sekrit").await;
}

/// An auth type without a key is refused before anything is sent.
pub async fn auth_type_without_key(fixture: Fixture) {
    let server = server_replying(&fixture, 200, &fixture.success_reply).await;
    let result = BackendAuth::from_parts(Some("bearer_token"), None);
    assert!(
        matches!(&result, Err(BackendError::InvalidAuth { .. })),
        "{result:?}"
    );
    if let Ok(auth) = result {
        let _ = complete(
            fixture.backend.as_ref(),
            &client(),
            &server.uri(),
            auth.as_ref(),
        )
        .await;
    }
    assert_eq!(request_count(&server).await, 0);
}

/// A server slower than the client's timeout gives the timeout error.
pub async fn timeout(fixture: Fixture) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fixture.path))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(&fixture.success_reply)
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let http = client_with_timeout(Duration::from_millis(200));
    let result = complete(fixture.backend.as_ref(), &http, &server.uri(), None).await;
    assert!(
        matches!(&result, Err(BackendError::Timeout { .. })),
        "{result:?}"
    );
    assert_eq!(
        result.err().map(|e| e.kind()),
        Some(proxy_core::ErrorKind::Timeout)
    );
}

/// A request with no token limit gets the backend's default, clamped to the room the
/// context window leaves after the prompt (at least 1), under every field the fixture
/// names: vLLM refuses prompt + `max_tokens` over the window, koboldcpp and webui cut
/// the prompt's start to make room, and "the whole window" (Groq, LM Studio, webui)
/// means what is left of it. A backend whose default is the server's sends none.
pub async fn default_limit_fits_the_room(fixture: Fixture) {
    let default = fixture.backend.default_max_tokens();
    let mut prompts = vec![1, 5000, CONTEXT_WINDOW - 1, CONTEXT_WINDOW];
    if let DefaultMaxTokens::Fixed(tokens) = default {
        prompts.extend([CONTEXT_WINDOW - tokens, CONTEXT_WINDOW - tokens + 1]);
    }
    for prompt_tokens in prompts {
        let server = server_replying(&fixture, 200, &fixture.success_reply).await;
        let settings = settings();
        let result = match Endpoint::parse(&server.uri()) {
            Ok(endpoint) => {
                let mut request = request(&endpoint, &settings);
                request.prompt_tokens = prompt_tokens;
                fixture.backend.complete(&client(), &request).await
            }
            Err(error) => Err(error),
        };
        assert!(result.is_ok(), "{prompt_tokens} prompt tokens: {result:?}");
        let bodies = received_bodies(&server).await;
        assert_eq!(bodies.len(), 1);
        let room = CONTEXT_WINDOW.saturating_sub(prompt_tokens).max(1);
        let expected = default
            .unclamped(CONTEXT_WINDOW)
            .map(|tokens| json!(tokens.min(room)));
        for field in fixture.max_tokens_fields {
            assert_eq!(
                bodies[0].pointer(field),
                expected.as_ref(),
                "{field} with {prompt_tokens} prompt tokens, default {default:?}: {}",
                bodies[0]
            );
        }
    }
}

/// An OpenAI-compatible backend streams `/v1/completions`: it asks for
/// `"stream": true` (with `stream_options.include_usage` when `asks_usage`), and reads
/// the text pieces, the finish reason, the usage chunk (no choices) and `[DONE]`.
pub async fn openai_text_stream(backend: &dyn CompletionBackend, asks_usage: bool) {
    // Setup: OpenAI's text-completion stream.
    let events = concat!(
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"Hel\",\"finish_reason\":null}]}\n\n",
        ": keep-alive\n\n",
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"lo\",\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n",
        "data: [DONE]\n\n",
    );

    // Exec
    let (items, body) = crate::stream_from(backend, "/v1/completions", events.into()).await;

    // Check
    assert_eq!(
        items,
        crate::hello_stream(Some(2), Some(9), BackendFinishReason::Stop)
    );
    assert_eq!(body["stream"], json!(true));
    let stream_options = asks_usage.then(|| json!({"include_usage": true}));
    assert_eq!(body.get("stream_options").cloned(), stream_options);
    assert_eq!(body["prompt"], json!(crate::PROMPT));
}

/// A chat-completions backend streams `/v1/chat/completions`: it asks for
/// `"stream": true` and reads the role chunk, the `delta.content` pieces, the finish
/// reason and `[DONE]`.
pub async fn openai_chat_stream(backend: &dyn CompletionBackend) {
    // Setup: OpenAI's chat-completion stream.
    let events = concat!(
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n",
        "data: [DONE]\n\n",
    );

    // Exec
    let (items, body) = crate::stream_from(backend, "/v1/chat/completions", events.into()).await;

    // Check
    assert_eq!(
        items,
        crate::hello_stream(None, None, BackendFinishReason::Length)
    );
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["messages"][0]["content"], json!(crate::PROMPT));
}
