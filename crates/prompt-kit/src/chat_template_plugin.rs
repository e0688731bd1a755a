//! The extension point for wrappers built from a model's own Jinja chat template: a
//! plugin (the `wrapper-template` crate) registers the function that turns a loaded
//! template into a wrapper, and proxy-core calls it once per model at start-up (or on
//! the first request, for a template the backend serves).

use crate::wrapper::{PromptWrapper, WrapperError};

/// A chat template ready to be built into a wrapper: the Jinja text and the special
/// tokens from the same source, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplateSpec {
    /// The Jinja template text.
    pub source: String,
    /// The `bos_token` the template is rendered with (`None`: undefined).
    pub bos_token: Option<String>,
    /// The `eos_token` the template is rendered with (`None`: undefined); also a stop
    /// string.
    pub eos_token: Option<String>,
    /// Where the template came from, for logs and errors ("the file x", "the GGUF
    /// metadata of y", "the backend's /props").
    pub origin: String,
    /// The tool-call format named in the config (`hermes`, `llama3-json`, `mistral`,
    /// `json`); `None`: detected from the template.
    pub tool_call_format: Option<String>,
}

/// A plugin that builds wrappers from chat templates, submitted with
/// [`register_chat_template_wrapper!`](crate::register_chat_template_wrapper).
#[derive(Debug)]
pub struct ChatTemplateWrapperRegistration {
    /// The package that registered it (filled in by the macro).
    pub plugin: &'static str,
    /// Compiles the template and builds the wrapper.
    pub build: fn(&ChatTemplateSpec) -> Result<Box<dyn PromptWrapper>, WrapperError>,
}

inventory::collect!(ChatTemplateWrapperRegistration);

/// Builds the wrapper for `spec` with the linked-in chat-template plugin; an error when
/// none is linked.
pub fn build_chat_template_wrapper(
    spec: &ChatTemplateSpec,
) -> Result<Box<dyn PromptWrapper>, WrapperError> {
    let plugin = inventory::iter::<ChatTemplateWrapperRegistration>()
        .min_by_key(|registration| registration.plugin)
        .ok_or_else(|| {
            WrapperError::InvalidDefinition(format!(
                "cannot use the chat template from {}: this build links no chat-template \
                 plugin; build with the `wrapper-template` feature",
                spec.origin
            ))
        })?;
    (plugin.build)(spec)
}

/// The packages of the chat-template plugins linked into this build (sorted).
pub fn chat_template_plugins() -> Vec<&'static str> {
    let mut plugins: Vec<&'static str> = inventory::iter::<ChatTemplateWrapperRegistration>()
        .map(|registration| registration.plugin)
        .collect();
    plugins.sort_unstable();
    plugins
}

/// Registers the function that builds wrappers from chat templates (see
/// [`build_chat_template_wrapper`]).
#[macro_export]
macro_rules! register_chat_template_wrapper {
    (build: $build:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::chat_template_plugin::ChatTemplateWrapperRegistration {
                plugin: ::core::env!("CARGO_PKG_NAME"),
                build: $build,
            }
        }
    };
}
