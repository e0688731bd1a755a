//! The `airoboros` prompt wrapper family, for Airoboros L2 70B 2.1
//! (<https://huggingface.co/jondurbin/airoboros-l2-70b-2.1>), with inner monologue.
//!
//! Registered names:
//! - `airoboros-l2-70b-2.1`: the prompt ends with `ASSISTANT:` and the start of the
//!   answer, `\n{\n  "function":`, which is put back in front of the model's text
//!   before parsing;
//! - `airoboros-l2-70b-2.1-grammar`: the same without that answer start, for use with
//!   a grammar that puts `inner_thoughts` first in `params`.
//!
//! The format (a port of MemGPT's `Airoboros21InnerMonologueWrapper`): the system
//! prompt, the airoboros-style function listing (see [`prompt_kit::legacy_format`]),
//! `### INPUT`, then `USER: …` (MemGPT user events reduced to their `message`),
//! `ASSISTANT:` followed by each call as `{"function": …, "params": {"inner_thoughts":
//! …, …}}`, `FUNCTION RETURN: …`, and finally `### RESPONSE` and `ASSISTANT:`. A `name`
//! on a user or assistant message (AutoGen) shows as `USER (name):`.
//!
//! As in the reference (and pinned by its fixtures), an assistant message without a
//! call shows as a bare `ASSISTANT:`: its text is not in the prompt. `first_message`
//! is ignored, and the wrapper adds no stop sequences: the completion settings' stop
//! list already holds `\nUSER:`, `\nASSISTANT:`, `\nFUNCTION RETURN:`, `\n### ` and
//! the end of an answer object (`  }\n}\n`).

use prompt_kit::inner_monologue::user_body;
use prompt_kit::legacy_format::{push_assistant_turn, start_prompt, AnswerFormat, Turn};
use prompt_kit::legacy_wrapper::LegacyFormat;
use prompt_kit::{ChatMessage, RenderRequest, WrapperError};

/// What the prompt ends with (after `ASSISTANT:`) in the non-grammar variant: the start
/// of the answer object, `\n{\n  "function":`, so the model continues with the
/// function's name (the same text as the ChatML formats').
pub const ASSISTANT_PREFIX_EXTRA: &str = prompt_kit::inner_monologue::FORCED_PREFIX_EXTRA;

/// The Airoboros 2.1 inner-monologue prompt format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiroborosWrapper {
    /// Its prefix is the text after the final `ASSISTANT:` that pre-seeds the answer.
    answer: AnswerFormat,
}

impl AiroborosWrapper {
    /// `airoboros-l2-70b-2.1`: the answer is pre-seeded with [`ASSISTANT_PREFIX_EXTRA`].
    pub fn new() -> Self {
        AiroborosWrapper {
            answer: AnswerFormat::prefixed(ASSISTANT_PREFIX_EXTRA, true),
        }
    }

    /// `airoboros-l2-70b-2.1-grammar`: no pre-seeded answer; a grammar shapes it.
    pub fn with_grammar() -> Self {
        AiroborosWrapper {
            answer: AnswerFormat::grammar_constrained(true),
        }
    }
}

impl Default for AiroborosWrapper {
    fn default() -> Self {
        AiroborosWrapper::new()
    }
}

/// Appends `USER`, or `USER (name)` for a message with an author name (AutoGen
/// agents).
fn push_speaker(prompt: &mut String, label: &str, message: &ChatMessage) {
    prompt.push_str(label);
    if let Some(name) = &message.name {
        prompt.push_str(" (");
        prompt.push_str(name.trim());
        prompt.push(')');
    }
}

impl LegacyFormat for AiroborosWrapper {
    fn render_legacy(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let (mut prompt, turns) = start_prompt(request, "", true)?;
        prompt.push_str("\n### INPUT");
        for (index, turn) in &turns {
            match turn {
                Turn::User(message) => {
                    prompt.push('\n');
                    push_speaker(&mut prompt, "USER", message);
                    prompt.push_str(": ");
                    prompt.push_str(&user_body(message, true, None));
                }
                Turn::Assistant(message) => {
                    prompt.push('\n');
                    push_speaker(&mut prompt, "ASSISTANT", message);
                    prompt.push(':');
                    push_assistant_turn(&mut prompt, message, *index, true, request.wants_text())?;
                }
                Turn::FunctionReturn(message) => {
                    // What `function_return_line` makes, without the copy.
                    prompt.push_str("\nFUNCTION RETURN: ");
                    prompt.push_str(&message.text_cow());
                }
            }
        }
        prompt.push_str("\n### RESPONSE\nASSISTANT:");
        if !request.wants_text() {
            prompt.push_str(self.answer.prefix);
        }
        Ok(prompt)
    }

    fn answer_format(&self) -> &AnswerFormat {
        &self.answer
    }

    fn supports_text_answers(&self) -> bool {
        true
    }
}

prompt_kit::register_wrapper! {
    name: "airoboros-l2-70b-2.1",
    description: "Airoboros L2 70B 2.1 (legacy): inner thoughts inside the call's params",
    build: || Box::new(AiroborosWrapper::new());
    name: "airoboros-l2-70b-2.1-grammar",
    description: "Airoboros L2 70B 2.1 (legacy), for grammar-constrained answers",
    build: || Box::new(AiroborosWrapper::with_grammar());
}

#[cfg(test)]
mod tests;
