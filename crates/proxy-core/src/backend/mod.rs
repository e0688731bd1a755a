//! The `CompletionBackend` extension point: one inference server's raw-completion API
//! (prompt string in, text out).
//!
//! # Design
//!
//! * [`CompletionBackend`] is picked by endpoint type at run time, so it is used as a
//!   `dyn` trait object. Native `async fn` in traits is not dyn-compatible (its future
//!   type is unnamed), so the trait uses [`async_trait`], which boxes the future —
//!   one allocation per HTTP request, nothing next to the request itself.
//! * A backend is a pure wire format ([`WireFormat`], [`wire`]): it states its server
//!   and capabilities once ([`WireSpec`]), builds the body and reads the reply and the
//!   stream chunks; one shared driver (the blanket `CompletionBackend` impl) does the
//!   HTTP. Registered with [`register_wire_format!`](crate::register_wire_format), the
//!   registration reads name, default endpoint and capabilities from the spec. A
//!   backend that needs its own I/O implements [`CompletionBackend`] directly and
//!   registers with [`register_backend!`](crate::register_backend).
//! * Backends are stateless and built once per process by their registration
//!   ([`BackendRegistration`]); the caller passes the [`reqwest::Client`] so that
//!   timeouts and the connection pool are the application's choice. A client timeout
//!   becomes [`BackendError::Timeout`].
//! * A backend builds the request body in this order (later wins): the completion
//!   settings ([`crate::settings`]: preset, then the user's settings file), then the
//!   backend's own fields (SPEC §3: `max_length`, `num_ctx`, …), then the caller's
//!   [`SamplingOverrides`] under the backend's field names ([`fields`]).
//! * The endpoint is checked and parsed once, when a target is resolved ([`Endpoint`]);
//!   a request only joins its path onto it.
//! * Everything about HTTP that is the same for every server — path
//!   joining, auth headers, status and error-body handling, context-overflow
//!   detection — lives in [`http`] and [`reply`]; OpenAI-shaped replies in [`openai`].
//!   A backend crate only says which path, which body and where the text is.
//! * A grammar reaches only backends whose capabilities say they take one (the
//!   orchestrator does not build it for the others, and says so once per request).
//! * Checking the prompt against the context window *before* sending is the
//!   orchestrator's job (it counts with [`crate::tokens`]); a server that reports an
//!   overflow anyway gives [`BackendError::ContextWindowExceeded`].
//!
//! Token counting: [`crate::tokens::count_tokens`] (cl100k_base, offline, as the
//! reference) is what the context-window check and the usage fallback use.
//! [`CompletionBackend::count_tokens`] asks the server's own tokenizer where it has
//! one (llama.cpp, vLLM, koboldcpp); it is exact for the loaded model but costs a
//! request, so callers use it only when they opt in.

pub mod auth;
pub mod completion;
pub mod constraint;
pub mod endpoint;
pub mod error;
pub mod fields;
pub mod http;
pub mod openai;
pub mod registration;
pub mod reply;
pub mod request;
pub mod streaming;
pub mod wire;

use crate::chat_template_source::{ChatTemplateSpec, TemplateSourceError};

pub use auth::BackendAuth;
pub use completion::{BackendCompletion, BackendFinishReason};
pub use constraint::{
    BackendConstraints, Constraint, ConstraintChoice, ConstraintField, ConstraintLanguage,
    ConstraintPlacement, ConstraintText, GBNF_GRAMMAR,
};
pub use endpoint::Endpoint;
pub use error::BackendError;
pub use http::{get_json, post_json, probe, send_json, BackendCall, JsonReply};
pub use registration::{
    available_backends, backend_registry, find_backend, BackendRegistration, RegisteredBackend,
};
pub use request::{BackendRequest, DefaultMaxTokens, SamplingOverrides, TokenCountRequest};
pub use streaming::{BackendStream, BackendStreamEvent, StreamChunk};
pub use wire::{
    BackendCapabilities, ChatTemplateRoute, HealthRoute, StreamFraming, StreamRoute,
    TokenizerRoute, WireFormat, WireSpec,
};

/// One inference server's raw-completion API. Implementations must be stateless
/// enough to share (`Send + Sync`): one instance serves every request.
#[async_trait::async_trait]
pub trait CompletionBackend: Send + Sync {
    /// Sends `request.prompt` and returns the completion text.
    ///
    /// Errors: [`BackendError::InvalidRequest`] (e.g. a model is required but missing),
    /// [`BackendError::Connection`], [`BackendError::Timeout`],
    /// [`BackendError::Http`] (non-success status, with status, body and URI),
    /// [`BackendError::ErrorReply`] (an error object in a 200 body),
    /// [`BackendError::InvalidResponse`] (a body that is not the expected JSON),
    /// [`BackendError::ContextWindowExceeded`], [`BackendError::EmptyResponse`].
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError>;

    /// Sends `request.prompt` asking the server to stream, and returns the stream of
    /// text pieces once the server has accepted the request; `Ok(None)` when this
    /// backend cannot stream (the default), so the caller uses
    /// [`complete`](Self::complete).
    ///
    /// Errors before the stream starts are those of [`complete`](Self::complete); an
    /// error during the stream is its last item. See [`streaming`].
    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let _ = (http, request);
        Ok(None)
    }

    /// The token limit this backend sends when the caller sets none (the default:
    /// [`DefaultMaxTokens::ServerDefault`], none sent). The orchestrator clamps it to
    /// the room after the prompt, as it does a caller's limit.
    fn default_max_tokens(&self) -> DefaultMaxTokens {
        DefaultMaxTokens::ServerDefault
    }

    /// Counts `request.text` with the server's own tokenizer; `Ok(None)` when the
    /// server has none (the default), so the caller falls back to
    /// [`crate::tokens::count_tokens`].
    async fn count_tokens(
        &self,
        http: &reqwest::Client,
        request: &TokenCountRequest<'_>,
    ) -> Result<Option<u64>, BackendError> {
        let _ = (http, request);
        Ok(None)
    }

    /// The marker this backend's server reads as an image's place, where the server
    /// names it ([`wire::ImagePlacement::AnnouncedMarker`]: asked of the server at
    /// `endpoint`); `Ok(None)` when the server names none or the marker is fixed (the
    /// default), so the caller uses the placement's own.
    ///
    /// Errors: those of a request to the server (a route the server lacks is an
    /// [`BackendError::Http`] 404).
    async fn image_marker(
        &self,
        http: &reqwest::Client,
        endpoint: &Endpoint,
        auth: Option<&BackendAuth>,
    ) -> Result<Option<String>, BackendError> {
        let _ = (http, endpoint, auth);
        Ok(None)
    }

    /// The model's chat template and its special tokens, asked of the server at
    /// `endpoint` where the capabilities state a route for it
    /// ([`wire::ChatTemplateRoute`]); its `tool_call_format` is `None` (the caller
    /// sets the configured one). One request each call: the caller asks once per
    /// model and keeps the answer.
    ///
    /// Errors: [`TemplateSourceError::NotServed`] where the backend serves none (the
    /// default); [`TemplateSourceError::BackendHasNoTemplate`] when the server answers
    /// without one; [`TemplateSourceError::Backend`] for a failed request (a route the
    /// server lacks is an [`BackendError::Http`] 404).
    async fn chat_template(
        &self,
        http: &reqwest::Client,
        endpoint: &Endpoint,
        auth: Option<&BackendAuth>,
    ) -> Result<ChatTemplateSpec, TemplateSourceError> {
        let _ = (http, endpoint, auth);
        Err(TemplateSourceError::NotServed { backend: None })
    }
}
