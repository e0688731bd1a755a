//! [`ProxyError`]: every way a chat completion can fail, with a stable
//! [`kind`](ProxyError::kind) for logs and HTTP status mapping.

use crate::backend::BackendError;
use crate::chat_template_source::TemplateSourceError;
use crate::error_kind::ErrorKind;
use crate::grammar::GrammarError;
use crate::registry::RegistryError;
use crate::wrapper::WrapperError;

/// Why [`get_chat_completion`](super::get_chat_completion) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The request or the target is incomplete or asks for something unsupported.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong, and what to send instead.
        reason: String,
    },
    /// An unknown wrapper or endpoint type (the message lists the available ones).
    #[error("invalid request: {0}")]
    UnknownPlugin(#[from] RegistryError),
    /// The prompt does not fit the model's context window; nothing was sent.
    #[error("This model's maximum context length is {context_window} tokens. However, your messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages.")]
    ContextWindowExceeded {
        /// Tokens in the rendered prompt.
        prompt_tokens: u64,
        /// The model's context window.
        context_window: u64,
    },
    /// The wrapper could not render the prompt or parse the model's output.
    #[error(transparent)]
    Wrapper(#[from] WrapperError),
    /// The model's answer is not a call the request allows (see
    /// [`ErrorKind::InvalidToolCall`]); the raw text is kept for the caller.
    #[error("the model's answer is not a valid tool call: {reason}; raw output: {raw_output:?}")]
    InvalidToolCall {
        /// What is wrong with the answer.
        reason: String,
        /// The model's text.
        raw_output: String,
    },
    /// The model's content does not keep to the request's `response_format` (see
    /// [`ErrorKind::InvalidStructuredOutput`]); the raw text is kept for the caller.
    #[error("the model's answer does not match the response_format: {reason}; raw output: {raw_output:?}")]
    InvalidStructuredOutput {
        /// What is wrong with the answer.
        reason: String,
        /// The model's text.
        raw_output: String,
    },
    /// The grammar generator refused the function schemas.
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    /// The backend call failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The model's chat template could not be had (from its file, or from the
    /// backend on the first request).
    #[error(transparent)]
    ChatTemplate(#[from] TemplateSourceError),
    /// Every replica of the model is at its concurrency limit and `waiting` requests
    /// already wait for a slot, the most the model queues; nothing was sent.
    #[error("every replica of model `{model}` is busy and {waiting} requests already wait for one (the model's `max_queue`); retry in a moment, or raise `max_in_flight`/`max_queue` if the servers have room")]
    Overloaded {
        /// The model (its name in logs and metrics).
        model: String,
        /// The requests waiting when this one was refused.
        waiting: usize,
    },
    /// The HTTP client could not be built (e.g. no TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

impl ProxyError {
    /// The stable kind of error, for logs and HTTP status mapping: its own
    /// ([`ErrorKind::InvalidRequest`], [`ErrorKind::ContextWindowExceeded`],
    /// [`ErrorKind::GrammarError`], [`ErrorKind::HttpClientError`]) or that of the
    /// [`WrapperError`] or [`BackendError`] it carries.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProxyError::InvalidRequest { .. } | ProxyError::UnknownPlugin(_) => {
                ErrorKind::InvalidRequest
            }
            ProxyError::ContextWindowExceeded { .. } => ErrorKind::ContextWindowExceeded,
            ProxyError::Wrapper(error) => error.kind(),
            ProxyError::Grammar(_) => ErrorKind::GrammarError,
            ProxyError::InvalidToolCall { .. } => ErrorKind::InvalidToolCall,
            ProxyError::InvalidStructuredOutput { .. } => ErrorKind::InvalidStructuredOutput,
            ProxyError::Backend(error) => error.kind(),
            ProxyError::ChatTemplate(error) => error.kind(),
            ProxyError::HttpClient(_) => ErrorKind::HttpClientError,
            ProxyError::Overloaded { .. } => ErrorKind::Overloaded,
        }
    }

    /// Whether the error says the model's servers failed rather than the request:
    /// every replica tried was unreachable, timed out or answered 5xx, or all were
    /// busy ([`ProxyError::Overloaded`]). A server tries the model's `fallbacks` on
    /// these.
    pub fn is_replica_failure(&self) -> bool {
        match self {
            ProxyError::Backend(error) => super::replicas::is_fault(error),
            ProxyError::Overloaded { .. } => true,
            _ => false,
        }
    }

    /// The `Retry-After` (delta-seconds or an HTTP date) a client should wait: the
    /// backend's, or one second when every replica was busy.
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            ProxyError::Backend(error) => error.retry_after(),
            ProxyError::Overloaded { .. } => Some("1"),
            _ => None,
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        ProxyError::InvalidRequest {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_window_message_is_openais_sentence() {
        let error = ProxyError::ContextWindowExceeded {
            prompt_tokens: 5000,
            context_window: 4096,
        };
        // OpenAI's wording, which LiteLLM maps to ContextWindowExceededError and
        // MemGPT recognises by "maximum context length".
        assert_eq!(
            error.to_string(),
            "This model's maximum context length is 4096 tokens. However, your messages resulted in 5000 tokens. Please reduce the length of the messages."
        );
        assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
    }

    #[test]
    fn kinds_pass_through_from_the_parts() {
        let backend = ProxyError::from(BackendError::InvalidAuth { reason: "x".into() });
        assert_eq!(backend.kind(), ErrorKind::InvalidAuth);
        assert_eq!(ProxyError::invalid("no").kind(), ErrorKind::InvalidRequest);
    }
}
