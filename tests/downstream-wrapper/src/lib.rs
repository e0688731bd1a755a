//! A wrapper plugin written the way a downstream user would write one: a crate that
//! depends on `prompt-kit` only, implements [`PromptWrapper`] and registers it with
//! [`prompt_kit::register_wrapper!`]. Linking the crate is all it takes for the
//! wrapper to appear in `available_wrappers()`.
//!
//! The format, `downstream-plain`, is deliberately tiny: one `role: text` line per
//! message, a function call as a `call NAME ARGUMENTS-JSON` line, and the prompt ends
//! with `assistant:` for the model to continue.

use prompt_kit::{
    repair_json, AssistantMessage, ChatMessage, ParsedFunctionCall, PromptWrapper, RenderRequest,
    WrapperError,
};

/// The name this crate registers.
pub const NAME: &str = "downstream-plain";

/// The `downstream-plain` format.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownstreamPlainWrapper;

/// Marks a line that holds a function call.
const CALL_MARKER: &str = "call ";

fn push_message(prompt: &mut String, message: &ChatMessage) {
    prompt.push_str(message.role.as_str());
    prompt.push_str(": ");
    prompt.push_str(&message.text_or_empty());
    prompt.push('\n');
    for call in message.calls() {
        prompt.push_str(CALL_MARKER);
        prompt.push_str(&call.name);
        prompt.push(' ');
        prompt.push_str(&call.arguments);
        prompt.push('\n');
    }
}

impl PromptWrapper for DownstreamPlainWrapper {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let mut prompt = String::new();
        for message in request.messages {
            push_message(&mut prompt, message);
        }
        prompt.push_str("assistant:");
        Ok(prompt)
    }

    fn parse_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        let mut content = Vec::new();
        let mut function_call = None;
        for line in raw_output.trim().lines() {
            match line.strip_prefix(CALL_MARKER) {
                Some(call) if function_call.is_none() => {
                    let (name, arguments) = call.split_once(' ').unwrap_or((call, "{}"));
                    let arguments = repair_json(arguments).map_err(|source| {
                        WrapperError::UnparseableOutput {
                            source,
                            raw_output: raw_output.to_owned(),
                        }
                    })?;
                    function_call = Some(ParsedFunctionCall {
                        name: name.to_owned(),
                        arguments,
                    });
                }
                _ => content.push(line),
            }
        }
        let content = content.join("\n");
        Ok(AssistantMessage {
            content: (!content.is_empty()).then_some(content),
            reasoning: None,
            function_calls: function_call.into_iter().collect(),
        })
    }
}

prompt_kit::register_wrapper! {
    name: NAME,
    description: "A tiny plain-text format from a downstream crate (proves the plugin extension point)",
    build: || Box::new(DownstreamPlainWrapper),
}

#[cfg(test)]
mod tests {
    use super::*;
    use prompt_kit::Role;

    #[test]
    fn parse_splits_text_and_call() {
        let message = DownstreamPlainWrapper
            .parse_output(
                " Thinking.\ncall send_message {\"message\": \"hi\"}\n",
                false,
            )
            .unwrap();
        assert_eq!(message.content.as_deref(), Some("Thinking."));
        let call = message.function_calls.into_iter().next().unwrap();
        assert_eq!(call.name, "send_message");
        assert_eq!(call.arguments.to_string(), r#"{"message":"hi"}"#);
    }

    #[test]
    fn renders_one_line_per_message() {
        let messages = [
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "hi"),
        ];
        let prompt = DownstreamPlainWrapper
            .render_prompt(&RenderRequest::new(&messages, &[]))
            .unwrap();
        assert_eq!(prompt, "system: Be brief.\nuser: hi\nassistant:");
    }

    #[test]
    fn plain_text_has_no_call_and_bad_call_json_is_an_error() {
        let message = DownstreamPlainWrapper
            .parse_output("Just text.", false)
            .unwrap();
        assert_eq!(message.content.as_deref(), Some("Just text."));
        assert!(message.function_calls.is_empty());
        let error = DownstreamPlainWrapper
            .parse_output("call f not-json", false)
            .unwrap_err();
        assert!(matches!(error, WrapperError::UnparseableOutput { .. }));
    }
}
