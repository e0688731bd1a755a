//! [`BackendError`]: everything that can go wrong between sending a prompt and
//! holding its completion text.

use crate::error_kind::ErrorKind;

/// Why a backend call failed. Each variant keeps the evidence (URI, status, body) and
/// says what to do; [`BackendError::kind`] is a stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("endpoint `{endpoint}` is not usable: {reason}; give the server's base URL, e.g. `http://localhost:8080`")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The authentication settings are incomplete or unknown.
    #[error("invalid authentication settings: {reason}")]
    InvalidAuth {
        /// What is wrong, and what to set instead.
        reason: String,
    },
    /// The request lacks something this backend needs (e.g. a model name).
    #[error("{backend}: {reason}")]
    InvalidRequest {
        /// The endpoint type (`"ollama"`, …).
        backend: &'static str,
        /// What is missing, and how to give it.
        reason: String,
    },
    /// Nothing answered at the endpoint.
    #[error("Unable to connect to endpoint {endpoint} ({uri}): {detail}. Make sure that the {server} is running and reachable at {uri}.")]
    Connection {
        /// The endpoint as given.
        endpoint: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
        /// The transport's own message.
        detail: String,
    },
    /// The server did not answer within the HTTP client's timeout.
    #[error("timed out waiting for the {server} at {uri}; the model may still be loading or the generation is too long for the client's timeout")]
    Timeout {
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
    /// The connection broke in some other way (reset, unreadable body, …).
    #[error("HTTP transport error talking to the {server} at {uri}: {detail}")]
    Transport {
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
        /// The transport's own message.
        detail: String,
    },
    /// The server answered with a non-success HTTP status.
    #[error("API call got non-200 response code (code={status}, msg={body}) for address: {uri}. Make sure that the {server} is running and reachable at {uri}.")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The reply body, as text.
        body: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
    /// The server answered 200 but the body is an error object (LM Studio answers
    /// unknown paths this way; ollama reports some failures this way).
    #[error("the {server} at {uri} answered with an error: {message}. Check the endpoint type and that the model is loaded.")]
    ErrorReply {
        /// The error message from the body.
        message: String,
        /// The full reply body.
        body: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
    /// The server answered 200 with a body that is not the expected JSON.
    #[error("the {server} at {uri} sent a reply this client cannot read ({detail}); is the endpoint type right? Reply body: {body}")]
    InvalidResponse {
        /// What was wrong with it.
        detail: String,
        /// The reply body, as text.
        body: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
    /// The server refused the prompt because it does not fit the model's context.
    #[error("Request exceeds maximum context length (code={status}, msg={body}, URI={uri}); shorten the conversation or raise the context window")]
    ContextWindowExceeded {
        /// The HTTP status code (200 when the overflow came in a 200 error body).
        status: u16,
        /// The reply body, as text.
        body: String,
        /// The full URI that was called.
        uri: String,
    },
    /// The server answered, but with no completion text.
    #[error("the {server} at {uri} returned an empty completion; check the model, the stop strings and the context window. Reply body: {body}")]
    EmptyResponse {
        /// The reply body, as text.
        body: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
}

impl BackendError {
    /// The stable kind of error, for logs and for mapping to HTTP statuses.
    pub fn kind(&self) -> ErrorKind {
        match self {
            BackendError::InvalidEndpoint { .. } => ErrorKind::InvalidEndpoint,
            BackendError::InvalidAuth { .. } => ErrorKind::InvalidAuth,
            BackendError::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            BackendError::Connection { .. } => ErrorKind::ConnectionError,
            BackendError::Timeout { .. } => ErrorKind::Timeout,
            BackendError::Transport { .. } => ErrorKind::TransportError,
            BackendError::Http { .. } => ErrorKind::HttpError,
            BackendError::ErrorReply { .. } => ErrorKind::BackendErrorReply,
            BackendError::InvalidResponse { .. } => ErrorKind::InvalidResponse,
            BackendError::ContextWindowExceeded { .. } => ErrorKind::ContextWindowExceeded,
            BackendError::EmptyResponse { .. } => ErrorKind::EmptyResponse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_message_carries_status_body_uri_and_server() {
        let error = BackendError::Http {
            status: 500,
            body: "boom".into(),
            uri: "http://localhost:8080/completion".into(),
            server: "llama.cpp server",
        };
        let message = error.to_string();
        for needle in [
            "500",
            "boom",
            "http://localhost:8080/completion",
            "llama.cpp server",
        ] {
            assert!(message.contains(needle), "{message}");
        }
        assert_eq!(error.kind(), ErrorKind::HttpError);
    }

    #[test]
    fn connection_error_says_unable_to_connect() {
        let error = BackendError::Connection {
            endpoint: "http://localhost:1".into(),
            uri: "http://localhost:1/completion".into(),
            server: "llama.cpp server",
            detail: "refused".into(),
        };
        assert!(error
            .to_string()
            .starts_with("Unable to connect to endpoint http://localhost:1"));
        assert_eq!(error.kind(), ErrorKind::ConnectionError);
    }
}
