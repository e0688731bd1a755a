//! The `simple-summary` prompt wrapper: MemGPT's conversation summarizer format.
//!
//! MemGPT asks the model to summarize old messages when its context window fills up.
//! Those requests start with the summarizer's system prompt (see
//! [`prompt_kit::summarizer::SUMMARIZER_SYSTEM_PROMPT`]) and are answered in plain
//! text: this wrapper renders the conversation as a transcript (`USER:`,
//! `ASSISTANT:`, `FUNCTION RETURN:` lines between `### INPUT` and `### RESPONSE`
//! separators) and returns the model's text, trimmed, as the message content with no
//! function call.
//!
//! Behaviour reference: MemGPT's `SimpleSummaryWrapper`
//! (`local_llm/llm_chat_completion_wrappers/simple_summary_wrapper.py`) with its
//! default settings.

mod render;

use render::render_transcript;

use prompt_kit::{AssistantMessage, PromptWrapper, RenderRequest, WrapperError};

/// MemGPT's summarizer format: plain text in, plain text out.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleSummaryWrapper;

impl PromptWrapper for SimpleSummaryWrapper {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        render_transcript(request.messages)
    }

    fn parse_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        Ok(AssistantMessage {
            content: Some(raw_output.trim().to_owned()),
            reasoning: None,
            function_calls: Vec::new(),
        })
    }

    /// The summary is plain text in every mode.
    fn supports_text_answers(&self) -> bool {
        true
    }
}

prompt_kit::register_wrapper! {
    name: prompt_kit::SUMMARY_WRAPPER,
    description: "MemGPT's conversation summarizer: a plain-text transcript in, a plain-text summary out",
    build: || Box::new(SimpleSummaryWrapper),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_returns_the_trimmed_text_and_no_call() {
        let message = SimpleSummaryWrapper
            .parse_output("  I met Brad, who is 42.\n\n", false)
            .unwrap();
        assert_eq!(message.content.as_deref(), Some("I met Brad, who is 42."));
        assert_eq!(message.first_call(), None);
    }

    #[test]
    fn parse_keeps_json_looking_text_as_text() {
        let raw = "{\"function\": \"send_message\", \"params\": {}}";
        let message = SimpleSummaryWrapper.parse_output(raw, true).unwrap();
        assert_eq!(message.content.as_deref(), Some(raw));
        assert_eq!(message.first_call(), None);
    }

    #[test]
    fn parse_of_empty_output_is_empty_content() {
        let message = SimpleSummaryWrapper.parse_output(" \n", false).unwrap();
        assert_eq!(message.content.as_deref(), Some(""));
    }

    #[test]
    fn first_message_does_not_change_the_prompt() {
        assert!(!SimpleSummaryWrapper.supports_first_message());
        assert_eq!(SimpleSummaryWrapper.grammar_style(), None);
        assert!(SimpleSummaryWrapper.stop_sequences().is_empty());
    }
}
