//! The `dolphin` prompt wrapper family, for Dolphin 2.1 Mistral 7B
//! (<https://huggingface.co/ehartford/dolphin-2.1-mistral-7b>): ChatML turns around an
//! airoboros-style function listing, answers without inner thoughts.
//!
//! Registered names:
//! - `dolphin-2.1-mistral-7b`: the prompt ends with an opening `{` for the answer,
//!   which is put back in front of the model's text before parsing;
//! - `dolphin-2.1-mistral-7b-grammar`: the same without the `{`, for use with a grammar.
//!
//! The format (a port of MemGPT's `Dolphin21MistralWrapper`): a `<|im_start|>system`
//! turn holding the system prompt and the function listing (see
//! [`prompt_kit::legacy_format`]); user turns with their text as is; assistant turns
//! with their text, then each call as `{"function": …, "params": {…}}`; function
//! results as an *unclosed* `<|im_start|>assistant` turn with a `FUNCTION RETURN: …`
//! line; then `<|im_start|>assistant` for the answer.
//!
//! Kept from the reference, pinned by its fixtures: user messages are not reduced to
//! their `message` (the reference meant to, but a stray tuple made it always fall back
//! to the raw text), and the parsed answer has no content: an `inner_thoughts`
//! parameter stays among the call's arguments.
//!
//! Grammar: the `-grammar` variant asks for
//! [`GrammarStyle::InnerThoughtsInParams`](prompt_kit::GrammarStyle::InnerThoughtsInParams),
//! the grammar the reference generated for every grammar wrapper without `noforce`
//! (there is no grammar shape without inner thoughts); the answers it allows parse with
//! `inner_thoughts` among the arguments, exactly as the reference's parse fixtures for
//! this name show. `first_message` is ignored, and the wrapper adds no stop sequences:
//! the completion settings' stop list already holds `<|im_start|>`, `<|im_end|>`,
//! `\nFUNCTION RETURN:` and the end of an answer object (`  }\n}\n`).

use prompt_kit::legacy_format::{
    function_return_line, push_calls, start_prompt, AnswerFormat, Turn,
};
use prompt_kit::legacy_wrapper::LegacyFormat;
use prompt_kit::{RenderRequest, WrapperError};

/// Opens a ChatML turn.
const IM_START: &str = "<|im_start|>";
/// Closes a ChatML turn.
const IM_END: &str = "<|im_end|>";

/// The Dolphin 2.1 Mistral prompt format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DolphinWrapper {
    /// Without a grammar, the prompt ends with `\n{` and the `{` is re-attached when
    /// parsing.
    answer: AnswerFormat,
}

impl DolphinWrapper {
    /// `dolphin-2.1-mistral-7b`: the answer is pre-seeded with `{`.
    pub fn new() -> Self {
        DolphinWrapper {
            answer: AnswerFormat::prefixed("{", false),
        }
    }

    /// `dolphin-2.1-mistral-7b-grammar`: no pre-seeded brace; a grammar shapes the answer.
    pub fn with_grammar() -> Self {
        DolphinWrapper {
            answer: AnswerFormat::grammar_constrained(false),
        }
    }
}

impl Default for DolphinWrapper {
    fn default() -> Self {
        DolphinWrapper::new()
    }
}

impl LegacyFormat for DolphinWrapper {
    fn render_legacy(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let (mut prompt, turns) = start_prompt(request, &format!("{IM_START}system\n"), false)?;
        prompt.push_str(IM_END);
        for (index, turn) in &turns {
            match turn {
                Turn::User(message) => {
                    let text = message.text_or_empty();
                    prompt.push_str(&format!("\n{IM_START}user\n{text}{IM_END}"));
                }
                Turn::Assistant(message) => {
                    prompt.push_str(&format!("\n{IM_START}assistant"));
                    if let Some(text) = message.text() {
                        prompt.push('\n');
                        prompt.push_str(&text);
                    }
                    push_calls(&mut prompt, message, *index, false)?;
                    prompt.push_str(IM_END);
                }
                Turn::FunctionReturn(message) => {
                    let line = function_return_line(message);
                    prompt.push_str(&format!("\n{IM_START}assistant\n{line}"));
                }
            }
        }
        let assistant_tag = format!("\n{IM_START}assistant");
        if request.wants_text() {
            prompt.push_str(&assistant_tag);
            prompt.push('\n');
        } else {
            self.answer
                .end_prompt_on_new_line(&mut prompt, &assistant_tag);
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
    name: "dolphin-2.1-mistral-7b",
    description: "Dolphin 2.1 Mistral 7B (legacy): ChatML turns, calls without inner thoughts",
    build: || Box::new(DolphinWrapper::new());
    name: "dolphin-2.1-mistral-7b-grammar",
    description: "Dolphin 2.1 Mistral 7B (legacy), for grammar-constrained answers",
    build: || Box::new(DolphinWrapper::with_grammar());
}

#[cfg(test)]
mod tests;
