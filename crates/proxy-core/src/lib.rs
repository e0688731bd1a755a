//! The core of chat-completion-proxy: everything but the concrete plugins.
//!
//! - The OpenAI wire types ([`chat`], [`completion`]), Python-compatible JSON text
//!   ([`python_json`]) and JSON repair for malformed model output ([`repair`]).
//! - The extension points and their registries, filled at link time by plugin crates:
//!   [`PromptWrapper`] ([`registry`], [`register_wrapper!`]), wrapper-file loaders
//!   ([`load_wrapper_file`]), [`backend::CompletionBackend`]
//!   ([`register_backend!`]) and [`grammar::GrammarGenerator`]
//!   ([`register_grammar_generator!`]); [`linked_plugins`] lists the crates that
//!   registered something.
//! - The backends' shared HTTP, streaming and error handling ([`backend`]), the
//!   completion settings ([`settings`]) and token counting ([`tokens`]).
//! - The pipeline itself ([`ProxyClient::get_chat_completion`], [`orchestrator`]), its
//!   one error type [`ProxyError`] and the one list of error kinds [`ErrorKind`].
//!
//! It knows no concrete wrapper, backend or grammar generator.

pub mod backend;
pub mod chat;
pub mod completion;
pub mod error_kind;
pub mod function_correction;
pub mod grammar;
pub mod inner_monologue;
pub mod legacy_format;
pub mod legacy_wrapper;
pub mod orchestrator;
pub mod python_json;
pub mod registry;
pub mod repair;
pub mod settings;
pub mod tokens;
pub mod wrapper;
pub mod wrapper_choice;

pub use chat::{
    AssistantMessage, ChatMessage, ContentPart, FunctionCall, FunctionSchema, MessageContent,
    ParsedFunctionCall, ResponseMessage, Role, ToolCall, ToolSchema,
};
pub use completion::{
    ChatCompletionRequest, ChatCompletionResponse, Choice, FinishReason, StopSequences, Usage,
};
pub use error_kind::ErrorKind;
pub use orchestrator::{
    get_chat_completion, ChatCompletionEvent, ChatCompletionStream, CompletionTimings, ModelTarget,
    ProxyClient, ProxyClientBuilder, ProxyError, ResponseHeader, TokenCounting, WrapperSelection,
};
pub use registry::{
    available_wrappers, find_wrapper, linked_plugins, load_wrapper_file, wrapper_registry,
    RegistryError, WrapperFileLoaderRegistration, WrapperRegistration,
};
pub use repair::{repair_json, RepairError};
pub use wrapper::{GrammarStyle, PromptWrapper, RenderRequest, WrapperError};
pub use wrapper_choice::{choose_wrapper, ChosenWrapper, DEFAULT_WRAPPER, SUMMARY_WRAPPER};

/// Re-exports for the registration macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
