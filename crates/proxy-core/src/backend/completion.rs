//! [`BackendCompletion`]: what a backend hands back.

use crate::completion::FinishReason;

/// Why the server stopped generating, as far as its reply tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendFinishReason {
    /// End of sequence or a stop string.
    Stop,
    /// The token limit (or the context) was reached.
    Length,
    /// The reply does not say, or says something ambiguous (koboldcpp reports both a
    /// stop-string hit and the token limit as `"length"`).
    Unknown,
}

impl BackendFinishReason {
    /// The OpenAI finish reason; `Unknown` is reported as `stop`, as the reference does.
    pub fn to_openai(self) -> FinishReason {
        match self {
            BackendFinishReason::Length => FinishReason::Length,
            BackendFinishReason::Stop | BackendFinishReason::Unknown => FinishReason::Stop,
        }
    }

    /// Reads an OpenAI-style `finish_reason` string (`"stop"`, `"length"`, …).
    pub fn from_openai(reason: Option<&str>) -> Self {
        match reason {
            Some("stop") | Some("eos") => BackendFinishReason::Stop,
            Some("length") => BackendFinishReason::Length,
            _ => BackendFinishReason::Unknown,
        }
    }
}

/// A completion as the server returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendCompletion {
    /// The generated text; never empty (an empty one is
    /// [`BackendError::EmptyResponse`](super::BackendError::EmptyResponse)).
    pub text: String,
    /// Generated tokens, when the server reports them.
    pub completion_tokens: Option<u64>,
    /// Prompt tokens, when the server reports a non-zero count. The reference ignores
    /// these (servers often report 0 or only the uncached part) and counts the prompt
    /// with cl100k_base; the orchestrator decides which to use.
    pub prompt_tokens: Option<u64>,
    /// Why generation stopped.
    pub finish_reason: BackendFinishReason,
}

/// A reported prompt-token count, with 0 meaning "not reported".
pub fn nonzero(count: Option<u64>) -> Option<u64> {
    count.filter(|count| *count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_reasons_map_both_ways() {
        assert_eq!(
            BackendFinishReason::from_openai(Some("stop")),
            BackendFinishReason::Stop
        );
        assert_eq!(
            BackendFinishReason::from_openai(Some("length")),
            BackendFinishReason::Length
        );
        assert_eq!(
            BackendFinishReason::from_openai(None),
            BackendFinishReason::Unknown
        );
        assert_eq!(BackendFinishReason::Unknown.to_openai(), FinishReason::Stop);
        assert_eq!(
            BackendFinishReason::Length.to_openai(),
            FinishReason::Length
        );
    }
}
