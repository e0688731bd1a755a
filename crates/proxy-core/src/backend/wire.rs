//! Backends as pure wire formats ([`WireFormat`]): a backend states once what its
//! server is and can do ([`WireSpec`]), builds the request body and reads a reply or
//! a stream chunk, all without I/O. The one shared driver (the blanket
//! [`CompletionBackend`] impl below) does the HTTP, the streaming, the server-side
//! token counting and the error mapping, reading every choice from the spec.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::BackendAuth;
use super::completion::BackendCompletion;
use super::constraint::BackendConstraints;
use super::endpoint::Endpoint;
use super::error::BackendError;
use super::http::{get_json, post_json, send_json, BackendCall, JsonReply};
use super::request::{BackendRequest, DefaultMaxTokens, TokenCountRequest};
use super::streaming::{
    ndjson_completion_stream, sse_completion_stream, BackendStream, ChunkDecoder,
};
use super::CompletionBackend;
use crate::chat_template_source::{spec_from_reply, ChatTemplateSpec, TemplateSourceError};
use crate::image::ImageFormat;

/// What a backend can do, as the registry and the orchestrator see it (for a
/// [`WireFormat`], derived from its [`WireSpec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendCapabilities {
    /// How it constrains the output (a `-grammar` wrapper's answer shape, a
    /// `response_format` schema): a GBNF grammar, a JSON Schema, in which field; a
    /// model entry picks one (`constraint`), else the default is sent.
    pub constraints: BackendConstraints,
    /// It needs a model name (the target's, else the request's).
    pub model_required: bool,
    /// [`CompletionBackend::count_tokens`] asks the server's own tokenizer.
    pub tokenizer: bool,
    /// [`CompletionBackend::complete_streaming`] streams (elsewhere the plain call
    /// runs and its result is sent as one piece).
    pub streaming: bool,
    /// How it takes images (`image_url` content parts); `None`: it takes none, and a
    /// request carrying one is refused with a 400 naming the part and the endpoint
    /// type.
    pub images: Option<ImageInput>,
    /// Where its server serves the model's chat template
    /// ([`CompletionBackend::chat_template`]); `None`: it does not, and a template
    /// must be given locally.
    pub chat_template: Option<ChatTemplateRoute>,
    /// Where its server answers a health check (the active probe of an ejected
    /// replica); `None`: it has none, and replicas are judged by real traffic only.
    pub health: Option<HealthRoute>,
}

impl BackendCapabilities {
    /// The capabilities as one line for people (`chat-completion-proxy backends`):
    /// `constraints: grammar (GBNF in `grammar`) (default), streaming, server tokenizer,
    /// chat template at GET /props `chat_template`, model required, images (png jpeg)
    /// at <__media__>`.
    pub fn summary(&self) -> String {
        let mut items: Vec<String> = Vec::new();
        items.push(format!("constraints: {}", self.constraints.summary()));
        if self.streaming {
            items.push("streaming".into());
        }
        if self.tokenizer {
            items.push("server tokenizer".into());
        }
        if let Some(route) = &self.chat_template {
            items.push(route.summary());
        }
        if self.model_required {
            items.push("model required".into());
        }
        match &self.health {
            Some(route) => items.push(route.summary()),
            None => items.push("no health route".into()),
        }
        match &self.images {
            Some(images) => items.push(images.summary()),
            None => items.push("no images".into()),
        }
        items.join(", ")
    }
}

/// How a backend takes images: where each goes in the prompt, which formats its
/// server decodes, how many a request may carry. The body builder finds the images,
/// in order, in [`BackendRequest::images`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInput {
    /// Where each image goes.
    pub placement: ImagePlacement,
    /// The formats its server decodes (others are refused, naming the part).
    pub formats: &'static [ImageFormat],
    /// The most images one request may carry (`None`: the server states no limit).
    pub max_images: Option<usize>,
}

impl ImageInput {
    /// `images (image/png, image/jpeg) at <__media__>, at most 4`.
    pub fn summary(&self) -> String {
        let formats = self
            .formats
            .iter()
            .map(|format| format.media_type().trim_start_matches("image/"))
            .collect::<Vec<_>>()
            .join(" ");
        let placement = match self.placement {
            ImagePlacement::Marker(marker) => format!("at {marker}"),
            ImagePlacement::AnnouncedMarker {
                path,
                field,
                default,
            } => format!("at the marker GET {path} names in `{field}` (else {default})"),
            ImagePlacement::NumberedMarker { prefix, suffix } => {
                format!("at {prefix}N{suffix}")
            }
            ImagePlacement::BeforePrompt => "before the prompt".to_owned(),
        };
        match self.max_images {
            Some(max) => format!("images ({formats}) {placement}, at most {max}"),
            None => format!("images ({formats}) {placement}"),
        }
    }
}

/// Where a backend's server puts each image of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePlacement {
    /// Where this text stands in the prompt, the images in order (llama.cpp's
    /// `<__media__>`): the orchestrator puts it in each image part's place before
    /// rendering.
    Marker(&'static str),
    /// Where the marker the server announces stands, the images in order: the server
    /// names it in the field `field` of its reply to `GET path` (llama.cpp since April
    /// 2026: `GET /props`, `media_marker`, a new random marker at each start), asked
    /// once per request that carries images; `default` when the reply has no such
    /// field (older servers) or the route does not exist.
    AnnouncedMarker {
        /// The route that names the marker.
        path: &'static str,
        /// The reply's field holding it.
        field: &'static str,
        /// The marker when the server names none.
        default: &'static str,
    },
    /// Where `{prefix}{n}{suffix}` stands, `n` the image's index from 0 (ollama's
    /// `[img-0]`).
    NumberedMarker {
        /// The text before the index.
        prefix: &'static str,
        /// The text after it.
        suffix: &'static str,
    },
    /// Before the whole prompt, in order, whatever the prompt says (koboldcpp): the
    /// image parts leave no text, and their place in the conversation is lost.
    BeforePrompt,
}

/// How a streamed reply is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFraming {
    /// Server-sent events (`data: {json}` lines; `data: [DONE]` may end them).
    ServerSentEvents,
    /// One JSON object per line (ollama).
    JsonLines,
}

/// Where and how a backend streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamRoute {
    /// The path the streamed request goes to (often the completion path).
    pub path: &'static str,
    /// How the reply is framed.
    pub framing: StreamFraming,
    /// Reads one chunk.
    pub decode: ChunkDecoder,
}

/// Where and how a backend's server counts tokens.
#[derive(Debug, Clone, Copy)]
pub struct TokenizerRoute {
    /// The tokenizer's path (`/tokenize`, …).
    pub path: &'static str,
    /// The request body for a text (and model, where the server wants one).
    pub body: fn(&TokenCountRequest<'_>) -> Value,
    /// The count in the reply; `Err` says which field is missing.
    pub count: fn(&Value) -> Result<u64, &'static str>,
}

/// Where and how a backend's server serves its model's chat template (and the special
/// tokens that go with it): `GET path`, a JSON object with the template in one field
/// and the tokens in others. Read by [`CompletionBackend::chat_template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatTemplateRoute {
    /// The path to `GET` (`/props`).
    pub path: &'static str,
    /// The reply's field holding the Jinja template.
    pub template_field: &'static str,
    /// The field holding the `bos_token` (`None`: the server does not say it).
    pub bos_token_field: Option<&'static str>,
    /// The field holding the `eos_token` (`None`: the server does not say it).
    pub eos_token_field: Option<&'static str>,
}

impl ChatTemplateRoute {
    /// `chat template at GET /props `chat_template``.
    pub fn summary(&self) -> String {
        format!(
            "chat template at GET {} `{}`",
            self.path, self.template_field
        )
    }
}

/// Where a backend's server answers a health check: `GET path`; a 2xx, 4xx (the
/// server answers, even if it wants a key) is up, a refused connection, a timeout or
/// a 5xx is down (llama.cpp answers 503 while it loads the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRoute {
    /// The path to `GET` (`/health`).
    pub path: &'static str,
}

impl HealthRoute {
    /// `health at GET /health`.
    pub fn summary(&self) -> String {
        format!("health at GET {}", self.path)
    }
}

/// Everything about a backend's server that is fixed: stated once, where the backend
/// is defined; its registration and the driver read it from here.
#[derive(Debug, Clone, Copy)]
pub struct WireSpec {
    /// The endpoint type users give (`"llamacpp"`).
    pub name: &'static str,
    /// Which server should be running there, for error messages ("llama.cpp server").
    pub server: &'static str,
    /// One line saying which API this speaks.
    pub description: &'static str,
    /// Where that server listens by default.
    pub default_endpoint: &'static str,
    /// The completion path.
    pub completion_path: &'static str,
    /// How the body can carry an output constraint (written with
    /// [`BackendRequest::write_constraint`]).
    pub constraints: BackendConstraints,
    /// Whether a model name is required.
    pub model_required: bool,
    /// The token limit the body sends when the caller sets none (write it with
    /// [`BackendRequest::default_max_tokens`], which clamps it to the room after the
    /// prompt; the orchestrator clamps it the same way, counting the prompt if needed).
    pub default_max_tokens: DefaultMaxTokens,
    /// How it streams; `None`: it does not.
    pub stream: Option<StreamRoute>,
    /// Its server's tokenizer; `None`: it has none.
    pub tokenizer: Option<TokenizerRoute>,
    /// How it takes images; `None`: it takes none (the body never carries one).
    pub images: Option<ImageInput>,
    /// Where its server serves the model's chat template; `None`: it does not.
    pub chat_template: Option<ChatTemplateRoute>,
    /// Where its server answers a health check; `None`: it has none.
    pub health: Option<HealthRoute>,
}

impl WireSpec {
    /// The capabilities this spec states.
    pub const fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            constraints: self.constraints,
            model_required: self.model_required,
            tokenizer: self.tokenizer.is_some(),
            streaming: self.stream.is_some(),
            images: self.images,
            chat_template: self.chat_template,
            health: self.health,
        }
    }
}

/// One inference server's wire format, with no I/O: what it is ([`SPEC`](Self::SPEC)),
/// the body it takes, and how its replies read. Every `WireFormat` is a
/// [`CompletionBackend`] through the shared driver; register one with
/// [`register_wire_format!`](crate::register_wire_format).
pub trait WireFormat: Default + Send + Sync + 'static {
    /// The server and what it can do.
    const SPEC: WireSpec;

    /// The shape of a completion reply.
    type Reply: DeserializeOwned + Send;

    /// The request body; `stream`: the body for [`SPEC.stream`](WireSpec::stream).
    /// The model name is present when the spec requires one (the driver checks it).
    fn body(request: &BackendRequest<'_>, stream: bool) -> Value;

    /// Reads the completion from a reply to `sent`.
    fn decode_reply(
        reply: JsonReply<Self::Reply>,
        sent: &Value,
    ) -> Result<BackendCompletion, BackendError>;
}

/// The driver's first step: a backend that needs a model name gets one.
fn check_model(spec: &WireSpec, request: &BackendRequest<'_>) -> Result<(), BackendError> {
    if spec.model_required {
        request.require_model(spec.name)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl<W: WireFormat> CompletionBackend for W {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        check_model(&W::SPEC, request)?;
        let body = W::body(request, false);
        let call = BackendCall::for_request(request, W::SPEC.completion_path, W::SPEC.server);
        let reply = post_json::<W::Reply>(http, &call, &body).await?;
        W::decode_reply(reply, &body)
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let Some(route) = W::SPEC.stream else {
            return Ok(None);
        };
        check_model(&W::SPEC, request)?;
        let call = BackendCall::for_request(request, route.path, W::SPEC.server);
        let (response, uri) = send_json(http, &call, &W::body(request, true)).await?;
        Ok(Some(match route.framing {
            StreamFraming::ServerSentEvents => {
                sse_completion_stream(response, &call, uri, route.decode)
            }
            StreamFraming::JsonLines => {
                ndjson_completion_stream(response, &call, uri, route.decode)
            }
        }))
    }

    fn default_max_tokens(&self) -> DefaultMaxTokens {
        W::SPEC.default_max_tokens
    }

    async fn count_tokens(
        &self,
        http: &reqwest::Client,
        request: &TokenCountRequest<'_>,
    ) -> Result<Option<u64>, BackendError> {
        let Some(tokenizer) = W::SPEC.tokenizer else {
            return Ok(None);
        };
        let call = BackendCall {
            endpoint: request.endpoint,
            path: tokenizer.path,
            auth: request.auth,
            server: W::SPEC.server,
        };
        let reply = post_json::<Value>(http, &call, &(tokenizer.body)(request)).await?;
        match (tokenizer.count)(&reply.value) {
            Ok(count) => Ok(Some(count)),
            Err(missing) => Err(reply.invalid(format!("the tokenizer's reply has no {missing}"))),
        }
    }

    async fn image_marker(
        &self,
        http: &reqwest::Client,
        endpoint: &Endpoint,
        auth: Option<&BackendAuth>,
    ) -> Result<Option<String>, BackendError> {
        let Some(ImageInput {
            placement: ImagePlacement::AnnouncedMarker { path, field, .. },
            ..
        }) = W::SPEC.images
        else {
            return Ok(None);
        };
        let call = BackendCall {
            endpoint,
            path,
            auth,
            server: W::SPEC.server,
        };
        let reply = get_json::<Value>(http, &call).await?;
        Ok(announced_marker(&reply.value, field))
    }

    async fn chat_template(
        &self,
        http: &reqwest::Client,
        endpoint: &Endpoint,
        auth: Option<&BackendAuth>,
    ) -> Result<ChatTemplateSpec, TemplateSourceError> {
        let Some(route) = W::SPEC.chat_template else {
            return Err(TemplateSourceError::NotServed {
                backend: Some(W::SPEC.name),
            });
        };
        let call = BackendCall {
            endpoint,
            path: route.path,
            auth,
            server: W::SPEC.server,
        };
        let reply = get_json::<Value>(http, &call).await?;
        spec_from_reply(&reply, &route)
    }
}

/// The marker named in `field` of a reply: a non-empty string, else `None`.
fn announced_marker(reply: &Value, field: &str) -> Option<String> {
    reply
        .get(field)
        .and_then(Value::as_str)
        .filter(|marker| !marker.trim().is_empty())
        .map(str::to_owned)
}

/// Registers a [`WireFormat`] as a backend: its name, description, default endpoint
/// and capabilities all come from its [`WireSpec`].
///
/// ```
/// use proxy_core::backend::{
///     BackendCompletion, BackendConstraints, BackendError, BackendFinishReason, BackendRequest, DefaultMaxTokens,
///     JsonReply, WireFormat, WireSpec,
/// };
/// use serde_json::{json, Value};
///
/// #[derive(Default)]
/// struct EchoServer;
///
/// impl WireFormat for EchoServer {
///     const SPEC: WireSpec = WireSpec {
///         name: "echo-server",
///         server: "echo server",
///         description: "an example: POST /echo {prompt} → {text}",
///         default_endpoint: "http://localhost:9000",
///         completion_path: "/echo",
///         constraints: BackendConstraints::NONE,
///         model_required: false,
///         default_max_tokens: DefaultMaxTokens::ServerDefault,
///         stream: None,
///         tokenizer: None,
///         images: None,
///         chat_template: None,
///         health: None,
///     };
///     type Reply = Value;
///
///     fn body(request: &BackendRequest<'_>, _stream: bool) -> Value {
///         json!({ "prompt": request.prompt })
///     }
///
///     fn decode_reply(reply: JsonReply<Value>, _sent: &Value) -> Result<BackendCompletion, BackendError> {
///         let text = reply.value["text"].as_str().unwrap_or_default().to_owned();
///         reply.into_completion(text, None, None, BackendFinishReason::Unknown)
///     }
/// }
///
/// proxy_core::register_wire_format!(EchoServer);
///
/// let echo = proxy_core::backend::find_backend("echo-server").unwrap();
/// assert!(!echo.registration.capabilities.streaming);
/// assert!(echo.registration.capabilities.images.is_none());
/// ```
#[macro_export]
macro_rules! register_wire_format {
    ($($format:ty),+ $(,)?) => {
        $(
            $crate::__private::inventory::submit! {
                $crate::backend::BackendRegistration {
                    plugin: ::core::env!("CARGO_PKG_NAME"),
                    name: <$format as $crate::backend::WireFormat>::SPEC.name,
                    description: <$format as $crate::backend::WireFormat>::SPEC.description,
                    default_endpoint:
                        <$format as $crate::backend::WireFormat>::SPEC.default_endpoint,
                    capabilities:
                        <$format as $crate::backend::WireFormat>::SPEC.capabilities(),
                    build: || ::std::boxed::Box::new(<$format as ::core::default::Default>::default()),
                }
            }
        )+
    };
}
