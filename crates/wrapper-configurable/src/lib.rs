//! The configurable prompt wrapper: a model format described by data instead of code
//! (MemGPT's `ConfigurableJSONWrapper`).
//!
//! A [`WrapperDefinition`] says what text goes around each role's messages; the
//! conversation is rendered with the inner-monologue pieces of
//! [`prompt_kit::inner_monologue`] (the function listing in the first system message,
//! past calls as `{"function": …, "params": {"inner_thoughts": …, …}}`, user events and
//! function results as indented JSON), and the model's reply is parsed as
//! `{"function": …, "params": {…}}` with its inner thoughts at the top level or inside
//! `params`.
//!
//! # Built-in format
//!
//! `experimental-wrapper-neural-chat-grammar-noforce` (Intel's neural-chat), with the
//! reference's constructor arguments and, being a `-grammar` name, no assistant prefix
//! extras. Its grammar puts `inner_thoughts` at the top level with the call optional
//! ([`GrammarStyle::InnerThoughtsTopLevel`](prompt_kit::GrammarStyle)), as the
//! reference built it for every `noforce` name: the parser reads top-level thoughts
//! first (it also accepts them inside `params`) and, unlike the reference, accepts an
//! answer of inner thoughts alone, so that every answer the grammar allows parses.
//!
//! # User-defined formats (TOML)
//!
//! [`load_wrapper_file`] reads a TOML file whose keys are the fields of
//! [`WrapperDefinition`]; every key is optional, unknown keys are errors.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `pre_prompt`, `post_prompt` | `""` | text at the start / after the last message |
//! | `sys_prompt_start`, `sys_prompt_end` | `""` | around a system message |
//! | `user_prompt_start`, `user_prompt_end` | `""` | around a user message |
//! | `assistant_prompt_start`, `assistant_prompt_end` | `""` | around an assistant message |
//! | `tool_prompt_start`, `tool_prompt_end` | `""` | around a tool (function result) message |
//! | `assistant_prefix_extra` | `""` | pre-seeds the JSON answer, e.g. `"\n{\n  \"function\":"` |
//! | `assistant_prefix_extra_first_message` | `""` | the same for the agent's first reply |
//! | `allow_custom_roles` | `false` | show named assistant messages under their name |
//! | `custom_roles_prompt_start`, `custom_post_role`, `custom_roles_prompt_end` | `""` | around a custom role: start, name, post-role, message, end |
//! | `include_sys_prompt_in_first_user_message` | `false` | system prompt inside the first user turn (Llama 2) |
//! | `default_stop_sequences` | `[]` | stop sequences the format needs |
//! | `simplify_json_content` | `false` | show a user event by its `"message"` text only |
//! | `strip_prompt` | `false` | trim whitespace around the prompt |
//! | `json_indent` | `2` | indent of JSON in the prompt |
//! | `clean_function_args` | `false` | drop `request_heartbeat` from `send_message`, move `inner_thoughts` out of the arguments |
//! | `function_messages_as_tool` | `false` | render legacy `function` messages like `tool` ones (the reference drops them) |
//! | `grammar` | none | `"inner-thoughts-in-params"` or `"inner-thoughts-top-level"`: build a grammar (the prefix extras must then be empty) |
//!
//! `examples/neural-chat.toml` reproduces the built-in format byte for byte.
//!
//! # Deviations from the reference
//!
//! Each is pinned by a unit test: a second system message does not repeat the function
//! listing; with grammar documentation, a line feed separates `Available functions:`
//! from it (the reference glued them); `content: null` renders as empty text (the
//! reference crashed); top-level inner thoughts survive `clean_function_args`.

mod definition;
mod parse;
mod render;
mod wrapper;

pub use definition::{GrammarShape, LoadError, WrapperDefinition};
pub use wrapper::{load_wrapper_file, ConfigurableWrapper};

/// The registered name of the neural-chat format.
pub const NEURAL_CHAT: &str = "experimental-wrapper-neural-chat-grammar-noforce";

/// The neural-chat format's settings: the reference's constructor arguments in
/// `get_available_wrappers`, with a top-level grammar and no prefix extras.
fn neural_chat_definition() -> WrapperDefinition {
    WrapperDefinition {
        post_prompt: "### Assistant:".to_owned(),
        sys_prompt_start: "### System:\n".to_owned(),
        sys_prompt_end: "\n".to_owned(),
        user_prompt_start: "### User:\n".to_owned(),
        user_prompt_end: "\n".to_owned(),
        assistant_prompt_start: "### Assistant:\n".to_owned(),
        assistant_prompt_end: "\n".to_owned(),
        tool_prompt_start: "### User:\n".to_owned(),
        tool_prompt_end: "\n".to_owned(),
        strip_prompt: true,
        grammar: Some(GrammarShape::InnerThoughtsTopLevel),
        ..WrapperDefinition::default()
    }
}

prompt_kit::register_wrapper_file_loader! {
    load: |path| {
        load_wrapper_file(path)
            .map(|wrapper| Box::new(wrapper) as Box<dyn prompt_kit::PromptWrapper>)
            .map_err(|error| prompt_kit::WrapperError::InvalidDefinition(error.to_string()))
    },
}

prompt_kit::register_wrapper! {
    name: NEURAL_CHAT,
    description: "Intel neural-chat (### System/User/Assistant sections), inner thoughts at the top level, with a grammar",
    build: || Box::new(ConfigurableWrapper::neural_chat()),
}

#[cfg(test)]
mod tests;
