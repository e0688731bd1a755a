//! Backend plugins as a downstream user writes them: one crate that depends on
//! `proxy-core` only. `downstream-json` is a wire format (the usual case: a spec, a
//! body and a reply reader, registered with `register_wire_format!`; the shared
//! driver does the HTTP); `downstream-echo` does its own I/O (a `CompletionBackend`
//! registered with `register_backend!`).
//!
//! `downstream-echo` is an in-process "server": it answers every prompt with a
//! `send_message` call (in the `downstream-plain` wrapper's `call NAME {json}` form)
//! whose message says how many bytes of prompt it read, so a test can see that the
//! prompt the server rendered reached the backend.

use proxy_core::backend::{
    BackendCapabilities, BackendCompletion, BackendConstraints, BackendError, BackendFinishReason,
    BackendRequest, CompletionBackend, DefaultMaxTokens, JsonReply, WireFormat, WireSpec,
    GBNF_GRAMMAR,
};
use serde_json::{json, Value};

/// The endpoint type this crate registers.
pub const ENDPOINT_TYPE: &str = "downstream-echo";

/// Answers every prompt with a `send_message` call naming the prompt's length.
pub struct EchoBackend;

#[async_trait::async_trait]
impl CompletionBackend for EchoBackend {
    async fn complete(
        &self,
        _http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        Ok(BackendCompletion {
            text: format!(
                " Echoing.\ncall send_message {{\"message\": \"read {} bytes\"}}",
                request.prompt.len()
            ),
            completion_tokens: Some(7),
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Stop,
        })
    }
}

proxy_core::register_backend! {
    name: ENDPOINT_TYPE,
    description: "an in-process echo server (a downstream plugin)",
    default_endpoint: "http://localhost:9",
    capabilities: BackendCapabilities {
        constraints: BackendConstraints::NONE,
        model_required: false,
        tokenizer: false,
        streaming: false,
        images: None,
        chat_template: None,
        health: None,
    },
    build: || Box::new(EchoBackend),
}

/// The endpoint type of the wire-format example.
pub const JSON_ENDPOINT_TYPE: &str = "downstream-json";

/// A downstream server's wire format, the way most backends are written: no I/O, only
/// the spec, the body and the reply. Its "server" takes `POST /generate` with
/// `{"prompt", "grammar"?}` and answers `{"text", "tokens"}`.
#[derive(Debug, Default)]
pub struct JsonServer;

/// A `/generate` reply.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct GenerateReply {
    /// The generated text.
    pub text: Option<String>,
    /// Generated tokens.
    pub tokens: Option<u64>,
}

impl WireFormat for JsonServer {
    const SPEC: WireSpec = WireSpec {
        name: JSON_ENDPOINT_TYPE,
        server: "downstream JSON server",
        description: "a downstream plugin's wire format: POST /generate {prompt} -> {text}",
        default_endpoint: "http://localhost:9",
        completion_path: "/generate",
        constraints: BackendConstraints {
            fields: &[GBNF_GRAMMAR],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: DefaultMaxTokens::ServerDefault,
        stream: None,
        tokenizer: None,
        images: None,
        chat_template: None,
        health: None,
    };
    type Reply = GenerateReply;

    fn body(request: &BackendRequest<'_>, _stream: bool) -> Value {
        let mut body = json!({ "prompt": request.prompt });
        if let Some(fields) = body.as_object_mut() {
            request.write_constraint(fields);
        }
        body
    }

    fn decode_reply(
        reply: JsonReply<GenerateReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        let Some(text) = reply.value.text.clone() else {
            return Err(reply.invalid("the reply has no `text`"));
        };
        let tokens = reply.value.tokens;
        reply.into_completion(text, tokens, None, BackendFinishReason::Unknown)
    }
}

proxy_core::register_wire_format!(JsonServer);
