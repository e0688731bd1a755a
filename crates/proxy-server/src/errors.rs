//! [`ApiError`]: every error the server answers, in OpenAI's envelope
//! `{"error": {"message", "type", "param", "code"}}`.
//!
//! [`classify`] is the one place where an error kind — the pipeline's
//! ([`ErrorKind`], from [`ProxyError::kind`],
//! [`BackendError::kind`](proxy_core::backend::BackendError::kind) and
//! [`WrapperError::kind`](proxy_core::WrapperError::kind)) or the server's own
//! ([`ApiErrorKind::InvalidApiKey`], [`ApiErrorKind::ModelNotFound`], …) — becomes an
//! HTTP status, an error `type` and a `code`. Its `match` is exhaustive with no
//! catch-all, so a new kind without a mapping does not compile.
//!
//! What a client reads never holds a backend URL, port or reply body, nor a Rust type
//! name: a pipeline error's message is [`client_message`] (a backend failure in words,
//! [`BackendError::client_message`]), and the full error (with the URI, status and
//! body) is logged under the request's span. Every message sent ends with the request
//! id (`… (request id req_…)`, also the `x-request-id` header), so an operator can
//! find the log lines of the failure.
//!
//! [`BackendError::client_message`]: proxy_core::backend::BackendError::client_message

use std::fmt;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proxy_core::chat_template_source::TemplateSourceError;
use proxy_core::{ErrorKind, ProxyError};
use serde_json::json;

use crate::telemetry::current_request_id;

/// Declares [`ApiErrorKind`] (the pipeline's kinds plus the server's own), the server
/// kinds' stable names and [`ApiErrorKind::SERVER`] from one list.
macro_rules! api_error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )+) => {
        /// The kind of an [`ApiError`]: one of the pipeline's or one of the server's own.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ApiErrorKind {
            /// A pipeline error (from [`ProxyError::kind`]).
            Pipeline(ErrorKind),
            $( $(#[doc = $doc])* $variant, )+
        }

        impl ApiErrorKind {
            /// The server's own kinds (every variant but [`ApiErrorKind::Pipeline`]).
            pub const SERVER: &'static [ApiErrorKind] = &[$( ApiErrorKind::$variant, )+];

            /// The kind's stable snake_case name: the pipeline kind's
            /// [`as_str`](ErrorKind::as_str), or the server kind's (`"invalid_api_key"`,
            /// `"model_not_found"`, …).
            pub const fn as_str(self) -> &'static str {
                match self {
                    ApiErrorKind::Pipeline(kind) => kind.as_str(),
                    $( ApiErrorKind::$variant => $name, )+
                }
            }
        }
    };
}

api_error_kinds! {
    /// The `Authorization: Bearer` key is missing or wrong.
    InvalidApiKey => "invalid_api_key",
    /// The request names a model the server does not serve.
    ModelNotFound => "model_not_found",
    /// The body is not JSON.
    InvalidJson => "invalid_json",
    /// The body is JSON but not a chat-completion request (a wrong type, a missing field).
    InvalidBody => "invalid_request",
    /// The body is larger than the configured limit.
    PayloadTooLarge => "payload_too_large",
    /// The body is not sent as `Content-Type: application/json`.
    UnsupportedMediaType => "unsupported_media_type",
    /// The path exists, the method does not.
    MethodNotAllowed => "method_not_allowed",
    /// No such path.
    NotFound => "not_found",
}

impl ApiErrorKind {
    /// Every kind: each pipeline kind ([`ErrorKind::ALL`]), then the server's own
    /// ([`ApiErrorKind::SERVER`]).
    pub fn all() -> impl Iterator<Item = ApiErrorKind> {
        ErrorKind::ALL
            .iter()
            .map(|&kind| ApiErrorKind::Pipeline(kind))
            .chain(ApiErrorKind::SERVER.iter().copied())
    }
}

impl From<ErrorKind> for ApiErrorKind {
    fn from(kind: ErrorKind) -> Self {
        ApiErrorKind::Pipeline(kind)
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one error kind is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// The HTTP status.
    pub status: StatusCode,
    /// The envelope's `type` (`invalid_request_error`, `authentication_error`, …).
    pub error_type: &'static str,
    /// The envelope's `code`: OpenAI's code where there is one
    /// (`context_length_exceeded`, `invalid_api_key`, `model_not_found`), else the kind's
    /// name.
    pub code: &'static str,
}

/// Maps an error kind to its status, `type` and `code`: the one table of the server.
/// The `match` has no catch-all: every kind is mapped here on purpose.
pub fn classify(kind: ApiErrorKind) -> Classification {
    let name = kind.as_str();
    let (status, error_type, code) = match kind {
        ApiErrorKind::Pipeline(pipeline) => match pipeline {
            ErrorKind::InvalidRequest
            | ErrorKind::PromptFormattingError
            | ErrorKind::InvalidWrapperDefinition
            | ErrorKind::GrammarError => (StatusCode::BAD_REQUEST, "invalid_request_error", name),
            ErrorKind::ContextWindowExceeded => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "context_length_exceeded",
            ),
            ErrorKind::ConnectionError
            | ErrorKind::HttpError
            | ErrorKind::BackendErrorReply
            | ErrorKind::InvalidResponse
            | ErrorKind::EmptyResponse
            | ErrorKind::TransportError
            | ErrorKind::OutputParsingError
            | ErrorKind::InvalidToolCall
            | ErrorKind::InvalidStructuredOutput => {
                (StatusCode::BAD_GATEWAY, "backend_error", name)
            }
            ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout_error", name),
            // The backend's own status, so clients back off and retry as they would
            // with OpenAI (OpenAI's 429 envelope: type `requests`, code
            // `rate_limit_exceeded`).
            ErrorKind::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "requests",
                "rate_limit_exceeded",
            ),
            ErrorKind::BackendUnavailable | ErrorKind::Overloaded => {
                (StatusCode::SERVICE_UNAVAILABLE, "server_error", name)
            }
            // The server's configuration (its backend endpoint, auth or HTTP client).
            ErrorKind::InvalidEndpoint | ErrorKind::InvalidAuth | ErrorKind::HttpClientError => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error", name)
            }
        },
        ApiErrorKind::InvalidJson | ApiErrorKind::InvalidBody => {
            (StatusCode::BAD_REQUEST, "invalid_request_error", name)
        }
        ApiErrorKind::InvalidApiKey => (StatusCode::UNAUTHORIZED, "authentication_error", name),
        ApiErrorKind::ModelNotFound | ApiErrorKind::NotFound => {
            (StatusCode::NOT_FOUND, "invalid_request_error", name)
        }
        ApiErrorKind::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            name,
        ),
        ApiErrorKind::PayloadTooLarge => {
            (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", name)
        }
        ApiErrorKind::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            name,
        ),
    };
    Classification {
        status,
        error_type,
        code,
    }
}

/// The client's message for a pipeline error: its own words for the request's
/// faults, OpenAI's sentence for a context overflow, and a backend failure in words
/// ([`BackendError::client_message`]: no URI, port or reply body). The full error
/// is logged by [`ApiError::from_proxy`].
///
/// [`BackendError::client_message`]: proxy_core::backend::BackendError::client_message
pub fn client_message(error: &ProxyError) -> String {
    match error {
        ProxyError::Backend(backend) => backend.client_message(),
        ProxyError::ChatTemplate(TemplateSourceError::Backend(backend)) => backend.client_message(),
        ProxyError::ChatTemplate(TemplateSourceError::BackendHasNoTemplate { server, .. }) => format!(
            "The model's {server} serves no chat template, which this model is configured to use; the server's log has the details."
        ),
        ProxyError::HttpClient(_) => {
            "The server could not set up its HTTP client for this model; the server's log has the reason.".to_owned()
        }
        // Written for the client: the request's fault, the overflow sentence, the
        // wrapper's refusal or the model's own output.
        other => other.to_string(),
    }
}

/// An error answer: the kind it came from, a message a user can act on, and the
/// request field at fault where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error kind (see [`classify`]).
    pub kind: ApiErrorKind,
    /// What went wrong and what to do; never holds an API key or backend credential,
    /// a backend URL or body, or a Rust type name. The request id is appended when the
    /// envelope is written.
    pub message: String,
    /// The request field at fault (`model`, `messages[0].role`, …).
    pub param: Option<String>,
    /// The backend's `Retry-After`, sent on as this answer's `Retry-After` header.
    pub retry_after: Option<String>,
    /// The full error, for the log only (a backend error's URI, status and body).
    pub detail: Option<String>,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: impl Into<ApiErrorKind>, message: impl Into<String>) -> Self {
        ApiError {
            kind: kind.into(),
            message: message.into(),
            param: None,
            retry_after: None,
            detail: None,
        }
    }

    /// Adds what only the log gets (never sent to the client).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Names the request field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The pipeline's error: its kind, the [`client_message`] and the backend's
    /// `Retry-After`. The full error (a backend's URI, status and body) is logged
    /// here, once, in the current span (the request's), whether the error then goes
    /// out as a response or as a stream's error event.
    pub fn from_proxy(error: &ProxyError) -> Self {
        let kind = error.kind();
        let mut api = ApiError::new(kind, client_message(error));
        let full = error.to_string();
        if full != api.message {
            if classify(kind.into()).status.is_server_error() {
                tracing::warn!(kind = kind.as_str(), "{full}");
            } else {
                tracing::info!(kind = kind.as_str(), "{full}");
            }
        }
        api.retry_after = error.retry_after().map(str::to_owned);
        api
    }

    /// A 404 for a model the server does not serve, listing the ones it does.
    pub fn unknown_model(requested: &str, available: &[&str]) -> Self {
        ApiError::new(
            ApiErrorKind::ModelNotFound,
            format!(
                "The model `{requested}` does not exist on this server; available models: {}",
                available.join(", ")
            ),
        )
        .with_param("model")
    }

    /// The status, `type` and `code` of this error.
    pub fn classification(&self) -> Classification {
        classify(self.kind)
    }

    /// The message as sent: [`message`](ApiError::message), then the request id when
    /// there is one (inside a request: `… (request id req_…)`).
    pub fn client_text(&self) -> String {
        match current_request_id() {
            Some(id) => format!("{} (request id {id})", self.message),
            None => self.message.clone(),
        }
    }

    /// The OpenAI envelope (the message with the request id, see
    /// [`client_text`](ApiError::client_text)).
    pub fn envelope(&self) -> serde_json::Value {
        let class = self.classification();
        json!({
            "error": {
                "message": self.client_text(),
                "type": class.error_type,
                "param": self.param,
                "code": class.code,
            }
        })
    }
}

impl From<ProxyError> for ApiError {
    fn from(error: ProxyError) -> Self {
        ApiError::from_proxy(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.classification().status;
        let detail = self.detail.as_deref().unwrap_or("");
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            tracing::warn!(
                status = status.as_u16(),
                kind = self.kind.as_str(),
                detail,
                "{}",
                self.message
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                kind = self.kind.as_str(),
                detail,
                "{}",
                self.message
            );
        }
        let mut response = (status, Json(self.envelope())).into_response();
        // For the metrics layer: the `kind` label of this answer.
        response.extensions_mut().insert(self.kind);
        if let Some(value) = self
            .retry_after
            .as_deref()
            .and_then(|value| HeaderValue::from_str(value).ok())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_core::backend::BackendError;

    #[test]
    fn every_pipeline_kind_has_its_status() {
        let cases: [(ErrorKind, u16, &str); 21] = [
            (ErrorKind::InvalidRequest, 400, "invalid_request"),
            (
                ErrorKind::PromptFormattingError,
                400,
                "prompt_formatting_error",
            ),
            (
                ErrorKind::InvalidWrapperDefinition,
                400,
                "invalid_wrapper_definition",
            ),
            (ErrorKind::GrammarError, 400, "grammar_error"),
            (
                ErrorKind::ContextWindowExceeded,
                400,
                "context_length_exceeded",
            ),
            (ErrorKind::ConnectionError, 502, "connection_error"),
            (ErrorKind::HttpError, 502, "http_error"),
            (ErrorKind::BackendErrorReply, 502, "backend_error_reply"),
            (ErrorKind::InvalidResponse, 502, "invalid_response"),
            (ErrorKind::EmptyResponse, 502, "empty_response"),
            (ErrorKind::TransportError, 502, "transport_error"),
            (ErrorKind::OutputParsingError, 502, "output_parsing_error"),
            (ErrorKind::InvalidToolCall, 502, "invalid_tool_call"),
            (
                ErrorKind::InvalidStructuredOutput,
                502,
                "invalid_structured_output",
            ),
            (ErrorKind::Timeout, 504, "timeout"),
            (ErrorKind::InvalidEndpoint, 500, "invalid_endpoint"),
            (ErrorKind::InvalidAuth, 500, "invalid_auth"),
            (ErrorKind::HttpClientError, 500, "http_client_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_exceeded"),
            (ErrorKind::BackendUnavailable, 503, "backend_unavailable"),
            (ErrorKind::Overloaded, 503, "overloaded"),
        ];
        for (kind, status, code) in cases {
            let class = classify(kind.into());
            assert_eq!(class.status.as_u16(), status, "{kind}");
            assert_eq!(class.code, code, "{kind}");
        }
        assert_eq!(
            classify(ErrorKind::ContextWindowExceeded.into()).error_type,
            "invalid_request_error"
        );
    }

    #[test]
    fn server_kinds_have_their_status_and_type() {
        let cases = [
            (ApiErrorKind::InvalidApiKey, 401, "authentication_error"),
            (ApiErrorKind::ModelNotFound, 404, "invalid_request_error"),
            (ApiErrorKind::NotFound, 404, "invalid_request_error"),
            (ApiErrorKind::MethodNotAllowed, 405, "invalid_request_error"),
            (ApiErrorKind::PayloadTooLarge, 413, "invalid_request_error"),
            (ApiErrorKind::InvalidJson, 400, "invalid_request_error"),
            (ApiErrorKind::InvalidBody, 400, "invalid_request_error"),
            (
                ApiErrorKind::UnsupportedMediaType,
                415,
                "invalid_request_error",
            ),
        ];
        for (kind, status, error_type) in cases {
            let class = classify(kind);
            assert_eq!(class.status.as_u16(), status, "{kind}");
            assert_eq!(class.error_type, error_type, "{kind}");
        }
    }

    #[test]
    fn envelope_has_the_four_fields() {
        let error = ApiError::unknown_model("gpt-9", &["local", "big"]);
        let envelope = error.envelope();
        assert_eq!(envelope["error"]["code"], "model_not_found");
        assert_eq!(envelope["error"]["param"], "model");
        assert_eq!(envelope["error"]["type"], "invalid_request_error");
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(message.contains("gpt-9") && message.contains("local, big"));
        let bare = ApiError::new(ApiErrorKind::NotFound, "no").envelope();
        assert!(bare["error"]["param"].is_null());
    }

    #[test]
    fn proxy_errors_keep_the_kind_without_sending_the_uri() {
        let error = ProxyError::from(BackendError::Timeout {
            uri: "http://127.0.0.1:1/completion".into(),
            server: "llama.cpp server",
        });
        let api = ApiError::from(error);
        assert_eq!(api.kind, ApiErrorKind::Pipeline(ErrorKind::Timeout));
        assert_eq!(api.kind.as_str(), "timeout");
        assert_eq!(api.classification().status, StatusCode::GATEWAY_TIMEOUT);
        assert!(
            api.message.contains("did not answer in time"),
            "{}",
            api.message
        );
        assert!(!api.message.contains("127.0.0.1"), "{}", api.message);
    }

    #[test]
    fn a_busy_backend_keeps_its_status_and_retry_after() {
        let error = ProxyError::from(BackendError::Unavailable {
            status: 429,
            retry_after: Some("30".into()),
            body: "too many".into(),
            uri: "http://127.0.0.1:1/completion".into(),
            server: "llama.cpp server",
        });
        let response = ApiError::from(error).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers()
                .get(RETRY_AFTER)
                .map(HeaderValue::as_bytes),
            Some(&b"30"[..])
        );
    }

    #[test]
    fn every_kind_is_classified_as_an_error() {
        let mut count = 0;
        for kind in ApiErrorKind::all() {
            count += 1;
            let class = classify(kind);
            assert!(
                class.status.is_client_error() || class.status.is_server_error(),
                "{kind}: {}",
                class.status
            );
            assert!(!class.error_type.is_empty(), "{kind}");
            assert!(!class.code.is_empty(), "{kind}");
            assert!(!kind.as_str().is_empty(), "{kind}");
        }
        assert_eq!(count, ErrorKind::ALL.len() + ApiErrorKind::SERVER.len());
        // The server's own names never shadow a pipeline name, except `invalid_request`
        // (a body that is not a chat-completion request), which answers the same way.
        for server in ApiErrorKind::SERVER {
            if let Some(&pipeline) = ErrorKind::ALL
                .iter()
                .find(|pipeline| pipeline.as_str() == server.as_str())
            {
                assert_eq!(pipeline, ErrorKind::InvalidRequest, "{server}");
                assert_eq!(classify(*server), classify(pipeline.into()), "{server}");
            }
        }
    }

    #[test]
    fn the_important_kinds_are_pinned() {
        let context = classify(ErrorKind::ContextWindowExceeded.into());
        assert_eq!(context.status, StatusCode::BAD_REQUEST);
        assert_eq!(context.code, "context_length_exceeded");
        assert_eq!(
            classify(ErrorKind::Timeout.into()).status,
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            classify(ErrorKind::ConnectionError.into()).status,
            StatusCode::BAD_GATEWAY
        );
        let key = classify(ApiErrorKind::InvalidApiKey);
        assert_eq!(key.status, StatusCode::UNAUTHORIZED);
        assert_eq!(key.code, "invalid_api_key");
        let model = classify(ApiErrorKind::ModelNotFound);
        assert_eq!(model.status, StatusCode::NOT_FOUND);
        assert_eq!(model.code, "model_not_found");
    }
}
