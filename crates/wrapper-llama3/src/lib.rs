//! The Llama 3 inner-monologue prompt wrappers (`llama3`, `llama3-grammar`,
//! `llama3-hints-grammar` — the reference's `LLaMA3InnerMonologueWrapper`), for
//! Meta-Llama-3-Instruct models.
//!
//! All the logic lives in [`prompt_kit::inner_monologue`]; this crate supplies the
//! Llama 3 turn tokens ([`llama3_template`]) and registers the names. The answer is
//! always a call with the inner thoughts in `params`; `first_message` pre-seeds
//! `send_message`.
//!
//! The reference's peculiarities are kept byte for byte, because the fixtures (and
//! the prompts MemGPT users tuned) have them: a function result shown as an assistant
//! turn opens with `<|start_header_id|>assistant\n` (no `<|end_header_id|>`), and the
//! final cue is `\n<|start_header_id|>assistant\n\n`, also without
//! `<|end_header_id|>`. A trailing `<|eot_id|>` in the reply is dropped before parsing.
//!
//! Stop sequences: `<|eot_id|>`, Llama 3's end of turn, which the completion settings'
//! stop list lacks.

use prompt_kit::inner_monologue::{InnerMonologueFormat, InnerMonologueOptions, TurnTemplate};
use prompt_kit::PromptWrapper;

/// Llama 3's end-of-turn token.
pub const END_OF_TURN: &str = "<|eot_id|>";

/// A Llama 3 wrapper: the shared inner-monologue format with [`llama3_template`].
pub type Llama3Wrapper = InnerMonologueFormat;

/// Llama 3's turns: `<|begin_of_text|>` once, then
/// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`, one per line.
pub fn llama3_template() -> TurnTemplate {
    TurnTemplate {
        prompt_start: "<|begin_of_text|>".to_owned(),
        role_start: "<|start_header_id|>".to_owned(),
        role_end: "<|end_header_id|>\n\n".to_owned(),
        function_reply_role_end: "\n".to_owned(),
        turn_end: END_OF_TURN.to_owned(),
        turn_separator: "\n".to_owned(),
        assistant_cue_end: "\n\n".to_owned(),
        reply_end_token: END_OF_TURN.to_owned(),
    }
}

/// A Llama 3 wrapper with these options (and `<|eot_id|>` as a stop sequence).
pub fn llama3_wrapper(options: InnerMonologueOptions) -> Llama3Wrapper {
    InnerMonologueFormat::new(llama3_template(), options).with_stop_sequences([END_OF_TURN])
}

fn build(options: InnerMonologueOptions) -> Box<dyn PromptWrapper> {
    Box::new(llama3_wrapper(options))
}

prompt_kit::register_wrapper! {
    name: "llama3",
    description: "Llama 3 Instruct inner-monologue JSON, a call forced",
    build: || build(InnerMonologueOptions::forced());
    name: "llama3-grammar",
    description: "llama3 with a grammar (call forced, inner thoughts in params)",
    build: || build(InnerMonologueOptions::forced().for_grammar());
    name: "llama3-hints-grammar",
    description: "llama3 with memory reminders after the assistant cue, and a grammar",
    build: || build(InnerMonologueOptions::forced().with_hints().for_grammar());
}

#[cfg(test)]
mod tests;
