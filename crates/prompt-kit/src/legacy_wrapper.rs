//! [`LegacyFormat`]: what a legacy wrapper (airoboros, dolphin, zephyr) supplies — its
//! prompt layout and its [`AnswerFormat`]. Every such type is a [`PromptWrapper`]
//! through the blanket implementation here, which reads answers with the answer format
//! and asks for its grammar style.

use crate::chat::AssistantMessage;
use crate::legacy_format::AnswerFormat;
use crate::wrapper::{with_system_first, GrammarStyle, PromptWrapper, RenderRequest, WrapperError};

/// A legacy prompt format: one layout, answers read with an [`AnswerFormat`].
pub trait LegacyFormat: Send + Sync {
    /// Renders the conversation in this format (see [`PromptWrapper::render_prompt`]).
    fn render_legacy(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError>;

    /// How the model's answer is read, and the grammar it asks for.
    fn answer_format(&self) -> &AnswerFormat;

    /// Whether [`render_legacy`](Self::render_legacy) honours
    /// [`AnswerMode::Text`](crate::wrapper::AnswerMode::Text) (see
    /// [`PromptWrapper::supports_text_answers`]).
    fn supports_text_answers(&self) -> bool {
        false
    }
}

impl<T: LegacyFormat> PromptWrapper for T {
    /// Renders with [`render_legacy`](LegacyFormat::render_legacy); a conversation with
    /// no system message is given an empty one first ([`with_system_first`]).
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let messages = with_system_first(request.messages);
        self.render_legacy(&RenderRequest {
            messages: &messages,
            ..*request
        })
    }

    fn parse_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.answer_format().parse(raw_output)
    }

    fn parse_parallel_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.answer_format().parse_parallel(raw_output)
    }

    fn grammar_style(&self) -> Option<GrammarStyle> {
        self.answer_format().grammar_style()
    }

    fn supports_text_answers(&self) -> bool {
        LegacyFormat::supports_text_answers(self)
    }
}
