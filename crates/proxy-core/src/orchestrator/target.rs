//! [`ModelTarget`]: where one model is served and how its prompts are formatted.

use std::fmt;
use std::sync::Arc;

use crate::backend::BackendAuth;
use crate::settings::SettingsPreset;
use crate::wrapper::PromptWrapper;

/// Which wrapper formats the prompts of a [`ModelTarget`].
#[derive(Clone, Default)]
pub enum WrapperSelection {
    /// The request's `wrapper` field if it names one, else
    /// [`DEFAULT_WRAPPER`](crate::DEFAULT_WRAPPER) (with a warning logged once).
    #[default]
    Default,
    /// A registered wrapper by name (the request's `wrapper` field still wins).
    Named(String),
    /// A wrapper object the caller built, e.g. loaded from a user's wrapper file.
    Custom {
        /// A name for logs and errors (the file it came from, say).
        name: String,
        /// The wrapper.
        wrapper: Arc<dyn PromptWrapper>,
    },
}

impl fmt::Debug for WrapperSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrapperSelection::Default => f.write_str("Default"),
            WrapperSelection::Named(name) => f.debug_tuple("Named").field(name).finish(),
            WrapperSelection::Custom { name, .. } => f.debug_tuple("Custom").field(name).finish(),
        }
    }
}

/// One model behind one inference server: everything
/// [`get_chat_completion`](super::get_chat_completion) needs besides the request.
#[derive(Debug, Clone)]
pub struct ModelTarget {
    /// The endpoint type (`llamacpp`, `ollama`, …; see
    /// [`available_backends`](crate::backend::available_backends)).
    pub endpoint_type: String,
    /// The server's base URL (`http://localhost:8080`).
    pub endpoint: String,
    /// The model's context window, in tokens; a longer prompt is refused before sending.
    pub context_window: u64,
    /// The backend's model name (required by ollama, vLLM and Groq). The request's
    /// `model` is used when this is `None`.
    pub model: Option<String>,
    /// Credentials for the backend. Never logged.
    pub auth: Option<BackendAuth>,
    /// The prompt format.
    pub wrapper: WrapperSelection,
    /// The completion settings preset (the user's settings file goes on top).
    pub settings_preset: SettingsPreset,
}

impl ModelTarget {
    /// A target with no model name, no auth, the default wrapper and the `simple`
    /// settings preset.
    pub fn new(
        endpoint_type: impl Into<String>,
        endpoint: impl Into<String>,
        context_window: u64,
    ) -> Self {
        ModelTarget {
            endpoint_type: endpoint_type.into(),
            endpoint: endpoint.into(),
            context_window,
            model: None,
            auth: None,
            wrapper: WrapperSelection::Default,
            settings_preset: SettingsPreset::Simple,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let mut target = ModelTarget::new("llamacpp", "http://localhost:8080", 4096);
        target.auth = Some(BackendAuth::BearerToken("sekrit-key".into()));
        let shown = format!("{target:?}");
        assert!(!shown.contains("sekrit-key"), "{shown}");
        assert!(shown.contains("BearerToken(***)"), "{shown}");
    }
}
