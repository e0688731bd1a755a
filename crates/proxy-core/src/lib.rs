//! The core of chat-completion-proxy: everything but the concrete plugins, built on
//! [`prompt_kit`].
//!
//! - From prompt-kit, re-exported under the same paths: the OpenAI wire types
//!   ([`chat`], [`completion`]), the [`PromptWrapper`] extension point ([`wrapper`])
//!   and its registry ([`registry`], [`register_wrapper!`], wrapper-file loaders with
//!   [`load_wrapper_file`]), the shared MemGPT answer formats ([`inner_monologue`],
//!   [`legacy_format`], [`legacy_wrapper`], [`summarizer`]), Python-compatible JSON text
//!   ([`python_json`]), JSON repair for malformed model output ([`repair`]) and the one
//!   list of error kinds [`ErrorKind`]. Wrapper crates depend on prompt-kit alone.
//! - The extension points that need I/O, and their registries, filled at link time by
//!   plugin crates: [`backend::CompletionBackend`] ([`register_backend!`]) and
//!   [`grammar::GrammarGenerator`] ([`register_grammar_generator!`]);
//!   [`linked_plugins`] lists the crates that registered something of any kind.
//! - Where a model's chat template comes from ([`chat_template_source`]: a file, a
//!   tokenizer config, a GGUF file's metadata, or the backend).
//! - The backends' shared HTTP, streaming and error handling ([`backend`]), the
//!   completion settings ([`settings`]) and token counting ([`tokens`]).
//! - The pipeline itself ([`ProxyClient::get_chat_completion`], [`orchestrator`]), the
//!   choice of wrapper ([`wrapper_choice`]) and its one error type [`ProxyError`].
//!
//! It knows no concrete wrapper, backend or grammar generator.

pub mod backend;
pub mod chat_template_source;
pub mod function_correction;
pub mod grammar;
pub mod orchestrator;
pub mod registry;
pub mod settings;
pub mod tokens;
pub mod wrapper_choice;

pub use prompt_kit::{
    chat, chat_template_plugin, completion, error_kind, image, inner_monologue, legacy_format,
    legacy_wrapper, parallel_calls, python_json, repair, summarizer, wrapper,
};
pub use prompt_kit::{
    register_chat_template_wrapper, register_wrapper, register_wrapper_file_loader,
};

pub use chat::{
    AssistantMessage, ChatMessage, ContentPart, FunctionCall, FunctionSchema, MessageContent,
    ParsedFunctionCall, ResponseMessage, Role, ToolCall, ToolSchema,
};
pub use chat_template_plugin::build_chat_template_wrapper;
pub use chat_template_source::{load_local, ChatTemplateSpec, TemplateSource, TemplateSourceError};
pub use completion::{
    ChatCompletionRequest, ChatCompletionResponse, Choice, FinishReason, StopSequences, Usage,
};
pub use error_kind::ErrorKind;
pub use orchestrator::replica_metrics;
pub use orchestrator::{
    get_chat_completion, ChatCompletionEvent, ChatCompletionStream, CompletionReport,
    CompletionTimings, FaultPolicy, HealthChecks, ModelTarget, ProxyClient, ProxyClientBuilder,
    ProxyError, ReplicaConfig, ReplicaSet, ReplicaStatus, ResolvedTarget, ResponseHeader,
    TokenCounting, WrapperSelection, DEFAULT_MAX_THOUGHT_CHARS,
};
pub use registry::{
    available_wrappers, find_wrapper, linked_plugins, load_wrapper_file, wrapper_registry,
    RegistryError, WrapperFileLoaderRegistration, WrapperRegistration,
};
pub use repair::{count_repairs, repair_json, RepairError};
pub use wrapper::{
    text_answer, with_system_first, AnswerMode, GrammarStyle, NativeCallSyntax, PromptWrapper,
    RenderRequest, WrapperError,
};
pub use wrapper_choice::{choose_wrapper, ChosenWrapper, DEFAULT_WRAPPER, SUMMARY_WRAPPER};

/// Re-exports for the registration macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
