//! [`BackendError`]: everything that can go wrong between sending a prompt and
//! holding its completion text.
//!
//! Its `Display` is for the operator (logs, the CLI): it carries the URI, the status
//! and the backend's reply body. [`BackendError::client_message`] is what a client of
//! the HTTP server may be told: the failure in words, without any of those.

use crate::error_kind::ErrorKind;

use super::reply::overflow_counts;

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
    /// The server is busy: it answered 429 Too Many Requests or 503 Service
    /// Unavailable (llama.cpp answers 503 while it loads the model). A client may retry,
    /// after `retry_after` if the server said.
    #[error("the {server} at {uri} answered {status} ({}); Retry-After: {}; reply body: {body}", busy_reason(*.status), .retry_after.as_deref().unwrap_or("not given"))]
    Unavailable {
        /// The HTTP status code: 429 or 503.
        status: u16,
        /// The server's `Retry-After` header (delta-seconds or an HTTP date), when it
        /// sent a well-formed one.
        retry_after: Option<String>,
        /// The reply body, as text.
        body: String,
        /// The full URI that was called.
        uri: String,
        /// Which server should be running there.
        server: &'static str,
    },
}

/// What 429 and 503 mean, in words.
fn busy_reason(status: u16) -> &'static str {
    if status == 429 {
        "rate limited"
    } else {
        "not ready or overloaded"
    }
}

/// OpenAI's context-overflow sentence (LiteLLM and other clients recognise a context
/// overflow by it), with the counts.
pub(crate) fn openai_overflow_message(context_window: u64, prompt_tokens: u64) -> String {
    format!(
        "This model's maximum context length is {context_window} tokens. However, your messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
    )
}

/// OpenAI's context-overflow sentence for when the backend did not say the counts.
pub(crate) const OPENAI_OVERFLOW_MESSAGE_WITHOUT_COUNTS: &str = "This model's maximum context length is smaller than your messages (the model's server refused the prompt as too long). Please reduce the length of the messages.";

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
            BackendError::Unavailable { status: 429, .. } => ErrorKind::RateLimited,
            BackendError::Unavailable { .. } => ErrorKind::BackendUnavailable,
        }
    }

    /// The server's `Retry-After`, for a busy server ([`BackendError::Unavailable`]).
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            BackendError::Unavailable { retry_after, .. } => retry_after.as_deref(),
            _ => None,
        }
    }

    /// What a client of the proxy may be told: the failure in words, naming the kind
    /// of server but never its endpoint, URI, port or reply body (the `Display` text,
    /// which has them, is for the log). A context overflow is OpenAI's sentence, with
    /// the counts where the backend's reply gives them.
    pub fn client_message(&self) -> String {
        match self {
            BackendError::InvalidEndpoint { .. } => {
                "The backend endpoint configured for this model is not usable; the server's operator must fix the model's `endpoint`.".to_owned()
            }
            BackendError::InvalidAuth { .. } => {
                "The backend authentication configured for this model is not usable; the server's operator must fix the model's auth settings.".to_owned()
            }
            BackendError::InvalidRequest { .. } => self.to_string(),
            BackendError::Connection { server, .. } => format!(
                "Unable to connect to the model's backend ({server}); it may not be running."
            ),
            BackendError::Timeout { server, .. } => format!(
                "The model's backend ({server}) did not answer in time; the model may still be loading, or the generation takes longer than the server's timeout."
            ),
            BackendError::Transport { server, .. } => format!(
                "The connection to the model's backend ({server}) failed while talking to it."
            ),
            BackendError::Http { status, server, .. } => format!(
                "The model's backend ({server}) answered with HTTP status {status}."
            ),
            BackendError::ErrorReply { server, .. } => {
                format!("The model's backend ({server}) answered with an error.")
            }
            BackendError::InvalidResponse { server, .. } => format!(
                "The model's backend ({server}) sent a reply the proxy cannot read; the model's endpoint type may be wrong."
            ),
            BackendError::ContextWindowExceeded { body, .. } => match overflow_counts(body) {
                Some((context_window, prompt_tokens)) => {
                    openai_overflow_message(context_window, prompt_tokens)
                }
                None => OPENAI_OVERFLOW_MESSAGE_WITHOUT_COUNTS.to_owned(),
            },
            BackendError::EmptyResponse { server, .. } => {
                format!("The model's backend ({server}) returned an empty completion.")
            }
            BackendError::Unavailable { status, server, .. } => {
                if *status == 429 {
                    format!("The model's backend ({server}) is rate limiting requests (HTTP 429); retry later.")
                } else {
                    format!("The model's backend ({server}) is not ready or overloaded (HTTP {status}); retry later.")
                }
            }
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
    fn client_messages_hold_no_uri_port_or_body() {
        let uri = "http://127.0.0.1:18080/completion".to_owned();
        let body = "secret backend body".to_owned();
        let server = "llama.cpp server";
        let errors = [
            BackendError::InvalidEndpoint {
                endpoint: uri.clone(),
                reason: body.clone(),
            },
            BackendError::InvalidAuth {
                reason: body.clone(),
            },
            BackendError::Connection {
                endpoint: "http://127.0.0.1:18080".into(),
                uri: uri.clone(),
                server,
                detail: body.clone(),
            },
            BackendError::Timeout {
                uri: uri.clone(),
                server,
            },
            BackendError::Transport {
                uri: uri.clone(),
                server,
                detail: body.clone(),
            },
            BackendError::Http {
                status: 500,
                body: body.clone(),
                uri: uri.clone(),
                server,
            },
            BackendError::ErrorReply {
                message: body.clone(),
                body: body.clone(),
                uri: uri.clone(),
                server,
            },
            BackendError::InvalidResponse {
                detail: body.clone(),
                body: body.clone(),
                uri: uri.clone(),
                server,
            },
            BackendError::ContextWindowExceeded {
                status: 400,
                body: body.clone(),
                uri: uri.clone(),
            },
            BackendError::EmptyResponse {
                body: body.clone(),
                uri: uri.clone(),
                server,
            },
            BackendError::Unavailable {
                status: 429,
                retry_after: Some("7".into()),
                body: body.clone(),
                uri: uri.clone(),
                server,
            },
        ];
        for error in errors {
            let message = error.client_message();
            for secret in ["127.0.0.1", "18080", "/completion", "secret backend body"] {
                assert!(!message.contains(secret), "{}: {message}", error.kind());
            }
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn overflow_messages_are_openai_sentences() {
        let llamacpp = BackendError::ContextWindowExceeded {
            status: 400,
            body: r#"{"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}}"#.into(),
            uri: "http://localhost:8080/completion".into(),
        };
        assert_eq!(
            llamacpp.client_message(),
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages."
        );
        let ollama = BackendError::ContextWindowExceeded {
            status: 400,
            body: r#"{"error":"the prompt is longer than the context length"}"#.into(),
            uri: "http://localhost:11434/api/generate".into(),
        };
        let message = ollama.client_message();
        assert!(
            message.starts_with("This model's maximum context length is ")
                && message.ends_with("Please reduce the length of the messages."),
            "{message}"
        );
    }

    #[test]
    fn busy_servers_keep_status_and_retry_after() {
        let busy = |status| BackendError::Unavailable {
            status,
            retry_after: Some("12".into()),
            body: "slow down".into(),
            uri: "http://localhost:8080/completion".into(),
            server: "llama.cpp server",
        };
        assert_eq!(busy(429).kind(), ErrorKind::RateLimited);
        assert_eq!(busy(503).kind(), ErrorKind::BackendUnavailable);
        assert_eq!(busy(503).retry_after(), Some("12"));
        let logged = busy(429).to_string();
        assert!(
            logged.contains("429") && logged.contains("12") && logged.contains("slow down"),
            "{logged}"
        );
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
