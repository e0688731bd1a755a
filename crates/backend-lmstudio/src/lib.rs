//! LM Studio's local server, two endpoint types:
//!
//! * `lmstudio`: `POST /v1/completions` with the rendered `prompt` (no template).
//! * `lmstudio-legacy`: `POST /v1/chat/completions` with the prompt as one user
//!   message (LM Studio then applies the model's chat template on top).
//!
//! Both send the completion settings, `input_prefix: ""`, `input_suffix: ""`,
//! `lmstudio: {context_overflow_policy: 0}` (stop at the limit: the proxy handles
//! overflow itself), `stream: false`, `model: "local model"` (LM Studio serves the
//! loaded model whatever the name) and `max_tokens` = the room the context window
//! leaves after the prompt, then the
//! caller's sampling fields. Replies are OpenAI-shaped. LM Studio answers unknown
//! paths with HTTP 200 and `{"error": "…"}`: that is an error here, and an error whose
//! body mentions "context length" is the context-window error. No grammar support, no
//! tokenize endpoint. Both stream (`"stream": true`, OpenAI's server-sent events; usage
//! in the stream is not asked for, as LM Studio's support for `stream_options` is
//! unverified, so tokens are counted here).

mod wire;

use proxy_core::backend::openai::{
    chat_completion, chat_stream, text_completion, text_stream, ChatCompletionReply,
    TextCompletionReply,
};
use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ConstraintField,
    ConstraintLanguage, ConstraintPlacement, JsonReply, WireFormat, WireSpec,
};
use serde_json::Value;

/// LM Studio's JSON Schema constraint, documented for `/v1/chat/completions` (llama.cpp
/// grammars for GGUF models, Outlines for MLX); `/v1/completions` takes the same field.
const RESPONSE_FORMAT: ConstraintField = ConstraintField {
    name: "response_format",
    language: ConstraintLanguage::JsonSchema,
    placement: ConstraintPlacement::ResponseFormat,
    note: "",
};

/// The text-completion path (`lmstudio`).
pub const COMPLETIONS_PATH: &str = "/v1/completions";
/// The chat-completion path (`lmstudio-legacy`).
pub const CHAT_PATH: &str = "/v1/chat/completions";
const SERVER: &str = "LM Studio local inference server";
const DEFAULT_ENDPOINT: &str = "http://localhost:1234";

/// The `lmstudio` wire format (`/v1/completions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LmStudioBackend;

/// The `lmstudio-legacy` wire format (`/v1/chat/completions`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LmStudioLegacyBackend;

impl WireFormat for LmStudioBackend {
    const SPEC: WireSpec = WireSpec {
        name: "lmstudio",
        server: SERVER,
        description: "LM Studio, OpenAI-compatible /v1/completions (raw prompt)",
        default_endpoint: DEFAULT_ENDPOINT,
        completion_path: COMPLETIONS_PATH,
        constraints: BackendConstraints {
            // Documented for chat completions only; llama-server ignores it on
            // `/v1/completions`, and a server that does leaves the answer to the check
            // after the call.
            fields: &[ConstraintField {
                note: "documented for /v1/chat/completions; unverified on /v1/completions",
                ..RESPONSE_FORMAT
            }],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: wire::DEFAULT_MAX_TOKENS,
        stream: Some(text_stream(COMPLETIONS_PATH)),
        tokenizer: None,
        // `/v1/completions` takes a text prompt only: image parts are refused.
        images: None,
        // LM Studio's REST API serves no chat template.
        chat_template: None,
        // No health route; the model list answers once the server is up.
        health: Some(HealthRoute { path: "/v1/models" }),
    };
    type Reply = TextCompletionReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        wire::body(request, wire::PromptForm::Prompt, stream)
    }

    fn decode_reply(
        reply: JsonReply<TextCompletionReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        text_completion(reply)
    }
}

impl WireFormat for LmStudioLegacyBackend {
    const SPEC: WireSpec = WireSpec {
        name: "lmstudio-legacy",
        server: SERVER,
        description: "LM Studio, /v1/chat/completions with the prompt as one user message",
        default_endpoint: DEFAULT_ENDPOINT,
        completion_path: CHAT_PATH,
        constraints: BackendConstraints {
            fields: &[RESPONSE_FORMAT],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: wire::DEFAULT_MAX_TOKENS,
        stream: Some(chat_stream(CHAT_PATH)),
        tokenizer: None,
        // The rendered prompt is one chat message's text; image parts of that
        // message would all come after the prompt, not in their places: refused.
        images: None,
        // LM Studio's REST API serves no chat template.
        chat_template: None,
        // No health route; the model list answers once the server is up.
        health: Some(HealthRoute { path: "/v1/models" }),
    };
    type Reply = ChatCompletionReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        wire::body(request, wire::PromptForm::UserMessage, stream)
    }

    fn decode_reply(
        reply: JsonReply<ChatCompletionReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        chat_completion(reply)
    }
}

proxy_core::register_wire_format!(LmStudioBackend, LmStudioLegacyBackend);
