//! [`ErrorKind`]: the one list of the pipeline's error kinds.
//!
//! Every error type on the request path (proxy-core's `ProxyError` and `BackendError`,
//! and [`WrapperError`](crate::WrapperError) here) names its kind with this enum, and the
//! server maps each kind to an HTTP status with an exhaustive `match`: a new kind
//! without a mapping does not compile. Each kind's [`name`](ErrorKind::as_str) is
//! stable — logs, tests and clients depend on it.

use std::fmt;

/// Declares [`ErrorKind`], its stable names and [`ErrorKind::ALL`] from one list, so
/// the names have a single source and `ALL` cannot miss a variant.
macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )+) => {
        /// A stable, machine-readable kind of pipeline error (see the
        /// [module documentation](self)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorKind {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$( ErrorKind::$variant, )+];

            /// The kind's stable snake_case name (`"timeout"`,
            /// `"context_window_exceeded"`, …).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ErrorKind::$variant => $name, )+
                }
            }
        }
    };
}

error_kinds! {
    /// The request or the target is incomplete or asks for something unsupported
    /// (including an unknown wrapper or endpoint type).
    InvalidRequest => "invalid_request",
    /// The prompt does not fit the model's context window (found before sending, or
    /// reported by the server).
    ContextWindowExceeded => "context_window_exceeded",
    /// The wrapper cannot render the conversation as a prompt.
    PromptFormattingError => "prompt_formatting_error",
    /// The model's output holds no usable answer in the wrapper's shape.
    OutputParsingError => "output_parsing_error",
    /// The model's call is not one the request allows: a function not offered,
    /// arguments that do not validate against its schema, no call where one is
    /// required (after the configured retries).
    InvalidToolCall => "invalid_tool_call",
    /// The model's content does not keep to the request's `response_format`: not
    /// JSON, not an object in JSON mode, or not valid against the schema (after the
    /// configured retries).
    InvalidStructuredOutput => "invalid_structured_output",
    /// A user-defined wrapper definition is invalid.
    InvalidWrapperDefinition => "invalid_wrapper_definition",
    /// The grammar generator refused the function schemas.
    GrammarError => "grammar_error",
    /// The HTTP client could not be built.
    HttpClientError => "http_client_error",
    /// The endpoint is not a usable `http://` or `https://` URL.
    InvalidEndpoint => "invalid_endpoint",
    /// The backend authentication settings are incomplete or unknown.
    InvalidAuth => "invalid_auth",
    /// Nothing answered at the endpoint.
    ConnectionError => "connection_error",
    /// The server did not answer within the HTTP client's timeout.
    Timeout => "timeout",
    /// The connection broke in some other way.
    TransportError => "transport_error",
    /// The server answered with a non-success HTTP status.
    HttpError => "http_error",
    /// The server answered 200 with an error object.
    BackendErrorReply => "backend_error_reply",
    /// The server answered with a body this client cannot read.
    InvalidResponse => "invalid_response",
    /// The server answered with no completion text.
    EmptyResponse => "empty_response",
    /// The server answered 429 Too Many Requests (its `Retry-After` is kept).
    RateLimited => "rate_limited",
    /// The server answered 503 Service Unavailable (loading a model, overloaded; its
    /// `Retry-After` is kept).
    BackendUnavailable => "backend_unavailable",
    /// Every replica of the model is busy (each at its `max_in_flight`) and the
    /// model's wait queue is full (`max_queue`); nothing was sent. Retry later.
    Overloaded => "overloaded",
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for kind in ErrorKind::ALL {
            let name = kind.as_str();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(
                !name.is_empty()
                    && !name.starts_with('_')
                    && !name.ends_with('_')
                    && !name.contains("__")
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name} is not snake_case"
            );
        }
        assert_eq!(seen.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn names_are_the_stable_ones() {
        let expected = [
            "invalid_request",
            "context_window_exceeded",
            "prompt_formatting_error",
            "output_parsing_error",
            "invalid_tool_call",
            "invalid_structured_output",
            "invalid_wrapper_definition",
            "grammar_error",
            "http_client_error",
            "invalid_endpoint",
            "invalid_auth",
            "connection_error",
            "timeout",
            "transport_error",
            "http_error",
            "backend_error_reply",
            "invalid_response",
            "empty_response",
            "rate_limited",
            "backend_unavailable",
            "overloaded",
        ];
        let names: Vec<_> = ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn display_and_serialize_give_the_name() {
        assert_eq!(ErrorKind::Timeout.to_string(), "timeout");
        assert_eq!(
            serde_json::to_value(ErrorKind::ContextWindowExceeded).ok(),
            Some(serde_json::json!("context_window_exceeded"))
        );
    }
}
