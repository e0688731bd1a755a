//! The prompt kit of chat-completion-proxy: everything a wrapper plugin needs, and
//! nothing that does I/O.
//!
//! - The OpenAI wire types: the conversation ([`chat`]: [`ChatMessage`],
//!   [`FunctionSchema`], [`ToolCall`], the parsed [`AssistantMessage`]) and the
//!   chat-completion request and response ([`completion`]).
//! - The [`PromptWrapper`] extension point ([`wrapper`]: [`RenderRequest`],
//!   [`GrammarStyle`], [`WrapperError`]) and its registry ([`registry`]): wrappers
//!   register with [`register_wrapper!`] and are found with [`find_wrapper`];
//!   wrapper-file loaders register with [`register_wrapper_file_loader!`] and are used
//!   through [`load_wrapper_file`]. The generic [`Registry`] is the one every plugin
//!   kind is gathered into.
//! - The MemGPT answer formats the wrapper crates share: [`inner_monologue`] (ChatML,
//!   Llama 3, configurable) and [`legacy_format`] with [`legacy_wrapper`] (airoboros,
//!   dolphin, zephyr); [`summarizer`] recognises MemGPT's summarizer requests and
//!   names the default and summary wrappers.
//! - Wrappers built from a model's own Jinja chat template: the
//!   [`chat_template_plugin`] extension point ([`ChatTemplateSpec`],
//!   [`register_chat_template_wrapper!`], [`build_chat_template_wrapper`]).
//! - Replies holding several answers (parallel tool calls): [`parallel_calls`].
//! - JSON text exactly as Python writes and reads it ([`python_json`]) and the
//!   recovery of JSON from damaged model output ([`repair`]).
//! - [`ErrorKind`], the one list of stable error kinds ([`error_kind`]).
//! - Images in content parts: [`ImageUrl`] and its checks ([`image`]).
//!
//! Architecture invariant: wrappers do no I/O. This crate depends on no HTTP stack and
//! no tokenizer, and the wrapper crates build on it rather than on proxy-core (the
//! workspace's tidy test checks both in the resolved dependency graph). proxy-core builds the pipeline on it
//! and re-exports every module here under the same path.

pub mod answer;
pub mod chat;
pub mod chat_template_plugin;
pub mod completion;
pub mod error_kind;
pub mod image;
pub mod inner_monologue;
mod json_strings;
pub mod legacy_format;
pub mod legacy_wrapper;
pub mod objects_only;
pub mod parallel_calls;
pub mod python_json;
pub mod registry;
pub mod repair;
pub mod summarizer;
pub mod wrapper;

pub use chat::{
    AssistantMessage, ChatMessage, ContentPart, FunctionCall, FunctionSchema, MessageContent,
    ParsedFunctionCall, ResponseMessage, Role, ToolCall, ToolSchema,
};
pub use chat_template_plugin::{
    build_chat_template_wrapper, chat_template_plugins, ChatTemplateSpec,
    ChatTemplateWrapperRegistration,
};
pub use completion::{
    ChatCompletionRequest, ChatCompletionResponse, Choice, FinishReason, StopSequences, Usage,
};
pub use error_kind::ErrorKind;
pub use image::{ImageDetail, ImageFormat, ImageUrl, ImageUrlError, InlineImage};
pub use registry::{
    available_wrappers, find_wrapper, load_wrapper_file, wrapper_registry, Registry, RegistryError,
    WrapperFileLoaderRegistration, WrapperRegistration,
};
pub use repair::{count_repairs, repair_json, RepairError};
pub use summarizer::{is_summarizer_request, DEFAULT_WRAPPER, SUMMARY_WRAPPER};
pub use wrapper::{
    text_answer, with_system_first, AnswerMode, GrammarStyle, NativeCallSyntax, PromptWrapper,
    RenderRequest, WrapperError,
};

/// Re-exports for the registration macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
