//! `webui`: text-generation-webui's OpenAI-compatible `/v1/completions`; streams with
//! `"stream": true` and `stream_options.include_usage` (OpenAI's server-sent events).

use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::openai::{
    set_streaming, text_completion, text_stream, StreamUsage, TextCompletionReply,
};
use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ConstraintField,
    ConstraintLanguage, ConstraintPlacement, DefaultMaxTokens, JsonReply, WireFormat, WireSpec,
    GBNF_GRAMMAR,
};
use serde_json::{json, Value};

/// text-generation-webui's GBNF field (`grammar_string`), both its endpoint types.
pub(crate) const GRAMMAR_STRING: ConstraintField = ConstraintField {
    name: "grammar_string",
    language: ConstraintLanguage::Gbnf,
    placement: ConstraintPlacement::Field("grammar_string"),
    note: "",
};

/// The completion path.
pub const COMPLETION_PATH: &str = "/v1/completions";

/// The caller's `max_tokens` is written to both of webui's length fields.
const FIELDS: SamplingFieldNames =
    SamplingFieldNames::OPENAI.with_max_tokens(&["max_tokens", "max_new_tokens"]);

/// The `webui` wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebUiBackend;

/// Settings, `prompt`, `truncation_length`, `max_tokens`/`max_new_tokens` (what is
/// left of the context window after the prompt, at least 1), `grammar_string` when asked, then the overrides;
/// when streaming, `stream: true` and `stream_options.include_usage`.
pub fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("truncation_length".into(), json!(request.context_window));
    if let Some(room) = request.default_max_tokens(WebUiBackend::SPEC.default_max_tokens) {
        body.insert("max_tokens".into(), json!(room));
        body.insert("max_new_tokens".into(), json!(room));
    }
    request.write_constraint(&mut body);
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(
        &mut body,
        &request.overrides,
        &FIELDS,
        WebUiBackend::SPEC.name,
    );
    set_streaming(&mut body, stream, StreamUsage::Ask);
    Value::Object(body)
}

impl WireFormat for WebUiBackend {
    const SPEC: WireSpec = WireSpec {
        name: "webui",
        server: super::SERVER,
        description: "text-generation-webui, OpenAI-compatible /v1/completions (GBNF grammars)",
        default_endpoint: super::DEFAULT_ENDPOINT,
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[
                GRAMMAR_STRING,
                ConstraintField {
                    note: "what llama.cpp's llama-server reads when it serves this API",
                    ..GBNF_GRAMMAR
                },
            ],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: DefaultMaxTokens::ContextWindow,
        stream: Some(text_stream(COMPLETION_PATH)),
        tokenizer: None,
        // `/v1/completions` takes a text prompt only: image parts are refused.
        images: None,
        // text-generation-webui's API serves no chat template.
        chat_template: None,
        // `{"status":"ok"}`; needs the API key when one is set (it is sent).
        health: Some(HealthRoute {
            path: "/v1/internal/health",
        }),
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
