//! The `ollama` endpoint type: ollama's native `POST /api/generate` in raw mode.
//!
//! Body: `model` (required: a clear error if missing), `prompt`, `stream: false`,
//! `raw: true` (no server-side template), and `options` = the completion settings +
//! `num_ctx` = the context window + the caller's sampling fields (`max_tokens`
//! becomes `num_predict`). It takes no GBNF grammar; the answer's JSON Schema goes in
//! `format` instead (a `-grammar` wrapper's answer shape, or a `response_format`
//! schema), which ollama turns into a grammar of its own.
//! Reply: the text from `response`, generated tokens from `eval_count`, prompt tokens
//! from `prompt_eval_count`, the stop reason from `done_reason`. ollama reports some
//! failures as `{"error": "…"}`, also with HTTP 200; those are errors here. It has no
//! tokenize endpoint. Streaming: the same body with `stream: true`; the reply is
//! newline-delimited JSON, one `{"response": …}` per piece, the last with
//! `"done": true` and the counts (a mid-stream failure is an `{"error": …}` line).
//! Images (a multimodal model): `images: [base64, …]`, image `N`'s place in the raw
//! prompt marked `[img-N]`.

mod wire;

use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::wire::{ImageInput, ImagePlacement};
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ConstraintField,
    ConstraintLanguage, ConstraintPlacement, DefaultMaxTokens, JsonReply, StreamFraming,
    StreamRoute, WireFormat, WireSpec,
};
use proxy_core::image::ImageFormat;
use serde_json::Value;

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/generate";

/// The ollama wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaBackend;

impl WireFormat for OllamaBackend {
    const SPEC: WireSpec = WireSpec {
        name: "ollama",
        server: "ollama API server",
        description: "ollama, /api/generate in raw mode (no grammars; model required)",
        default_endpoint: "http://localhost:11434",
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[ConstraintField {
                name: "format",
                language: ConstraintLanguage::JsonSchema,
                placement: ConstraintPlacement::Field("format"),
                note: "ollama >= 0.5",
            }],
            first_by_default: true,
        },
        model_required: true,
        default_max_tokens: DefaultMaxTokens::ServerDefault,
        stream: Some(StreamRoute {
            path: COMPLETION_PATH,
            framing: StreamFraming::JsonLines,
            decode: wire::stream_chunk,
        }),
        tokenizer: None,
        // In raw mode the server puts `images[N]` where `[img-N]` stands in the prompt
        // (server/routes.go, llm/llama_server.go); Go's decoders and its WebP one.
        images: Some(ImageInput {
            placement: ImagePlacement::NumberedMarker {
                prefix: "[img-",
                suffix: "]",
            },
            formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp],
            max_images: None,
        }),
        // `POST /api/show` has a `template`, but in Go's text/template syntax, not
        // Jinja: not a chat template this proxy can render.
        chat_template: None,
        // The cheapest route that needs the server up (`/api/tags` reads the model
        // store from disk).
        health: Some(HealthRoute {
            path: "/api/version",
        }),
    };
    type Reply = wire::GenerateReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        wire::body(request, stream)
    }

    fn decode_reply(
        reply: JsonReply<wire::GenerateReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        wire::completion(reply)
    }
}

proxy_core::register_wire_format!(OllamaBackend);
