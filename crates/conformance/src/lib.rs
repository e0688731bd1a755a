//! The conformance suite every backend crate runs, plus the helpers its contract
//! tests share.
//!
//! A backend crate describes itself with a [`Fixture`] (its backend, its completion
//! path, and replies shaped like its real server's) and expands
//! [`conformance_suite!`] in an integration test. Each case then runs against a
//! [`wiremock`] server on loopback, over real HTTP:
//! success; connection refused; HTTP 500 with a body; 200 with garbage; 200 with JSON
//! of the wrong shape; 200 with an error body; empty completion text; the server
//! reporting a context overflow; a busy server (429, or 503 while loading) keeping its
//! status and `Retry-After`; bearer-token and api-key auth; an auth type without
//! a key; a server that never answers (timeout); the default token limit clamped to
//! the room after the prompt. (An endpoint without `http(s)://`
//! cannot reach a backend: [`Endpoint`] refuses it when the target is resolved.)
//!
//! Checking that a prompt longer than the context window is refused before any
//! request is the orchestrator's job and is tested there.

pub mod cases;
pub mod images;
pub mod wire;

use std::time::Duration;

use proxy_core::backend::{
    BackendAuth, BackendCompletion, BackendError, BackendRequest, BackendStreamEvent,
    CompletionBackend, Constraint, ConstraintText, Endpoint, WireFormat,
};
use proxy_core::settings::SettingsPreset;
use serde_json::{Map, Value};
use wiremock::MockServer;

/// The prompt every conformance request sends.
pub const PROMPT: &str = "<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\n";

/// The context window every conformance request declares.
pub const CONTEXT_WINDOW: u64 = 8192;

/// The model every conformance request names (ollama, vLLM and Groq need one).
pub const MODEL: &str = "test-model";

/// One backend as the suite sees it.
pub struct Fixture {
    /// The backend under test.
    pub backend: Box<dyn CompletionBackend>,
    /// Its completion path (`/completion`, `/v1/completions`, …).
    pub path: &'static str,
    /// A successful reply, shaped like the real server's.
    pub success_reply: Value,
    /// The text `success_reply` carries.
    pub success_text: &'static str,
    /// A successful reply whose text is empty.
    pub empty_reply: Value,
    /// A 200 reply whose body is an error object.
    pub error_reply: Value,
    /// How this server reports a prompt that overflows the context: status and body.
    pub overflow_reply: (u16, Value),
    /// Where its body carries the token limit (JSON pointers: `/max_tokens`,
    /// `/options/num_predict`, …).
    pub max_tokens_fields: &'static [&'static str],
}

/// The completion settings the suite sends: the `simple` preset.
pub fn settings() -> Map<String, Value> {
    SettingsPreset::Simple.settings()
}

/// `W`'s constraint field `name` carrying `text`. Panics (this is a test) when `W`'s
/// spec states no such field.
#[allow(clippy::panic)] // a test helper: a wrong name fails the test that gave it
pub fn constraint<'a, W: WireFormat>(name: &str, text: ConstraintText<'a>) -> Constraint<'a> {
    let Some(field) = W::SPEC.constraints.find(name) else {
        panic!("{} states no `{name}` constraint", W::SPEC.name)
    };
    Constraint { field, text }
}

/// A request for [`PROMPT`] to `endpoint`, with [`MODEL`] and the given settings.
pub fn request<'a>(endpoint: &'a Endpoint, settings: &'a Map<String, Value>) -> BackendRequest<'a> {
    let mut request = BackendRequest::new(
        endpoint,
        PROMPT,
        proxy_core::tokens::count_tokens(PROMPT),
        CONTEXT_WINDOW,
        settings,
    );
    request.model = Some(MODEL);
    request
}

/// An HTTP client with a timeout long enough for any loopback mock.
pub fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(10))
}

/// An HTTP client with the given overall timeout.
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(_) => reqwest::Client::new(),
    }
}

/// Sends [`PROMPT`] through `backend` to `endpoint` with `auth`.
pub async fn complete(
    backend: &dyn CompletionBackend,
    http: &reqwest::Client,
    endpoint: &str,
    auth: Option<&BackendAuth>,
) -> Result<BackendCompletion, BackendError> {
    let settings = settings();
    let endpoint = Endpoint::parse(endpoint)?;
    let mut request = request(&endpoint, &settings);
    request.auth = auth;
    backend.complete(http, &request).await
}

/// The body `W` sends to a server on loopback (answering `path` with `reply`) for
/// [`PROMPT`] constrained by its field `name` with `text`: what the server receives.
#[allow(clippy::panic)] // a test helper: a failed call fails the test
pub async fn constrained_body<W: WireFormat>(
    path: &str,
    reply: Value,
    name: &str,
    text: ConstraintText<'_>,
) -> Value {
    use wiremock::matchers::{method, path as path_is};
    use wiremock::{Mock, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_is(path))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = Endpoint::parse(&server.uri())
        .unwrap_or_else(|error| panic!("a mock server's address is an endpoint: {error}"));
    let mut request = request(&endpoint, &settings);
    request.constraint = Some(constraint::<W>(name, text));
    if let Err(error) = W::default().complete(&client(), &request).await {
        panic!("{} with the `{name}` constraint: {error}", W::SPEC.name);
    }
    let mut bodies = received_bodies(&server).await;
    assert_eq!(bodies.len(), 1, "one request reached the server");
    bodies.remove(0)
}

/// Streams [`PROMPT`] through `backend` from a server on loopback that answers `path`
/// with the server-sent events `events`; returns every stream item and the JSON body
/// the backend sent. `None` items: the backend said it cannot stream.
pub async fn stream_from(
    backend: &dyn CompletionBackend,
    path: &str,
    events: String,
) -> (Option<Vec<Result<BackendStreamEvent, BackendError>>>, Value) {
    use wiremock::matchers::{method, path as path_is};
    let server = MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path_is(path))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_raw(events, "text/event-stream"),
        )
        .mount(&server)
        .await;
    let settings = settings();
    let endpoint = match Endpoint::parse(&server.uri()) {
        Ok(endpoint) => endpoint,
        Err(error) => return (Some(vec![Err(error)]), Value::Null),
    };
    let request = request(&endpoint, &settings);
    let items = match backend.complete_streaming(&client(), &request).await {
        Ok(Some(mut stream)) => {
            let mut items = Vec::new();
            while let Some(item) = futures::StreamExt::next(&mut stream).await {
                items.push(item);
            }
            Some(items)
        }
        Ok(None) => None,
        Err(error) => Some(vec![Err(error)]),
    };
    let body = received_bodies(&server)
        .await
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    (items, body)
}

/// What a backend should make of a stream of "Hel", "lo" and the end: the two pieces,
/// then "Hello" with these counts and this finish reason.
pub fn hello_stream(
    completion_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    finish_reason: proxy_core::backend::BackendFinishReason,
) -> Option<Vec<Result<BackendStreamEvent, BackendError>>> {
    Some(vec![
        Ok(BackendStreamEvent::Text("Hel".into())),
        Ok(BackendStreamEvent::Text("lo".into())),
        Ok(BackendStreamEvent::Finished(BackendCompletion {
            text: "Hello".into(),
            completion_tokens,
            prompt_tokens,
            finish_reason,
        })),
    ])
}

/// Every request `server` received, in order.
pub async fn received_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

/// The JSON bodies of every request `server` received, in order.
pub async fn received_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap_or(Value::Null))
        .collect()
}

/// Expands to a `suite` test module running every case of [`cases`] against
/// the [`Fixture`] returned by `$fixture()` (a function in the calling module, e.g.
/// `conformance_suite!(fixture);`). A crate with several endpoint types names a
/// module per fixture: `conformance_suite!(legacy_suite, legacy_fixture);`. The calling crate needs `tokio` (with
/// macros) among its dev-dependencies.
#[macro_export]
macro_rules! conformance_suite {
    (@cases $fixture:path; $($case:ident),+) => {
        $(
            #[::tokio::test]
            async fn $case() {
                $crate::cases::$case($fixture()).await;
            }
        )+
    };
    ($fixture:path) => {
        $crate::conformance_suite!(suite, $fixture);
    };
    ($module:ident, $fixture:path) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@cases $fixture;
                success, connection_refused, http_error_carries_status_body_and_uri,
                garbage_reply, wrong_shape_reply, error_body_in_a_200_reply,
                empty_text, context_overflow, busy_server_keeps_status_and_retry_after,
                bearer_token_auth, api_key_auth, auth_type_without_key,
                timeout, default_limit_fits_the_room);
        }
    };
}
