//! The `koboldcpp` endpoint type: koboldcpp's KoboldAI API, `POST /api/v1/generate`.
//!
//! Body: the completion settings with the stop list renamed `stop_sequence`, `prompt`,
//! `max_context_length` = the context window, `max_length` = 400 (the server's default
//! is too short for an agent's reply) lowered to the room after the prompt (koboldcpp
//! would cut the prompt's start to make room), `grammar` (GBNF) when asked, and the caller's
//! sampling fields (`max_tokens` becomes `max_length`, `seed` becomes
//! `sampler_seed`). Reply: the text from `results[0].text`.
//!
//! koboldcpp's `finish_reason` is lossy: `"stop"` only means end-of-sequence, while a
//! stop-string hit and the token limit both say `"length"`. When the server also
//! reports `completion_tokens` (2025 builds), fewer tokens than `max_length` means a
//! stop string; otherwise `"length"` is reported as unknown, never as the limit.
//! Token counting uses the server's `POST /api/extra/tokencount`.
//!
//! Streaming: the same body to `POST /api/extra/generate/stream`; server-sent events
//! `event: message` / `data: {"token": …, "finish_reason": …}`, no end marker (the
//! server closes the connection after the event that carries the finish reason).
//!
//! Images (a server with a multimodal projector): `images: [base64, …]`, at most
//! four. The server puts them before the prompt, whatever the prompt says, so an
//! image's place in the conversation is lost (its part leaves no text).

mod wire;

use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::wire::{ImageInput, ImagePlacement};
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, DefaultMaxTokens,
    JsonReply, StreamFraming, StreamRoute, TokenizerRoute, WireFormat, WireSpec, GBNF_GRAMMAR,
};
use proxy_core::image::ImageFormat;
use serde_json::Value;

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/v1/generate";
/// The streaming path.
pub const STREAM_PATH: &str = "/api/extra/generate/stream";
/// The token-count path.
pub const TOKENIZE_PATH: &str = "/api/extra/tokencount";

/// The koboldcpp wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct KoboldCppBackend;

impl WireFormat for KoboldCppBackend {
    const SPEC: WireSpec = WireSpec {
        name: "koboldcpp",
        server: "koboldcpp server",
        description: "koboldcpp, KoboldAI /api/v1/generate API (GBNF grammars)",
        default_endpoint: "http://localhost:5001",
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[GBNF_GRAMMAR],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: DefaultMaxTokens::Fixed(wire::DEFAULT_MAX_LENGTH),
        stream: Some(StreamRoute {
            path: STREAM_PATH,
            framing: StreamFraming::ServerSentEvents,
            decode: wire::stream_chunk,
        }),
        tokenizer: Some(TokenizerRoute {
            path: TOKENIZE_PATH,
            body: wire::tokenize_body,
            count: wire::token_count,
        }),
        // `images` (base64) go before the whole prompt, in order, "\n\n" between
        // them; the server reads the first four and ignores the rest
        // (`images_max`, koboldcpp.py; clip's stb_image decodes them).
        images: Some(ImageInput {
            placement: ImagePlacement::BeforePrompt,
            formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif],
            max_images: Some(4),
        }),
        // Its native API serves no Jinja template (its instruct presets are its own).
        chat_template: None,
        // No dedicated health route; the loaded model's name is the cheapest answer.
        health: Some(HealthRoute {
            path: "/api/v1/model",
        }),
    };
    type Reply = wire::GenerateReply;

    fn body(request: &BackendRequest<'_>, _stream: bool) -> Value {
        wire::body(request)
    }

    fn decode_reply(
        reply: JsonReply<wire::GenerateReply>,
        sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        wire::completion(reply, wire::max_length(sent))
    }
}

proxy_core::register_wire_format!(KoboldCppBackend);
