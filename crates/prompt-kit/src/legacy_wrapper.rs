//! [`LegacyFormat`]: what a legacy wrapper (airoboros, dolphin, zephyr) supplies — its
//! prompt layout and its [`AnswerFormat`]. Every such type is a [`PromptWrapper`]
//! through the blanket implementation here, which reads answers with the answer format
//! and asks for its grammar style.

use crate::chat::AssistantMessage;
use crate::legacy_format::AnswerFormat;
use crate::wrapper::{GrammarStyle, PromptWrapper, RenderRequest, WrapperError};

/// A legacy prompt format: one layout, answers read with an [`AnswerFormat`].
pub trait LegacyFormat: Send + Sync {
    /// Renders the conversation in this format (see [`PromptWrapper::render_prompt`]).
    fn render_legacy(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError>;

    /// How the model's answer is read, and the grammar it asks for.
    fn answer_format(&self) -> &AnswerFormat;
}

impl<T: LegacyFormat> PromptWrapper for T {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        self.render_legacy(request)
    }

    fn parse_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.answer_format().parse(raw_output)
    }

    fn grammar_style(&self) -> Option<GrammarStyle> {
        self.answer_format().grammar_style()
    }
}
