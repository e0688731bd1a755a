//! The `vllm` endpoint type: vLLM's OpenAI-compatible `POST /v1/completions`.
//!
//! Body: the completion settings, `prompt`, `max_tokens` = 3000 (vLLM's own default
//! is 16) lowered to the room the context window leaves after the prompt (vLLM
//! refuses a prompt plus `max_tokens` over the window), `stream: false`, `user` when known, `model` (required: vLLM refuses a
//! request for a model it does not serve), then the caller's sampling fields.
//! No GBNF grammar: the answer's JSON Schema goes in `structured_outputs.json` instead
//! (vLLM ≥ 0.10.2; the `guided_json` of older servers is not sent, and a server that
//! does not know the field ignores it, so the answer is then only checked). Reply:
//! OpenAI-shaped; overflow is a 400 mentioning "maximum context length", in the old
//! flat (`{"object": "error", …}`) or the newer nested error shape. Token counting
//! uses the server's `POST /tokenize`. Streaming: the same body with `"stream": true`
//! and `stream_options.include_usage` (OpenAI's server-sent events).

use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::openai::{
    set_streaming, text_completion, text_stream, StreamUsage, TextCompletionReply,
};
use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ConstraintField,
    ConstraintLanguage, ConstraintPlacement, DefaultMaxTokens, JsonReply, TokenCountRequest,
    TokenizerRoute, WireFormat, WireSpec,
};
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/v1/completions";
/// The tokenizer path.
pub const TOKENIZE_PATH: &str = "/tokenize";
/// Generated tokens asked for unless the caller says otherwise (the reference's value),
/// at most the room after the prompt.
pub const DEFAULT_MAX_TOKENS: u64 = 3000;

/// The vLLM wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct VllmBackend;

/// Settings, `prompt`, `max_tokens` (the default, clamped), `stream` (and `stream_options.include_usage`
/// when streaming), `user`, `model`, `structured_outputs.json` (the answer's JSON
/// Schema), then the overrides.
pub fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    if let Some(max_tokens) = request.default_max_tokens(VllmBackend::SPEC.default_max_tokens) {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    body.insert("stream".into(), json!(false));
    set_streaming(&mut body, stream, StreamUsage::Ask);
    if let Some(user) = request.user {
        body.insert("user".into(), json!(user));
    }
    if let Some(model) = request.model {
        body.insert("model".into(), json!(model));
    }
    request.write_constraint(&mut body);
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(
        &mut body,
        &request.overrides,
        &SamplingFieldNames::OPENAI,
        VllmBackend::SPEC.name,
    );
    Value::Object(body)
}

/// The `/tokenize` body: `{"prompt": text, "model": model}` (the model when known).
fn tokenize_body(request: &TokenCountRequest<'_>) -> Value {
    let mut body = json!({ "prompt": request.text });
    if let (Some(model), Some(object)) = (request.model, body.as_object_mut()) {
        object.insert("model".into(), json!(model));
    }
    body
}

/// The count in a `/tokenize` reply: `count`, else the length of `tokens`.
fn token_count(reply: &Value) -> Result<u64, &'static str> {
    reply
        .get("count")
        .and_then(Value::as_u64)
        .or_else(|| {
            reply
                .get("tokens")
                .and_then(Value::as_array)
                .map(|tokens| tokens.len() as u64)
        })
        .ok_or("`count`")
}

impl WireFormat for VllmBackend {
    const SPEC: WireSpec = WireSpec {
        name: "vllm",
        server: "vLLM server",
        description: "vLLM, OpenAI-compatible /v1/completions (model required)",
        default_endpoint: "http://localhost:8000",
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[
                ConstraintField {
                    name: "structured_outputs",
                    language: ConstraintLanguage::JsonSchema,
                    placement: ConstraintPlacement::Nested {
                        outer: "structured_outputs",
                        inner: "json",
                    },
                    note: "vLLM >= 0.10.2",
                },
                ConstraintField {
                    name: "guided_json",
                    language: ConstraintLanguage::JsonSchema,
                    placement: ConstraintPlacement::Field("guided_json"),
                    note: "vLLM <= 0.11; 0.12 and later ignore it without an error",
                },
            ],
            first_by_default: true,
        },
        model_required: true,
        default_max_tokens: DefaultMaxTokens::Fixed(DEFAULT_MAX_TOKENS),
        stream: Some(text_stream(COMPLETION_PATH)),
        tokenizer: Some(TokenizerRoute {
            path: TOKENIZE_PATH,
            body: tokenize_body,
            count: token_count,
        }),
        // `/v1/completions` takes a text (or token) prompt only: image parts are refused.
        images: None,
        // vLLM applies the model's template itself and has no route that serves it.
        chat_template: None,
        // 200 (empty body) when the engine is up.
        health: Some(HealthRoute { path: "/health" }),
    };
    type Reply = TextCompletionReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        body(request, stream)
    }

    fn decode_reply(
        reply: JsonReply<TextCompletionReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        text_completion(reply)
    }
}

proxy_core::register_wire_format!(VllmBackend);
