//! The `llamacpp` endpoint type: llama.cpp's `llama-server`, native `POST /completion`.
//!
//! Body: the completion settings, `prompt`, `stop` (always a JSON array: the server
//! ignores a bare string), `grammar` (GBNF) when asked, and the caller's sampling
//! fields (`max_tokens` becomes `n_predict`). Reply: the text from `content`,
//! generated tokens from `tokens_predicted`, the stop reason from `stop_type` (newer
//! servers) or `stopped_eos`/`stopped_word`/`stopped_limit` (before Dec 2024).
//! Streaming: the same body with `"stream": true`; the reply is server-sent events,
//! one `data: {"content": …}` per token, the last with `"stop": true` and the
//! counts (no `[DONE]`). Token counting uses the server's `POST /tokenize`.
//! Images (a server with a multimodal projector): `prompt` becomes the object
//! `{"prompt_string": …, "multimodal_data": [base64, …]}`, each image's place in the
//! prompt marked by the marker the server names in `GET /props` (`media_marker`;
//! [`MEDIA_MARKER`] when it names none), asked once per request that carries images
//! (the image tokens are not in the proxy's count). The model's chat template and its
//! special tokens: `GET /props` ([`CHAT_TEMPLATE_ROUTE`]).

mod wire;

use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::wire::{ImageInput, ImagePlacement};
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ChatTemplateRoute,
    ConstraintField, ConstraintLanguage, ConstraintPlacement, DefaultMaxTokens, JsonReply,
    StreamFraming, StreamRoute, TokenizerRoute, WireFormat, WireSpec, GBNF_GRAMMAR,
};
use proxy_core::image::ImageFormat;
use serde_json::Value;

/// The completion path.
pub const COMPLETION_PATH: &str = "/completion";
/// The tokenizer path.
pub const TOKENIZE_PATH: &str = "/tokenize";
/// The text that stands for an image in a multimodal prompt when the server names
/// none: libmtmd's default marker. llama-server since April 2026
/// (ggml-org/llama.cpp#21962) makes up a random marker at each start unless it is
/// started with `LLAMA_MEDIA_MARKER`, and names the one in use in `GET /props`
/// ([`PROPS_PATH`], field [`MEDIA_MARKER_FIELD`]); older servers name none and read
/// this one.
pub const MEDIA_MARKER: &str = "<__media__>";
/// The server-properties path, which names the media marker.
pub const PROPS_PATH: &str = "/props";
/// The `/props` field naming the media marker.
pub const MEDIA_MARKER_FIELD: &str = "media_marker";

/// Where `llama-server` serves its model's chat template: `GET /props`, the template
/// in `chat_template` (the model's own — its GGUF `tokenizer.chat_template` —, or the
/// one given with `--chat-template`/`--chat-template-file`), the special tokens in
/// `bos_token` and `eos_token`. Servers since late 2024 have `chat_template`; the
/// tokens came with the Jinja work of early 2025 (older servers lack them, and the
/// tokens stay undefined). Build 11434 (2026) answers the same with and without
/// `--jinja`. A model without a template: older servers answer `""`, newer ones may
/// name their fallback (ChatML) instead.
pub const CHAT_TEMPLATE_ROUTE: ChatTemplateRoute = ChatTemplateRoute {
    path: PROPS_PATH,
    template_field: "chat_template",
    bos_token_field: Some("bos_token"),
    eos_token_field: Some("eos_token"),
};

/// The llama.cpp `llama-server` wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct LlamaCppBackend;

impl WireFormat for LlamaCppBackend {
    const SPEC: WireSpec = WireSpec {
        name: "llamacpp",
        server: "llama.cpp server",
        description: "llama.cpp llama-server, native /completion API (GBNF grammars)",
        default_endpoint: "http://localhost:8080",
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[
                GBNF_GRAMMAR,
                ConstraintField {
                    name: "json_schema",
                    language: ConstraintLanguage::JsonSchema,
                    placement: ConstraintPlacement::Field("json_schema"),
                    note: "the server converts it to a grammar itself",
                },
            ],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: DefaultMaxTokens::ServerDefault,
        stream: Some(StreamRoute {
            path: COMPLETION_PATH,
            framing: StreamFraming::ServerSentEvents,
            decode: wire::stream_chunk,
        }),
        tokenizer: Some(TokenizerRoute {
            path: TOKENIZE_PATH,
            body: wire::tokenize_body,
            count: wire::token_count,
        }),
        // A server started with a multimodal projector (`--mmproj`) reads each media
        // marker in `prompt.prompt_string` as the next of `prompt.multimodal_data`
        // (tools/server/README.md); stb_image decodes the data (no WebP).
        images: Some(ImageInput {
            placement: ImagePlacement::AnnouncedMarker {
                path: PROPS_PATH,
                field: MEDIA_MARKER_FIELD,
                default: MEDIA_MARKER,
            },
            formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif],
            max_images: None,
        }),
        chat_template: Some(CHAT_TEMPLATE_ROUTE),
        // 200 when ready, 503 while the model loads.
        health: Some(HealthRoute { path: "/health" }),
    };
    type Reply = wire::CompletionReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        wire::body(request, stream)
    }

    fn decode_reply(
        reply: JsonReply<wire::CompletionReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        wire::completion(reply)
    }
}

proxy_core::register_wire_format!(LlamaCppBackend);
