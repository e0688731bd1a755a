//! [`ApiError`]: every error the server answers, in OpenAI's envelope
//! `{"error": {"message", "type", "param", "code"}}`.
//!
//! [`classify`] is the one place where an error kind — the pipeline's
//! ([`ProxyError::kind`], [`BackendError::kind`](proxy_core::backend::BackendError::kind),
//! [`WrapperError::kind`](proxy_core::WrapperError::kind)) or the server's own
//! (`invalid_api_key`, `model_not_found`, …) — becomes an HTTP status, an error `type`
//! and a `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use proxy_core::ProxyError;
use serde_json::json;

/// The server's own error kinds (the pipeline's come from [`ProxyError::kind`]).
pub mod kind {
    /// The `Authorization: Bearer` key is missing or wrong.
    pub const INVALID_API_KEY: &str = "invalid_api_key";
    /// The request names a model the server does not serve.
    pub const MODEL_NOT_FOUND: &str = "model_not_found";
    /// The body is not JSON.
    pub const INVALID_JSON: &str = "invalid_json";
    /// The body is JSON but not a chat-completion request (a wrong type, a missing field).
    pub const INVALID_BODY: &str = "invalid_request";
    /// The body is larger than the configured limit.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The path exists, the method does not.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// No such path.
    pub const NOT_FOUND: &str = "not_found";
}

/// How one error kind is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// The HTTP status.
    pub status: StatusCode,
    /// The envelope's `type` (`invalid_request_error`, `authentication_error`, …).
    pub error_type: &'static str,
    /// The envelope's `code`: OpenAI's code where there is one
    /// (`context_length_exceeded`, `invalid_api_key`, `model_not_found`), else the kind.
    pub code: &'static str,
}

/// Maps an error kind to its status, `type` and `code`: the one table of the server.
/// An unknown kind (a newer pipeline's) is a 500 `server_error`.
pub fn classify(kind: &'static str) -> Classification {
    let (status, error_type, code) = match kind {
        "invalid_request"
        | "prompt_formatting_error"
        | "invalid_wrapper_definition"
        | "grammar_error"
        | kind::INVALID_JSON => (StatusCode::BAD_REQUEST, "invalid_request_error", kind),
        "context_window_exceeded" => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "context_length_exceeded",
        ),
        kind::INVALID_API_KEY => (StatusCode::UNAUTHORIZED, "authentication_error", kind),
        kind::MODEL_NOT_FOUND | kind::NOT_FOUND => {
            (StatusCode::NOT_FOUND, "invalid_request_error", kind)
        }
        kind::METHOD_NOT_ALLOWED => (
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            kind,
        ),
        kind::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", kind),
        "connection_error"
        | "http_error"
        | "backend_error_reply"
        | "invalid_response"
        | "empty_response"
        | "transport_error"
        | "output_parsing_error" => (StatusCode::BAD_GATEWAY, "backend_error", kind),
        "timeout" => (StatusCode::GATEWAY_TIMEOUT, "timeout_error", kind),
        // invalid_endpoint, invalid_auth, http_client_error: the server's configuration.
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", kind),
    };
    Classification {
        status,
        error_type,
        code,
    }
}

/// An error answer: the kind it came from, a message a user can act on, and the
/// request field at fault where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error kind (see [`classify`]).
    pub kind: &'static str,
    /// What went wrong and what to do; never holds an API key or backend credential.
    pub message: String,
    /// The request field at fault (`model`, `messages[0].role`, …).
    pub param: Option<String>,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            param: None,
        }
    }

    /// Names the request field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The pipeline's error, with its kind and message.
    pub fn from_proxy(error: &ProxyError) -> Self {
        ApiError::new(error.kind(), error.to_string())
    }

    /// A 404 for a model the server does not serve, listing the ones it does.
    pub fn unknown_model(requested: &str, available: &[&str]) -> Self {
        ApiError::new(
            kind::MODEL_NOT_FOUND,
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

    /// The OpenAI envelope.
    pub fn envelope(&self) -> serde_json::Value {
        let class = self.classification();
        json!({
            "error": {
                "message": self.message,
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
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                kind = self.kind,
                "{}",
                self.message
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                kind = self.kind,
                "{}",
                self.message
            );
        }
        (status, Json(self.envelope())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_core::backend::BackendError;

    #[test]
    fn every_pipeline_kind_has_its_status() {
        let cases: [(&'static str, u16, &str); 17] = [
            ("invalid_request", 400, "invalid_request"),
            ("prompt_formatting_error", 400, "prompt_formatting_error"),
            (
                "invalid_wrapper_definition",
                400,
                "invalid_wrapper_definition",
            ),
            ("grammar_error", 400, "grammar_error"),
            ("context_window_exceeded", 400, "context_length_exceeded"),
            ("connection_error", 502, "connection_error"),
            ("http_error", 502, "http_error"),
            ("backend_error_reply", 502, "backend_error_reply"),
            ("invalid_response", 502, "invalid_response"),
            ("empty_response", 502, "empty_response"),
            ("transport_error", 502, "transport_error"),
            ("output_parsing_error", 502, "output_parsing_error"),
            ("timeout", 504, "timeout"),
            ("invalid_endpoint", 500, "invalid_endpoint"),
            ("invalid_auth", 500, "invalid_auth"),
            ("http_client_error", 500, "http_client_error"),
            ("something_new", 500, "something_new"),
        ];
        for (kind, status, code) in cases {
            let class = classify(kind);
            assert_eq!(class.status.as_u16(), status, "{kind}");
            assert_eq!(class.code, code, "{kind}");
        }
        assert_eq!(
            classify("context_window_exceeded").error_type,
            "invalid_request_error"
        );
    }

    #[test]
    fn server_kinds_have_their_status_and_type() {
        let cases = [
            (kind::INVALID_API_KEY, 401, "authentication_error"),
            (kind::MODEL_NOT_FOUND, 404, "invalid_request_error"),
            (kind::NOT_FOUND, 404, "invalid_request_error"),
            (kind::METHOD_NOT_ALLOWED, 405, "invalid_request_error"),
            (kind::PAYLOAD_TOO_LARGE, 413, "invalid_request_error"),
            (kind::INVALID_JSON, 400, "invalid_request_error"),
            (kind::INVALID_BODY, 400, "invalid_request_error"),
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
        let bare = ApiError::new(kind::NOT_FOUND, "no").envelope();
        assert!(bare["error"]["param"].is_null());
    }

    #[test]
    fn proxy_errors_keep_kind_and_message() {
        let error = ProxyError::from(BackendError::Timeout {
            uri: "http://127.0.0.1:1/completion".into(),
            server: "llama.cpp server",
        });
        let api = ApiError::from(error);
        assert_eq!(api.kind, "timeout");
        assert_eq!(api.classification().status, StatusCode::GATEWAY_TIMEOUT);
        assert!(api.message.contains("timed out"), "{}", api.message);
    }
}
