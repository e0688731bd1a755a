//! The chat-template wrapper plugin: renders a model's own Jinja chat template (the
//! one in its GGUF metadata, its `tokenizer_config.json`, a file, or served by the
//! backend) and reads replies in the model's native tool-call format.
//!
//! * [`render`]: the Jinja engine set up as Hugging Face `transformers` renders chat
//!   templates (minijinja with Python-compatible methods, `raise_exception`,
//!   `strftime_now`, `tojson` as Python writes it).
//! * [`messages`]: a conversation in the shapes templates expect.
//! * [`tool_format`]: the native tool-call formats (Hermes/Qwen `<tool_call>`, Llama 3
//!   JSON, Mistral `[TOOL_CALLS]`, plain JSON): detection from a template, and
//!   parsing of replies.
//! * [`generic_tools`]: how tools are offered to a template that has no tool support.
//! * [`TemplateWrapper`]: all of it as a [`PromptWrapper`],
//!   registered as the build's chat-template plugin
//!   ([`prompt_kit::register_chat_template_wrapper!`]).

pub mod generic_tools;
pub mod messages;
pub mod render;
pub mod tool_format;
mod wrapper;

pub use wrapper::TemplateWrapper;

use prompt_kit::chat_template_plugin::ChatTemplateSpec;
use prompt_kit::{PromptWrapper, WrapperError};

fn build(spec: &ChatTemplateSpec) -> Result<Box<dyn PromptWrapper>, WrapperError> {
    Ok(Box::new(TemplateWrapper::from_spec(spec)?))
}

prompt_kit::register_chat_template_wrapper!(build: build);
