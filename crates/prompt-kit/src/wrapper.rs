//! The `PromptWrapper` extension point: one model family's prompt format.

use crate::chat::{AssistantMessage, ChatMessage, FunctionSchema};
use crate::error_kind::ErrorKind;
use crate::repair::RepairError;

/// Where the grammar generator puts `inner_thoughts` for a wrapper's answer shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrammarStyle {
    /// `{"function": …, "params": {"inner_thoughts": …, …}}`: every answer is a call.
    InnerThoughtsInParams,
    /// `{"inner_thoughts": …, "function": …, "params": {…}}` with the call optional
    /// (the `noforce` wrappers).
    InnerThoughtsTopLevel,
}

/// Everything a wrapper needs to render a prompt.
#[derive(Debug, Clone, Copy)]
pub struct RenderRequest<'a> {
    /// The conversation; MemGPT-style wrappers require a `system` message first.
    pub messages: &'a [ChatMessage],
    /// The functions offered to the model (from `functions`, or from `tools`).
    pub functions: &'a [FunctionSchema],
    /// Pre-seed the agent's first reply with `send_message` (wrappers that support it).
    pub first_message: bool,
    /// Function documentation produced by a grammar generator, used instead of the
    /// wrapper's own function listing when present.
    pub function_documentation: Option<&'a str>,
}

impl<'a> RenderRequest<'a> {
    /// A request for `messages` and `functions` with no hints.
    pub fn new(messages: &'a [ChatMessage], functions: &'a [FunctionSchema]) -> Self {
        RenderRequest {
            messages,
            functions,
            first_message: false,
            function_documentation: None,
        }
    }
}

/// A model family's prompt format: turns a conversation into one prompt string and the
/// model's raw text back into an assistant message.
///
/// Implementations are pure (no I/O), synchronous and shared between threads; they are
/// built once per process by the registry and used through `&dyn PromptWrapper`.
pub trait PromptWrapper: Send + Sync {
    /// Renders the conversation into the exact prompt text the model family expects.
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError>;

    /// Parses the model's raw completion text (which continues the prompt) into an
    /// assistant message. `first_message` must match the value used for rendering.
    fn parse_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError>;

    /// Whether `first_message` changes this wrapper's prompt.
    fn supports_first_message(&self) -> bool {
        false
    }

    /// The grammar the orchestrator should build for this wrapper, if any (the
    /// `-grammar` variants).
    fn grammar_style(&self) -> Option<GrammarStyle> {
        None
    }

    /// Stop sequences this format needs besides the completion settings' own.
    fn stop_sequences(&self) -> &[String] {
        &[]
    }
}

/// Why a wrapper could not render a prompt or parse a model's output.
#[derive(Debug, thiserror::Error)]
pub enum WrapperError {
    /// The conversation does not start with a system message.
    #[error("the first message must have role \"system\" (this wrapper puts the system prompt first); got {found}")]
    MissingSystemMessage {
        /// What was found instead (a role, or "no messages").
        found: String,
    },
    /// A message cannot be rendered by this wrapper.
    #[error("message {index} cannot be rendered: {reason}")]
    InvalidMessage {
        /// Position of the message in `messages`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The model's text holds no JSON that can be recovered.
    #[error(
        "could not find valid JSON in the model's output ({source}); raw output: {raw_output:?}"
    )]
    UnparseableOutput {
        /// Why repair failed.
        #[source]
        source: RepairError,
        /// The model's text, with the assistant prefix re-attached.
        raw_output: String,
    },
    /// The JSON was valid but lacks the fields this wrapper's answer shape requires.
    #[error("the model's JSON is missing or has a malformed field {field:?}; raw output: {raw_output:?}")]
    MissingField {
        /// The field that is absent or has the wrong type.
        field: String,
        /// The model's text, with the assistant prefix re-attached.
        raw_output: String,
    },
    /// A user-defined wrapper definition is invalid.
    #[error("invalid wrapper definition: {0}")]
    InvalidDefinition(String),
}

impl WrapperError {
    /// The stable kind of error: [`ErrorKind::PromptFormattingError`],
    /// [`ErrorKind::OutputParsingError`] or [`ErrorKind::InvalidWrapperDefinition`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            WrapperError::MissingSystemMessage { .. } | WrapperError::InvalidMessage { .. } => {
                ErrorKind::PromptFormattingError
            }
            WrapperError::UnparseableOutput { .. } | WrapperError::MissingField { .. } => {
                ErrorKind::OutputParsingError
            }
            WrapperError::InvalidDefinition(_) => ErrorKind::InvalidWrapperDefinition,
        }
    }
}

/// Checks that `messages` starts with a system message, as MemGPT-style wrappers need.
pub fn require_system_first(messages: &[ChatMessage]) -> Result<&ChatMessage, WrapperError> {
    match messages.first() {
        Some(first) if first.role == crate::chat::Role::System => Ok(first),
        Some(first) => Err(WrapperError::MissingSystemMessage {
            found: format!("role {:?}", first.role.as_str()),
        }),
        None => Err(WrapperError::MissingSystemMessage {
            found: "no messages".to_owned(),
        }),
    }
}
