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
    /// The `noforce` shape with the call required (`tool_choice: "required"` or a named
    /// function): `{"inner_thoughts": …, "function": <a call>, "params": {…}}`.
    InnerThoughtsTopLevelCallRequired,
    /// One call in the model's own tool-call syntax (a chat template's): no inner
    /// thoughts; constrained only when the request requires a call, as the model may
    /// otherwise answer in text.
    NativeCall(NativeCallSyntax),
}

/// A model's own syntax for one tool call, as a constraint writes it: `open`, then the
/// JSON object `{"name": <the function>, "<arguments_key>": <its arguments>}`, then
/// `close` — e.g. Hermes/Qwen `<tool_call>\n` … `\n</tool_call>`, Llama 3.x with
/// `parameters`, plain JSON with nothing around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NativeCallSyntax {
    /// The text before the call object (may be empty).
    pub open: &'static str,
    /// The text after the call object (may be empty).
    pub close: &'static str,
    /// The key of the arguments object (`arguments`, or `parameters` for Llama 3.x).
    pub arguments_key: &'static str,
}

impl NativeCallSyntax {
    /// Hermes 2 Pro / Qwen 2.5–3: `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`.
    pub const HERMES: NativeCallSyntax = NativeCallSyntax {
        open: "<tool_call>\n",
        close: "\n</tool_call>",
        arguments_key: "arguments",
    };

    /// Llama 3.x JSON tool calls: `{"name": …, "parameters": …}`.
    pub const LLAMA3_JSON: NativeCallSyntax = NativeCallSyntax {
        open: "",
        close: "",
        arguments_key: "parameters",
    };

    /// Mistral (tokenizers before v11, and the array form later ones still read):
    /// `[TOOL_CALLS][{"name": …, "arguments": …}]`, one call in the array.
    pub const MISTRAL: NativeCallSyntax = NativeCallSyntax {
        open: "[TOOL_CALLS][",
        close: "]",
        arguments_key: "arguments",
    };

    /// A plain JSON object, `{"name": …, "arguments": …}`, for templates that show
    /// tool calls in no syntax of their own.
    pub const JSON: NativeCallSyntax = NativeCallSyntax {
        open: "",
        close: "",
        arguments_key: "arguments",
    };

    /// Whether the call is a JSON object alone (so a JSON Schema can constrain it too).
    pub fn is_plain_json(&self) -> bool {
        self.open.is_empty() && self.close.is_empty()
    }
}

/// What the model is asked to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnswerMode {
    /// A function call in the wrapper's answer shape (MemGPT's JSON), the function list
    /// in the system turn and the answer pre-seeded where the format does that.
    #[default]
    FunctionCall,
    /// Plain text: an ordinary assistant turn in the wrapper's format — no function
    /// list, no JSON pre-seed; the model's text is the answer's `content`. For requests
    /// with no functions, or `tool_choice: "none"`.
    Text,
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
    /// What the model answers with (wrappers whose
    /// [`supports_text_answers`](PromptWrapper::supports_text_answers) is true honour
    /// [`AnswerMode::Text`]).
    pub answer: AnswerMode,
}

impl<'a> RenderRequest<'a> {
    /// A request for `messages` and `functions` with no hints.
    pub fn new(messages: &'a [ChatMessage], functions: &'a [FunctionSchema]) -> Self {
        RenderRequest {
            messages,
            functions,
            first_message: false,
            function_documentation: None,
            answer: AnswerMode::FunctionCall,
        }
    }

    /// Whether the model is asked for plain text.
    pub fn wants_text(&self) -> bool {
        self.answer == AnswerMode::Text
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

    /// Parses a reply that may hold several answers one after another (or a JSON array
    /// of them), for requests that allow parallel tool calls: every call, in order,
    /// the inner thoughts joined. The prompt is the same; a reply with one answer reads
    /// exactly as [`parse_output`](Self::parse_output) reads it. The default is
    /// `parse_output` (one call at most); the built-in formats read several with
    /// [`parallel_calls::parse_answers`](crate::parallel_calls::parse_answers).
    fn parse_parallel_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.parse_output(raw_output, first_message)
    }

    /// Whether `first_message` changes this wrapper's prompt.
    fn supports_first_message(&self) -> bool {
        false
    }

    /// Whether [`render_prompt`](Self::render_prompt) honours [`AnswerMode::Text`]
    /// (an ordinary turn with no function list). Where it does not, plain-chat
    /// requests are rendered in the function-call shape.
    fn supports_text_answers(&self) -> bool {
        false
    }

    /// Reads a plain-text answer (to a prompt rendered with [`AnswerMode::Text`]): the
    /// text with surrounding whitespace removed and no call; `content` is `None` when
    /// nothing is left. Formats with an end-of-turn token the server may leave in the
    /// text remove it too.
    fn parse_text_output(&self, raw_output: &str) -> AssistantMessage {
        text_answer(raw_output, &[])
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
    /// The model's chat template refused the conversation (its `raise_exception`) or
    /// failed while rendering it.
    #[error("the model's chat template cannot render this conversation: {0}")]
    TemplateRefused(String),
}

impl WrapperError {
    /// The stable kind of error: [`ErrorKind::PromptFormattingError`],
    /// [`ErrorKind::OutputParsingError`] or [`ErrorKind::InvalidWrapperDefinition`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            WrapperError::MissingSystemMessage { .. }
            | WrapperError::InvalidMessage { .. }
            | WrapperError::TemplateRefused(_) => ErrorKind::PromptFormattingError,
            WrapperError::UnparseableOutput { .. } | WrapperError::MissingField { .. } => {
                ErrorKind::OutputParsingError
            }
            WrapperError::InvalidDefinition(_) => ErrorKind::InvalidWrapperDefinition,
        }
    }
}

/// A plain-text answer: `raw_output` without surrounding whitespace and without any of
/// `end_tokens` at its end (then trimmed again); `content` is `None` when empty.
pub fn text_answer(raw_output: &str, end_tokens: &[&str]) -> AssistantMessage {
    let mut text = raw_output.trim();
    for token in end_tokens.iter().filter(|token| !token.is_empty()) {
        if let Some(stripped) = text.strip_suffix(token) {
            text = stripped.trim_end();
        }
    }
    AssistantMessage::text((!text.is_empty()).then(|| text.to_owned()))
}

/// The conversation with a system message first: `messages` itself when it starts with
/// one, else the same messages after an empty system message. The built-in formats,
/// which open with a system turn, render through this, so they serve a conversation
/// with no system message (the function block, if any, goes where the format puts its
/// system turn). Message numbers in their errors then count the added message.
pub fn with_system_first(messages: &[ChatMessage]) -> std::borrow::Cow<'_, [ChatMessage]> {
    match messages.first() {
        Some(first) if first.role == crate::chat::Role::System => {
            std::borrow::Cow::Borrowed(messages)
        }
        _ => {
            let mut all = Vec::with_capacity(messages.len() + 1);
            all.push(ChatMessage::new(crate::chat::Role::System, ""));
            all.extend_from_slice(messages);
            std::borrow::Cow::Owned(all)
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
