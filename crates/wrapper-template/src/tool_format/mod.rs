//! The native tool-call formats of chat templates: which one a template uses
//! ([`ToolCallFormat::detect`]), the syntax a grammar constrains one call to
//! ([`ToolCallFormat::call_syntax`]), and the reading of a reply
//! ([`ToolCallFormat::parse_reply`]: reasoning, text, and every call in order).
//!
//! The formats, as vLLM's tool parsers and llama.cpp's `common/chat.cpp` read them:
//! - Hermes 2 Pro / Qwen 2.5–3: `<tool_call>{"name": …, "arguments": …}</tool_call>`,
//!   the tags repeated for each call (a last tag left unclosed is read to the end).
//! - Llama 3.x JSON: `{"name": …, "parameters": …}`, optionally after
//!   `<|python_tag|>`, several objects separated by `;` or line feeds.
//! - Mistral: `[TOOL_CALLS]` then a JSON array of calls (tokenizers before v11), or
//!   `[TOOL_CALLS]name[ARGS]{…}` repeated (v11 and later).
//! - Plain JSON: a call object `{"name": …, "arguments": …}` (or an array of them)
//!   with nothing around it.
//!
//! Every format reads `arguments` or `parameters`, given as an object or as a JSON
//! string, slightly broken JSON repaired ([`prompt_kit::repair`]). A call that cannot
//! be read is an error carrying the raw reply, never silently text.

mod call;
mod detect;
mod hermes;
mod json_calls;
mod mistral;
mod reasoning;

use prompt_kit::{AssistantMessage, NativeCallSyntax, WrapperError};

pub use reasoning::split_reasoning;

/// A model's native tool-call format (the config names are [`ToolCallFormat::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolCallFormat {
    /// Hermes 2 Pro / Qwen: `<tool_call>{"name": …, "arguments": …}</tool_call>`.
    Hermes,
    /// Llama 3.x: `{"name": …, "parameters": …}`, maybe after `<|python_tag|>`.
    Llama3Json,
    /// Mistral: `[TOOL_CALLS][{"name": …, "arguments": …}, …]`.
    Mistral,
    /// A plain JSON call object, `{"name": …, "arguments": …}`.
    Json,
}

/// A tool-call format name that is none of [`ToolCallFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tool-call format `{name}`; available: {available}")]
pub struct UnknownToolCallFormat {
    /// The name given.
    pub name: String,
    /// The valid names, comma-separated.
    pub available: String,
}

impl ToolCallFormat {
    /// Every format, in the order detection and listings use.
    pub const ALL: [ToolCallFormat; 4] = [
        ToolCallFormat::Hermes,
        ToolCallFormat::Llama3Json,
        ToolCallFormat::Mistral,
        ToolCallFormat::Json,
    ];

    /// The format's name in the config (`tool_call_format`).
    pub fn name(self) -> &'static str {
        match self {
            ToolCallFormat::Hermes => "hermes",
            ToolCallFormat::Llama3Json => "llama3-json",
            ToolCallFormat::Mistral => "mistral",
            ToolCallFormat::Json => "json",
        }
    }

    /// The format with this config name (ASCII case and surrounding whitespace
    /// ignored); the error lists the valid names.
    pub fn from_name(name: &str) -> Result<Self, UnknownToolCallFormat> {
        let wanted = name.trim();
        Self::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownToolCallFormat {
                name: name.to_owned(),
                available: Self::ALL.map(Self::name).join(", "),
            })
    }

    /// The format a chat template's tool turns use, read off its text (e.g.
    /// `<tool_call>` → Hermes; `[TOOL_CALLS]` → Mistral; `"parameters"` with
    /// `<|python_tag|>`/ipython/`{"name"` → Llama3Json; tool calls written as JSON in
    /// no other syntax → Json); `None` when the template shows none.
    pub fn detect(template_source: &str) -> Option<ToolCallFormat> {
        detect::detect(template_source)
    }

    /// The syntax the grammar constrains one call to.
    pub fn call_syntax(self) -> NativeCallSyntax {
        match self {
            ToolCallFormat::Hermes => NativeCallSyntax::HERMES,
            ToolCallFormat::Llama3Json => NativeCallSyntax::LLAMA3_JSON,
            ToolCallFormat::Mistral => NativeCallSyntax::MISTRAL,
            ToolCallFormat::Json => NativeCallSyntax::JSON,
        }
    }

    /// The end-of-turn tokens a server may leave at the end of this family's text.
    fn end_tokens(self) -> &'static [&'static str] {
        match self {
            ToolCallFormat::Hermes => &["<|im_end|>", "<|endoftext|>"],
            ToolCallFormat::Llama3Json => &["<|eot_id|>", "<|eom_id|>"],
            ToolCallFormat::Mistral => &["</s>"],
            ToolCallFormat::Json => &[],
        }
    }

    /// Reads a reply: `<think>…</think>` split off as `reasoning`
    /// ([`split_reasoning`]); the text before the first call, trimmed, as `content`
    /// (`None` when empty); every call in order. A call that cannot be read (JSON
    /// that does not parse after its opening marker, no `name`, arguments that are no
    /// object) is [`WrapperError::UnparseableOutput`] or
    /// [`WrapperError::MissingField`], with the raw reply.
    pub fn parse_reply(self, raw: &str) -> Result<AssistantMessage, WrapperError> {
        let (reasoning, answer) = split_reasoning(raw);
        let found = match self {
            ToolCallFormat::Hermes => hermes::find_calls(answer, raw)?,
            ToolCallFormat::Llama3Json => json_calls::find_calls(answer, true, raw)?,
            ToolCallFormat::Mistral => mistral::find_calls(answer, raw)?,
            ToolCallFormat::Json => json_calls::find_calls(answer, false, raw)?,
        };
        let (text, function_calls) = match found {
            Some(found) => (found.text_before, found.calls),
            None => (answer, Vec::new()),
        };
        let mut message = prompt_kit::text_answer(text, self.end_tokens());
        message.reasoning = reasoning;
        message.function_calls = function_calls;
        Ok(message)
    }
}

#[cfg(test)]
mod tests;
