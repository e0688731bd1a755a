//! Setup shared by the tests: a fake llama.cpp server, a running proxy, log capture.

use std::io::Write;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use proxy_core::TokenCounting;
use proxy_server::{ModelConfig, Secret, ServerConfig, ServerState};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// The API key every keyed test server accepts.
pub const API_KEY: &str = "sk-test-7f3a9c1e5b";
/// The backend key sent to the fake llama.cpp server.
pub const BACKEND_KEY: &str = "backend-secret-d41d8cd9";

/// The model's reply after chatml's `{\n  "function":` prefix: a send_message call.
pub const CALL_REPLY: &str =
    " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Say hi.\", \"message\": \"Hello!\"}\n}";

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Proxy {
    /// Starts a proxy serving `config` on an ephemeral port.
    pub async fn start(config: ServerConfig) -> Proxy {
        install_log_capture();
        let state = ServerState::from_config(&config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, receiver) = oneshot::channel::<()>();
        let task = tokio::spawn(proxy_server::serve(state, listener, async move {
            let _ = receiver.await;
        }));
        Proxy {
            url,
            shutdown: Some(sender),
            task: Some(task),
        }
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }

    /// Asks the server to stop without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }

    /// The server task, to await after [`Proxy::signal_stop`].
    pub fn task(&mut self) -> JoinHandle<std::io::Result<()>> {
        self.task.take().unwrap()
    }

    /// POSTs `body` (JSON) to `/v1/chat/completions` with the test key.
    pub async fn chat(&self, body: &Value) -> reqwest::Response {
        self.post("/v1/chat/completions", Some(API_KEY), body).await
    }

    /// POSTs `body` (JSON) to `path`, with `key` as the bearer token if given.
    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = client().post(format!("{}{path}", self.url)).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }
}

/// A reqwest client.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// One model `local` on the fake server: llamacpp, chatml, cl100k counting, the
/// backend key; the server wants [`API_KEY`].
pub fn config(backend: &str) -> ServerConfig {
    let mut model = ModelConfig::new("local", "llamacpp", 2048);
    model.endpoint = Some(backend.to_owned());
    model.wrapper = Some("chatml".into());
    model.tokenizer = TokenCounting::Cl100k;
    model.auth_type = Some("bearer_token".into());
    model.auth_key = Some(Secret::new(BACKEND_KEY));
    ServerConfig {
        api_keys: vec![Secret::new(API_KEY)],
        models: vec![model],
        ..ServerConfig::default()
    }
}

/// A fake llama.cpp server answering `/completion` with `content`.
pub async fn llamacpp(content: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(completion_reply(content))
        .mount(&server)
        .await;
    server
}

/// A fake llama.cpp server answering `/completion` with [`CALL_REPLY`] after `delay`.
pub async fn slow_llamacpp(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(completion_reply(CALL_REPLY).set_delay(delay))
        .mount(&server)
        .await;
    server
}

/// Checks a `tool_calls` entry: a `call_…` id, type `function`, and [`CALL_REPLY`]'s
/// `send_message` call.
pub fn assert_send_message_call(call: &Value) {
    assert!(call["id"].as_str().unwrap().starts_with("call_"), "{call}");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "send_message");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["message"], "Hello!");
}

/// llama.cpp's `/completion` reply with `content`: one JSON object, or server-sent
/// events (the content in pieces of a few characters, then the last chunk with the
/// counts) when the request asks to stream.
pub fn completion_reply(content: &str) -> CompletionReply {
    CompletionReply {
        content: content.to_owned(),
        delay: Duration::ZERO,
    }
}

/// See [`completion_reply`].
pub struct CompletionReply {
    content: String,
    delay: Duration,
}

impl CompletionReply {
    /// Answers after `delay`.
    pub fn set_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Respond for CompletionReply {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let last = json!({"content": "", "stop": true, "tokens_predicted": 12,
            "tokens_evaluated": 40, "stop_type": "eos"});
        let template = if body["stream"] == json!(true) {
            let chars: Vec<char> = self.content.chars().collect();
            let mut events = String::new();
            for piece in chars.chunks(4) {
                let piece: String = piece.iter().collect();
                events.push_str(&format!(
                    "data: {}\n\n",
                    json!({"content": piece, "stop": false})
                ));
            }
            events.push_str(&format!("data: {last}\n\n"));
            ResponseTemplate::new(200).set_body_raw(events, "text/event-stream")
        } else {
            let mut reply = last;
            reply["content"] = json!(self.content);
            ResponseTemplate::new(200).set_body_json(reply)
        };
        template.set_delay(self.delay)
    }
}

/// A MemGPT-style request with `tools` (or legacy `functions` when `legacy`).
pub fn request(legacy: bool) -> Value {
    let function = json!({"name": "send_message", "description": "Sends a message.",
        "parameters": {"type": "object", "properties": {"message": {"type": "string", "description": "Text."}},
        "required": ["message"]}});
    let mut body = json!({
        "model": "local",
        "messages": [
            {"role": "system", "content": "You are MemGPT."},
            {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"Hi!\"}"}
        ],
    });
    if legacy {
        body["functions"] = json!([function]);
    } else {
        body["tools"] = json!([{"type": "function", "function": function}]);
    }
    body
}

/// The error envelope of a response, after checking its status.
pub async fn error_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "an envelope is JSON"
    );
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    for field in ["message", "type", "param", "code"] {
        assert!(error.get(field).is_some(), "no {field} in {body}");
    }
    body["error"].clone()
}

/// Everything logged by this test binary so far.
pub fn captured_logs() -> String {
    let buffer = log_buffer().lock().unwrap();
    String::from_utf8_lossy(&buffer).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(Arc::default)
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of every crate at TRACE level, with span fields; keeps the
/// user's completion settings out of the tests.
fn install_log_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("CCP_COMPLETION_SETTINGS", "/nonexistent/settings.json");
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
    });
}
