//! The configurable wrapper: a [`WrapperDefinition`] put to work.

use prompt_kit::{AssistantMessage, GrammarStyle, PromptWrapper, RenderRequest, WrapperError};

use std::path::Path;

use crate::definition::{parse_definition, LoadError, WrapperDefinition};
use crate::{parse, render};

/// A prompt format described by a [`WrapperDefinition`] (the reference's
/// `ConfigurableJSONWrapper`): the model answers with
/// `{"function": …, "params": {…}}` JSON, its inner thoughts either at the top level or
/// inside `params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurableWrapper {
    definition: WrapperDefinition,
}

impl ConfigurableWrapper {
    /// A wrapper for `definition`; refused with [`WrapperError::InvalidDefinition`]
    /// when its settings contradict each other (see [`WrapperDefinition::problem`]).
    pub fn new(definition: WrapperDefinition) -> Result<Self, WrapperError> {
        match definition.problem() {
            Some(problem) => Err(WrapperError::InvalidDefinition(problem)),
            None => Ok(ConfigurableWrapper { definition }),
        }
    }

    /// The registered `experimental-wrapper-neural-chat-grammar-noforce` format (Intel's
    /// neural-chat: `### System:` / `### User:` / `### Assistant:` sections).
    pub fn neural_chat() -> Self {
        ConfigurableWrapper {
            definition: crate::neural_chat_definition(),
        }
    }

    /// The settings.
    pub fn definition(&self) -> &WrapperDefinition {
        &self.definition
    }
}

/// Reads a [`WrapperDefinition`] from the TOML file at `path` and builds the wrapper.
pub fn load_wrapper_file(path: &Path) -> Result<ConfigurableWrapper, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let definition = parse_definition(&text).map_err(|message| LoadError::Parse {
        path: path.to_owned(),
        message,
    })?;
    ConfigurableWrapper::new(definition).map_err(|error| LoadError::Invalid {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

impl PromptWrapper for ConfigurableWrapper {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        render::render_prompt(&self.definition, request)
    }

    fn parse_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        parse::parse_output(&self.definition, raw_output, first_message)
    }

    fn parse_parallel_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        parse::parse_parallel_output(&self.definition, raw_output, first_message)
    }

    /// `first_message` changes the prompt only when the first-message prefix differs
    /// from the ordinary one.
    fn supports_first_message(&self) -> bool {
        self.definition.assistant_prefix_extra_first_message
            != self.definition.assistant_prefix_extra
    }

    fn grammar_style(&self) -> Option<GrammarStyle> {
        self.definition.grammar.map(GrammarStyle::from)
    }

    fn supports_text_answers(&self) -> bool {
        true
    }

    fn stop_sequences(&self) -> &[String] {
        &self.definition.default_stop_sequences
    }
}
