//! Plugin discovery: the wrapper registry and the generic [`Registry`] (from
//! prompt-kit, re-exported here under their old paths), and [`linked_plugins`], which
//! also knows the plugin kinds proxy-core adds (backends, grammar generators).
//!
//! Code written against proxy-core alone registers a wrapper as before, with
//! [`register_wrapper!`](crate::register_wrapper) (prompt-kit's macro, re-exported):
//!
//! ```
//! use proxy_core::{AssistantMessage, PromptWrapper, RenderRequest, WrapperError};
//!
//! /// Always the same prompt; the model's text as the answer.
//! struct FixedWrapper;
//!
//! impl PromptWrapper for FixedWrapper {
//!     fn render_prompt(&self, _request: &RenderRequest<'_>) -> Result<String, WrapperError> {
//!         Ok("Say hi.".to_owned())
//!     }
//!
//!     fn parse_output(&self, raw_output: &str, _first_message: bool) -> Result<AssistantMessage, WrapperError> {
//!         Ok(AssistantMessage::text(Some(raw_output.to_owned())))
//!     }
//! }
//!
//! proxy_core::register_wrapper! {
//!     name: "fixed",
//!     description: "One fixed prompt",
//!     build: || Box::new(FixedWrapper),
//! }
//!
//! assert!(proxy_core::available_wrappers().contains(&"fixed"));
//! assert_eq!(proxy_core::linked_plugins(), ["proxy-core"]);
//! ```

pub use prompt_kit::registry::{
    available_wrappers, find_wrapper, load_wrapper_file, wrapper_registry, RegisteredWrapper,
    Registry, RegistryError, WrapperFileLoaderRegistration, WrapperRegistration,
};

/// The plugin crates linked into this program: every package that registered a
/// wrapper, backend, grammar generator or wrapper-file loader, sorted, once each.
pub fn linked_plugins() -> Vec<&'static str> {
    let mut plugins: Vec<&'static str> = inventory::iter::<WrapperRegistration>()
        .map(|registration| registration.plugin)
        .chain(
            inventory::iter::<crate::backend::BackendRegistration>()
                .map(|registration| registration.plugin),
        )
        .chain(
            inventory::iter::<crate::grammar::GrammarGeneratorRegistration>()
                .map(|registration| registration.plugin),
        )
        .chain(
            inventory::iter::<WrapperFileLoaderRegistration>()
                .map(|registration| registration.plugin),
        )
        .chain(crate::chat_template_plugin::chat_template_plugins())
        .collect();
    plugins.sort_unstable();
    plugins.dedup();
    plugins
}
