//! The `zephyr` prompt wrapper family, for Zephyr 7B alpha and beta (Mistral 7B,
//! <https://huggingface.co/HuggingFaceH4/zephyr-7b-beta>), with inner monologue.
//!
//! Registered names:
//! - `zephyr-7B`: the prompt ends with an opening `{` for the answer, which is put
//!   back in front of the model's text before parsing;
//! - `zephyr-7B-grammar`: the same without the `{`, for use with a grammar that puts
//!   `inner_thoughts` first in `params`.
//!
//! The format (a port of MemGPT's `ZephyrMistralInnerMonologueWrapper`): the system
//! prompt and the airoboros-style function listing (see
//! [`prompt_kit::legacy_format`]) with no turn marker of their own, a lone `<|user|>`
//! separator, then `<|user|>` turns (MemGPT user events reduced to their `message`)
//! closed by `</s>`, `<|assistant|>` turns holding each call as `{"function": …,
//! "params": {"inner_thoughts": …, …}}` (not closed), `FUNCTION RETURN: …` lines, and
//! finally `<|assistant|>` for the answer.
//!
//! As in the reference (and pinned by its fixtures), an assistant message without a
//! call shows as a bare `<|assistant|>`: its text is not in the prompt. `first_message`
//! is ignored, and the wrapper adds no stop sequences: the completion settings' stop
//! list holds `\nFUNCTION RETURN:` and the end of an answer object (`  }\n}\n`), and
//! `</s>` is the model's end-of-sequence token, on which servers stop by themselves.

use prompt_kit::inner_monologue::user_body;
use prompt_kit::legacy_format::{
    function_return_line, push_assistant_turn, start_prompt, AnswerFormat, Turn,
};
use prompt_kit::legacy_wrapper::LegacyFormat;
use prompt_kit::{RenderRequest, WrapperError};

/// Zephyr's end-of-turn token.
const END_OF_TURN: &str = "</s>";

/// The Zephyr inner-monologue prompt format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZephyrWrapper {
    /// Without a grammar, the prompt ends with `\n{` and the `{` is re-attached when
    /// parsing.
    answer: AnswerFormat,
}

impl ZephyrWrapper {
    /// `zephyr-7B`: the answer is pre-seeded with `{`.
    pub fn new() -> Self {
        ZephyrWrapper {
            answer: AnswerFormat::prefixed("{", true),
        }
    }

    /// `zephyr-7B-grammar`: no pre-seeded brace; a grammar shapes the answer.
    pub fn with_grammar() -> Self {
        ZephyrWrapper {
            answer: AnswerFormat::grammar_constrained(true),
        }
    }
}

impl Default for ZephyrWrapper {
    fn default() -> Self {
        ZephyrWrapper::new()
    }
}

impl LegacyFormat for ZephyrWrapper {
    fn render_legacy(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let (mut prompt, turns) = start_prompt(request, "", true)?;
        prompt.push_str("\n<|user|>");
        for (index, turn) in &turns {
            match turn {
                Turn::User(message) => {
                    let text = user_body(message, true, None);
                    prompt.push_str(&format!("\n<|user|>\n{text}{END_OF_TURN}"));
                }
                Turn::Assistant(message) => {
                    prompt.push_str("\n<|assistant|>");
                    push_assistant_turn(&mut prompt, message, *index, true, request.wants_text())?;
                }
                Turn::FunctionReturn(message) => {
                    prompt.push('\n');
                    prompt.push_str(&function_return_line(message));
                }
            }
        }
        if request.wants_text() {
            prompt.push_str("\n<|assistant|>\n");
        } else {
            self.answer
                .end_prompt_on_new_line(&mut prompt, "\n<|assistant|>");
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
    name: "zephyr-7B",
    description: "Zephyr 7B (legacy): inner thoughts inside the call's params",
    build: || Box::new(ZephyrWrapper::new());
    name: "zephyr-7B-grammar",
    description: "Zephyr 7B (legacy), for grammar-constrained answers",
    build: || Box::new(ZephyrWrapper::with_grammar());
}

#[cfg(test)]
mod tests;
