//! The ChatML inner-monologue prompt wrappers (`chatml`, `chatml-noforce`, … — the
//! reference's `ChatMLInnerMonologueWrapper` and `ChatMLOuterInnerMonologueWrapper`),
//! for models trained on `<|im_start|>role … <|im_end|>` turns such as Dolphin 2.5
//! Mixtral.
//!
//! All the logic lives in [`prompt_kit::inner_monologue`]; this crate supplies the
//! ChatML turn tokens ([`chatml_template`]) and registers the ten names:
//!
//! | name | answer shape | extras |
//! |---|---|---|
//! | `chatml` | call forced, inner thoughts in `params` | `first_message` pre-seeds `send_message` |
//! | `chatml-noforce` | inner thoughts on top, call optional | |
//! | `chatml-noforce-roles` | as `noforce` | system events as `system` turns, function results as `function`/`tool` turns |
//! | `chatml-hints`, `chatml-noforce-hints` | as above | a reminder after the assistant cue |
//!
//! Each has a `-grammar` twin: no assistant-prefix extras, and a grammar of the same
//! shape is built.
//!
//! Stop sequences: none of its own, because the completion settings' `simple` stop
//! list already holds `<|im_start|>` and `<|im_end|>` (the reference added nothing
//! either, so request bodies stay as the reference sent them).

use prompt_kit::inner_monologue::{InnerMonologueFormat, InnerMonologueOptions, TurnTemplate};
use prompt_kit::PromptWrapper;

/// A ChatML wrapper: the shared inner-monologue format with [`chatml_template`].
pub type ChatMlWrapper = InnerMonologueFormat;

/// ChatML's turns: `<|im_start|>role\n…<|im_end|>`, one per line, ending with the
/// cue `\n<|im_start|>assistant`.
pub fn chatml_template() -> TurnTemplate {
    TurnTemplate {
        prompt_start: String::new(),
        role_start: "<|im_start|>".to_owned(),
        role_end: "\n".to_owned(),
        function_reply_role_end: "\n".to_owned(),
        turn_end: "<|im_end|>".to_owned(),
        turn_separator: "\n".to_owned(),
        assistant_cue_end: String::new(),
        reply_end_token: String::new(),
    }
}

/// A ChatML wrapper with these options.
pub fn chatml_wrapper(options: InnerMonologueOptions) -> ChatMlWrapper {
    InnerMonologueFormat::new(chatml_template(), options)
}

fn build(options: InnerMonologueOptions) -> Box<dyn PromptWrapper> {
    Box::new(chatml_wrapper(options))
}

prompt_kit::register_wrapper! {
    name: "chatml",
    description: "ChatML (<|im_start|>) inner-monologue JSON, a call forced (Dolphin 2.5 Mixtral and other ChatML models)",
    build: || build(InnerMonologueOptions::forced());
    name: "chatml-grammar",
    description: "chatml with a grammar (call forced, inner thoughts in params)",
    build: || build(InnerMonologueOptions::forced().for_grammar());
    name: "chatml-noforce",
    description: "ChatML inner-monologue JSON with inner thoughts on top, the call optional",
    build: || build(InnerMonologueOptions::noforce());
    name: "chatml-noforce-grammar",
    description: "chatml-noforce with a grammar (inner thoughts on top)",
    build: || build(InnerMonologueOptions::noforce().for_grammar());
    name: "chatml-noforce-roles",
    description: "chatml-noforce with system events as system turns and function results as function turns",
    build: || build(InnerMonologueOptions::noforce().with_roles());
    name: "chatml-noforce-roles-grammar",
    description: "chatml-noforce-roles with a grammar",
    build: || build(InnerMonologueOptions::noforce().with_roles().for_grammar());
    name: "chatml-hints",
    description: "chatml with memory reminders after the assistant cue",
    build: || build(InnerMonologueOptions::forced().with_hints());
    name: "chatml-hints-grammar",
    description: "chatml-hints with a grammar",
    build: || build(InnerMonologueOptions::forced().with_hints().for_grammar());
    name: "chatml-noforce-hints",
    description: "chatml-noforce with memory reminders after the assistant cue",
    build: || build(InnerMonologueOptions::noforce().with_hints());
    name: "chatml-noforce-hints-grammar",
    description: "chatml-noforce-hints with a grammar",
    build: || build(InnerMonologueOptions::noforce().with_hints().for_grammar());
}

#[cfg(test)]
mod tests;
