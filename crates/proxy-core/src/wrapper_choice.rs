//! Which wrapper serves a request: the summarizer special case, the named wrapper, or
//! the default.

use std::sync::Once;

use crate::chat::ChatMessage;
use crate::registry::{find_wrapper, wrapper_registry, RegistryError};
use crate::wrapper::PromptWrapper;
pub use prompt_kit::summarizer::{
    is_summarizer_request, DEFAULT_WRAPPER, SUMMARIZER_SYSTEM_PROMPT, SUMMARY_WRAPPER,
};

/// The wrapper chosen for a request.
#[derive(Clone, Copy)]
pub struct ChosenWrapper {
    /// The registered name of the wrapper.
    pub name: &'static str,
    /// The wrapper.
    pub wrapper: &'static dyn PromptWrapper,
}

impl std::fmt::Debug for ChosenWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChosenWrapper")
            .field("name", &self.name)
            .finish()
    }
}

/// Picks the wrapper for a request: the summary wrapper for summarizer requests, else
/// the requested one, else [`DEFAULT_WRAPPER`] (logging a warning once per process).
pub fn choose_wrapper(
    messages: &[ChatMessage],
    requested: Option<&str>,
) -> Result<ChosenWrapper, RegistryError> {
    if is_summarizer_request(messages) {
        if let Ok(wrapper) = find_wrapper(SUMMARY_WRAPPER) {
            return Ok(ChosenWrapper {
                name: SUMMARY_WRAPPER,
                wrapper,
            });
        }
        tracing::warn!(
            "summarizer request, but the `{SUMMARY_WRAPPER}` wrapper is not compiled in; using the requested wrapper"
        );
    }
    let name = match requested {
        Some(name) => name,
        None => {
            warn_default_wrapper_once();
            DEFAULT_WRAPPER
        }
    };
    let (name, entry) = wrapper_registry().resolve(name)?;
    Ok(ChosenWrapper {
        name,
        wrapper: entry.wrapper.as_ref(),
    })
}

static DEFAULT_WRAPPER_WARNING: Once = Once::new();

fn warn_default_wrapper_once() {
    DEFAULT_WRAPPER_WARNING.call_once(|| {
        tracing::warn!(
            "no wrapper specified, using the default wrapper `{DEFAULT_WRAPPER}` (name one with --wrapper to remove this warning)"
        );
    });
}
