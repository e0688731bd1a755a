//! The core of chat-completion-proxy.
//!
//! It holds the OpenAI chat types ([`chat`]), the [`PromptWrapper`] extension point
//! and its registry ([`registry`]), the choice of wrapper for a request
//! ([`wrapper_choice`]), Python-compatible JSON text ([`python_json`]) and JSON repair
//! for malformed model output ([`repair`]). It knows no concrete wrapper or backend:
//! those are plugin crates that register themselves with
//! [`register_wrapper!`].

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
