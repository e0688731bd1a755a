//! Rendering a conversation with a [`WrapperDefinition`]'s texts (the reference's
//! `chat_completion_to_prompt`).

use prompt_kit::inner_monologue::{
    assistant_body, function_response_body, python_strip, speaker_role, system_block, user_body,
    ThoughtsPlacement,
};
use prompt_kit::{ChatMessage, RenderRequest, Role, WrapperError};

use crate::definition::WrapperDefinition;

/// The prompt: `pre_prompt`, each message between its role's start and end texts,
/// `post_prompt`, then the assistant prefix extra (stripped with `strip_prompt`).
pub(crate) fn render_prompt(
    definition: &WrapperDefinition,
    request: &RenderRequest<'_>,
) -> Result<String, WrapperError> {
    let mut prompt = Prompt {
        definition,
        text: definition.pre_prompt.clone(),
        pending_user_start: false,
        seen_system: false,
    };
    for (index, message) in request.messages.iter().enumerate() {
        match message.role {
            Role::System => prompt.push_system(message, request),
            Role::User => prompt.push_user(message),
            Role::Assistant => prompt.push_assistant(message, index, request.wants_text())?,
            Role::Tool => prompt.push_tool(message),
            Role::Function if definition.function_messages_as_tool => prompt.push_tool(message),
            // The reference renders only `tool` messages; `function` ones are dropped.
            Role::Function => {}
        }
    }
    let mut text = prompt.text;
    text.push_str(&definition.post_prompt);
    if !request.wants_text() {
        text.push_str(definition.assistant_prefix(request.first_message));
    }
    if definition.strip_prompt {
        Ok(python_strip(&text).to_owned())
    } else {
        Ok(text)
    }
}

/// The prompt being written.
struct Prompt<'a> {
    definition: &'a WrapperDefinition,
    text: String,
    /// The system prompt opened a user turn (`include_sys_prompt_in_first_user_message`)
    /// that the next user or assistant message continues.
    pending_user_start: bool,
    seen_system: bool,
}

impl Prompt<'_> {
    fn indent(&self) -> Option<usize> {
        Some(self.definition.json_indent)
    }

    /// The first system message carries the function listing; a later one is shown
    /// as it is (the reference listed the functions again after every system message,
    /// and opened yet another user turn before the whole prompt).
    fn push_system(&mut self, message: &ChatMessage, request: &RenderRequest<'_>) {
        let definition = self.definition;
        let text = message.text_or_empty();
        let first = !self.seen_system;
        let body = if first && !request.wants_text() {
            system_block(
                &text,
                request.functions,
                request.function_documentation,
                ThoughtsPlacement::InParams,
            )
        } else {
            text
        };
        self.seen_system = true;
        self.text.push_str(&definition.sys_prompt_start);
        self.text.push_str(&body);
        self.text.push_str(&definition.sys_prompt_end);
        if first && definition.include_sys_prompt_in_first_user_message {
            self.text.insert_str(0, &definition.user_prompt_start);
            self.pending_user_start = true;
        }
    }

    fn push_user(&mut self, message: &ChatMessage) {
        let definition = self.definition;
        if !std::mem::take(&mut self.pending_user_start) {
            self.text.push_str(&definition.user_prompt_start);
        }
        self.text.push_str(&user_body(
            message,
            definition.simplify_json_content,
            self.indent(),
        ));
        self.text.push_str(&definition.user_prompt_end);
    }

    /// An assistant turn: its calls in the answer shape, or for a plain-text answer
    /// (`text_answer`) a message without calls as its text.
    fn push_assistant(
        &mut self,
        message: &ChatMessage,
        index: usize,
        text_answer: bool,
    ) -> Result<(), WrapperError> {
        let definition = self.definition;
        let body = if text_answer && message.calls().is_empty() {
            message.text_or_empty()
        } else {
            assistant_body(message, ThoughtsPlacement::InParams, self.indent(), index)?
        };
        if std::mem::take(&mut self.pending_user_start) {
            self.text.push_str(&definition.user_prompt_end);
        }
        if definition.allow_custom_roles && message.name.is_some() {
            self.text.push_str(&definition.custom_roles_prompt_start);
            self.text.push_str(&speaker_role(message, true));
            self.text.push_str(&definition.custom_post_role);
            self.text.push_str(&body);
            self.text.push_str(&definition.custom_roles_prompt_end);
        } else {
            self.text.push_str(&definition.assistant_prompt_start);
            self.text.push_str(&body);
            self.text.push_str(&definition.assistant_prompt_end);
        }
        Ok(())
    }

    fn push_tool(&mut self, message: &ChatMessage) {
        let definition = self.definition;
        self.text.push_str(&definition.tool_prompt_start);
        self.text
            .push_str(&function_response_body(message, self.indent()));
        self.text.push_str(&definition.tool_prompt_end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapper::ConfigurableWrapper;
    use prompt_kit::{FunctionCall, FunctionSchema, MessageContent, PromptWrapper};
    use serde_json::json;

    fn send_message() -> FunctionSchema {
        FunctionSchema {
            name: "send_message".into(),
            description: Some("Sends a message.".into()),
            parameters: Some(
                json!({"type": "object", "properties": {"message": {"type": "string", "description": "Text."}}}),
            ),
        }
    }

    const LISTING: &str = "Please select the most suitable function and parameters from the list of available functions below, based on the ongoing conversation. Provide your response in JSON format.\nAvailable functions:\nsend_message:\n  description: Sends a message.\n  params:\n    inner_thoughts: Deep inner monologue private to you only.\n    message: Text.";

    fn call(content: Option<&str>, arguments: &str) -> ChatMessage {
        let mut message = ChatMessage::new(Role::Assistant, "");
        message.content = content.map(|text| MessageContent::Text(text.to_owned()));
        message.function_call = Some(FunctionCall {
            name: "send_message".into(),
            arguments: arguments.into(),
        });
        message
    }

    fn render(wrapper: &ConfigurableWrapper, messages: &[ChatMessage], first: bool) -> String {
        let functions = [send_message()];
        let mut request = RenderRequest::new(messages, &functions);
        request.first_message = first;
        wrapper.render_prompt(&request).unwrap()
    }

    fn wrapper(definition: WrapperDefinition) -> ConfigurableWrapper {
        ConfigurableWrapper::new(definition).unwrap()
    }

    #[test]
    fn neural_chat_renders_sections_and_drops_function_messages() {
        let messages = [
            ChatMessage::new(Role::System, "Be Sam."),
            ChatMessage::new(Role::User, r#"{"type": "user_message", "message": "hi"}"#),
            call(Some("Greet."), r#"{"message": "Hello"}"#),
            ChatMessage::new(Role::Function, r#"{"status": "OK"}"#),
            ChatMessage::new(Role::Tool, "done"),
        ];
        let prompt = render(&ConfigurableWrapper::neural_chat(), &messages, false);
        let expected = format!(
            "### System:\nBe Sam.\n{LISTING}\n### User:\n{{\n  \"type\": \"user_message\",\n  \"message\": \"hi\"\n}}\n### Assistant:\n\n{{\n  \"function\": \"send_message\",\n  \"params\": {{\n    \"inner_thoughts\": \"Greet.\",\n    \"message\": \"Hello\"\n  }}\n}}\n### User:\ndone\n### Assistant:"
        );
        assert_eq!(prompt, expected);
    }

    #[test]
    fn function_messages_can_render_as_tool_messages() {
        let definition = WrapperDefinition {
            tool_prompt_start: "<tool>".into(),
            tool_prompt_end: "</tool>".into(),
            function_messages_as_tool: true,
            ..WrapperDefinition::default()
        };
        let messages = [ChatMessage::new(Role::Function, r#"{"status": "OK"}"#)];
        assert_eq!(
            render(&wrapper(definition), &messages, false),
            "<tool>{\n  \"status\": \"OK\"\n}</tool>"
        );
    }

    #[test]
    fn system_prompt_inside_the_first_user_turn() {
        let definition = WrapperDefinition {
            pre_prompt: "<s>".into(),
            sys_prompt_start: "<<SYS>>\n".into(),
            sys_prompt_end: "\n<</SYS>>\n".into(),
            user_prompt_start: "[INST] ".into(),
            user_prompt_end: " [/INST]".into(),
            assistant_prompt_start: " ".into(),
            assistant_prompt_end: " </s><s>".into(),
            include_sys_prompt_in_first_user_message: true,
            simplify_json_content: true,
            ..WrapperDefinition::default()
        };
        let messages = [
            ChatMessage::new(Role::System, "S"),
            ChatMessage::new(Role::User, r#"{"message": "one"}"#),
            ChatMessage::new(Role::Assistant, "thinking"),
            ChatMessage::new(Role::User, "two"),
        ];
        let prompt = render(&wrapper(definition.clone()), &messages, false);
        // As the reference: the user start goes before the whole prompt, even `pre_prompt`.
        assert_eq!(
            prompt,
            format!("[INST] <s><<SYS>>\nS\n{LISTING}\n<</SYS>>\none [/INST] thinking </s><s>[INST] two [/INST]")
        );
        // An assistant reply right after the system prompt closes the user turn first.
        let prompt = render(
            &wrapper(definition),
            &[messages[0].clone(), messages[2].clone()],
            false,
        );
        assert!(
            prompt.ends_with("<</SYS>>\n [/INST] thinking </s><s>"),
            "{prompt}"
        );
    }

    #[test]
    fn named_assistant_messages_use_custom_roles() {
        let definition = WrapperDefinition {
            allow_custom_roles: true,
            custom_roles_prompt_start: "<|im_start|>".into(),
            custom_post_role: "\n".into(),
            custom_roles_prompt_end: "<|im_end|>\n".into(),
            assistant_prompt_start: "<|im_start|>assistant\n".into(),
            assistant_prompt_end: "<|im_end|>\n".into(),
            ..WrapperDefinition::default()
        };
        let mut named = ChatMessage::new(Role::Assistant, "I plan.");
        named.name = Some(" Planner ".into());
        let plain = ChatMessage::new(Role::Assistant, "I answer.");
        assert_eq!(
            render(&wrapper(definition), &[named, plain], false),
            "<|im_start|>planner\nI plan.<|im_end|>\n<|im_start|>assistant\nI answer.<|im_end|>\n"
        );
    }

    #[test]
    fn a_second_system_message_does_not_repeat_the_listing() {
        // The reference appended the function listing to every system message.
        let definition = WrapperDefinition {
            sys_prompt_start: "S:".into(),
            sys_prompt_end: "|".into(),
            ..WrapperDefinition::default()
        };
        let messages = [
            ChatMessage::new(Role::System, "first"),
            ChatMessage::new(Role::System, "second"),
        ];
        assert_eq!(
            render(&wrapper(definition), &messages, false),
            format!("S:first\n{LISTING}|S:second|")
        );
    }

    #[test]
    fn grammar_documentation_replaces_the_listing_on_its_own_line() {
        // The reference wrote "Available functions:" and the documentation with no line
        // feed between them (the shared inner-monologue formats have one).
        let messages = [ChatMessage::new(Role::System, "Be Sam.")];
        let mut request = RenderRequest::new(&messages, &[]);
        request.function_documentation = Some("DOCS");
        let prompt = wrapper(WrapperDefinition::default())
            .render_prompt(&request)
            .unwrap();
        assert!(prompt.ends_with("Available functions:\nDOCS"), "{prompt}");
    }

    #[test]
    fn assistant_without_content_or_call_is_empty() {
        // The reference crashed concatenating `None`.
        let mut message = ChatMessage::new(Role::Assistant, "");
        message.content = None;
        let definition = WrapperDefinition {
            assistant_prompt_start: "A:".into(),
            assistant_prompt_end: ".".into(),
            ..WrapperDefinition::default()
        };
        assert_eq!(render(&wrapper(definition), &[message], false), "A:.");
    }

    #[test]
    fn prefix_extras_follow_first_message_and_indent_is_configurable() {
        let definition = WrapperDefinition {
            post_prompt: "A:".into(),
            assistant_prefix_extra: " {\"function\":".into(),
            assistant_prefix_extra_first_message: " {\"function\": \"send_message\",".into(),
            json_indent: 0,
            ..WrapperDefinition::default()
        };
        let wrapper = wrapper(definition);
        assert!(wrapper.supports_first_message());
        let messages = [call(None, r#"{"message": "x"}"#)];
        assert_eq!(
            render(&wrapper, &messages, false),
            "\n{\n\"function\": \"send_message\",\n\"params\": {\n\"inner_thoughts\": null,\n\"message\": \"x\"\n}\n}A: {\"function\":"
        );
        assert!(render(&wrapper, &[], true).ends_with("A: {\"function\": \"send_message\","));
    }
}
