//! The summarizer's transcript: the system prompt, then one line per message, in the
//! airoboros-style layout the legacy formats share ([`prompt_kit::legacy_format`]).
//!
//! Deviations from the reference, each pinned by a test: every `tool_calls` entry is
//! shown (it showed the first), a `null` content is empty (it wrote `None`), and
//! arguments that are not a JSON object, or a system message after the first, are
//! errors (it crashed, or passed non-object JSON through).

use prompt_kit::inner_monologue::user_body;
use prompt_kit::legacy_format::{function_return_line, push_calls, split_conversation, Turn};
use prompt_kit::{ChatMessage, WrapperError};

/// Separates the system prompt from the transcript.
const INPUT_SEPARATOR: &str = "\n### INPUT";
/// Separates the transcript from the model's answer.
const RESPONSE_SEPARATOR: &str = "\n### RESPONSE (your summary of the above conversation in plain English (no JSON!), do NOT exceed the word limit)";
/// The text the model's summary continues.
const ASSISTANT_PREFIX: &str = "\nSUMMARY:";

/// Renders `messages` (a system prompt first) as the summarizer's prompt.
///
/// Function schemas are not listed: the summarizer answers in plain text. User events
/// are shown by their `"message"` text, past calls as `{"function": …, "params": …}`
/// objects without inner thoughts, function results as `FUNCTION RETURN:` lines.
pub(crate) fn render_transcript(messages: &[ChatMessage]) -> Result<String, WrapperError> {
    let conversation = split_conversation(messages)?;
    let mut prompt = conversation.system;
    prompt.push_str(INPUT_SEPARATOR);
    for (index, turn) in conversation.turns {
        match turn {
            Turn::User(message) => {
                prompt.push_str("\nUSER: ");
                prompt.push_str(&user_body(message, true, None));
            }
            Turn::Assistant(message) => {
                prompt.push_str("\nASSISTANT: ");
                prompt.push_str(&message.text_or_empty());
                push_calls(&mut prompt, message, index, false)?;
            }
            Turn::FunctionReturn(message) => {
                prompt.push('\n');
                prompt.push_str(&function_return_line(message));
            }
        }
    }
    prompt.push_str(RESPONSE_SEPARATOR);
    prompt.push_str(ASSISTANT_PREFIX);
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prompt_kit::{FunctionCall, MessageContent, Role, ToolCall};

    fn system() -> ChatMessage {
        ChatMessage::new(Role::System, "Summarize.")
    }

    fn assistant_call(content: Option<&str>, name: &str, arguments: &str) -> ChatMessage {
        let mut message = ChatMessage::new(Role::Assistant, "");
        message.content = content.map(|text| MessageContent::Text(text.to_owned()));
        message.function_call = Some(FunctionCall {
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        });
        message
    }

    const TAIL: &str = "\n### RESPONSE (your summary of the above conversation in plain English (no JSON!), do NOT exceed the word limit)\nSUMMARY:";

    #[test]
    fn renders_each_role_as_a_transcript_line() {
        let messages = vec![
            system(),
            ChatMessage::new(
                Role::User,
                r#"{"type": "user_message", "message": "hi", "time": "now"}"#,
            ),
            ChatMessage::new(Role::User, r#"{"type": "login", "last_login": "Never"}"#),
            assistant_call(Some("Greet."), "send_message", r#"{"message": "Hello"}"#),
            ChatMessage::new(Role::Function, r#"{"status": "OK"}"#),
        ];
        let prompt = render_transcript(&messages).unwrap();
        let expected = format!(
            "Summarize.\n### INPUT\nUSER: hi\nUSER: {{\"type\": \"login\", \"last_login\": \"Never\"}}\nASSISTANT: Greet.\n{{\n  \"function\": \"send_message\",\n  \"params\": {{\n    \"message\": \"Hello\"\n  }}\n}}\nFUNCTION RETURN: {{\"status\": \"OK\"}}{TAIL}"
        );
        assert_eq!(prompt, expected);
    }

    #[test]
    fn first_message_must_be_the_system_prompt() {
        let messages = vec![ChatMessage::new(Role::User, "hi")];
        assert!(matches!(
            render_transcript(&messages),
            Err(WrapperError::MissingSystemMessage { .. })
        ));
        assert!(matches!(
            render_transcript(&[]),
            Err(WrapperError::MissingSystemMessage { .. })
        ));
    }

    #[test]
    fn every_tool_call_is_rendered() {
        // The reference renders only the first of several tool calls; every call is
        // part of the conversation being summarized, so each gets its own block.
        let mut message = ChatMessage::new(Role::Assistant, "Two things.");
        message.tool_calls = Some(
            ["a", "b"]
                .iter()
                .map(|name| ToolCall {
                    id: format!("call_{name}"),
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name: (*name).to_owned(),
                        arguments: "{}".to_owned(),
                    },
                })
                .collect(),
        );
        let tool_result = ChatMessage::new(Role::Tool, "done");
        let prompt = render_transcript(&[system(), message, tool_result]).unwrap();
        assert!(prompt.contains(
            "ASSISTANT: Two things.\n{\n  \"function\": \"a\",\n  \"params\": {}\n}\n{\n  \"function\": \"b\",\n  \"params\": {}\n}\nFUNCTION RETURN: done"
        ));
    }

    #[test]
    fn assistant_without_content_renders_empty_text() {
        // The reference writes Python's `None` ("ASSISTANT: None").
        let prompt = render_transcript(&[system(), assistant_call(None, "f", "{}")]).unwrap();
        assert!(prompt.contains("\nASSISTANT: \n{\n  \"function\": \"f\""));
        assert!(!prompt.contains("None"));
    }

    #[test]
    fn a_later_system_message_is_a_clear_error() {
        // The reference fails an `assert` on a system message after the first.
        let later = ChatMessage::new(Role::System, "Note: memory was cleared.");
        let error = render_transcript(&[system(), later]).unwrap_err();
        assert!(matches!(
            error,
            WrapperError::InvalidMessage { index: 1, .. }
        ));
    }

    #[test]
    fn malformed_arguments_are_a_clear_error() {
        // The reference crashes in json.loads.
        let messages = vec![
            system(),
            ChatMessage::new(Role::User, "hi"),
            assistant_call(Some("x"), "send_message", "{oops"),
        ];
        let error = render_transcript(&messages).unwrap_err();
        assert!(matches!(
            error,
            WrapperError::InvalidMessage { index: 2, .. }
        ));
        assert!(error.to_string().contains("send_message"));
        // JSON that is not an object (the reference passed it through) is refused too.
        let messages = vec![system(), assistant_call(Some("x"), "f", "[1]")];
        let error = render_transcript(&messages).unwrap_err();
        assert!(matches!(
            error,
            WrapperError::InvalidMessage { index: 1, .. }
        ));
    }
}
