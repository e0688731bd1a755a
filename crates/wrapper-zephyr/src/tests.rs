use prompt_kit::chat::{FunctionCall, ParsedFunctionCall, Role, ToolCall};
use prompt_kit::ChatMessage;
use prompt_kit::{AssistantMessage, GrammarStyle, PromptWrapper};
use serde_json::json;

use super::*;

fn assistant(content: Option<&str>, arguments: &str) -> ChatMessage {
    let mut message = ChatMessage::new(Role::Assistant, "");
    message.content = content.map(|text| prompt_kit::MessageContent::Text(text.to_owned()));
    message.function_call = Some(FunctionCall {
        name: "send_message".to_owned(),
        arguments: arguments.to_owned(),
    });
    message
}

fn render(wrapper: &ZephyrWrapper, messages: &[ChatMessage]) -> Result<String, WrapperError> {
    wrapper.render_prompt(&RenderRequest::new(messages, &[]))
}

#[test]
fn renders_a_small_conversation() {
    // Setup: a MemGPT user event, a call with thoughts and its result, an inner-only turn.
    let messages = vec![
        ChatMessage::new(Role::System, "SYS"),
        ChatMessage::new(Role::User, r#"{"type": "user_message", "message": "hi"}"#),
        assistant(Some("greet"), r#"{"message": "hello"}"#),
        ChatMessage::new(Role::Function, "OK"),
        // As in the reference, an assistant text without a call is not shown.
        ChatMessage::new(Role::Assistant, "just thinking"),
    ];
    // Exec
    let prompt = render(&ZephyrWrapper::new(), &messages);
    // Check
    let expected = "SYS\nPlease select the most suitable function and parameters from the list \
                    of available functions below, based on the ongoing conversation. Provide \
                    your response in JSON format.\nAvailable functions:\n<|user|>\n<|user|>\nhi\
                    </s>\n<|assistant|>\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \
                    \"inner_thoughts\": \"greet\",\n    \"message\": \"hello\"\n  }\n}\n\
                    FUNCTION RETURN: OK\n<|assistant|>\n<|assistant|>\n{";
    assert_eq!(prompt.ok().as_deref(), Some(expected));
}

#[test]
fn grammar_variant_has_no_brace_and_asks_for_a_grammar() {
    let messages = vec![ChatMessage::new(Role::System, "SYS")];
    let grammar = ZephyrWrapper::with_grammar();
    assert!(render(&grammar, &messages)
        .as_deref()
        .is_ok_and(|p| p.ends_with("\n<|user|>\n<|assistant|>")));
    assert_eq!(
        grammar.grammar_style(),
        Some(GrammarStyle::InnerThoughtsInParams)
    );
    assert_eq!(ZephyrWrapper::new().grammar_style(), None);
    assert!(!grammar.supports_first_message());
}

#[test]
fn tool_calls_tool_messages_and_null_content() {
    // The reference ignored `tool_calls`; a null content gives `"inner_thoughts": null`.
    let mut tools = ChatMessage::new(Role::Assistant, "");
    tools.content = None;
    tools.tool_calls = Some(vec![ToolCall {
        id: "call_1".to_owned(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: "send_message".to_owned(),
            arguments: r#"{"message": "yo"}"#.to_owned(),
        },
    }]);
    let system = ChatMessage::new(Role::System, "SYS");
    let with_tools = [system.clone(), tools, ChatMessage::new(Role::Tool, "OK")];
    let with_function = [
        system,
        assistant(None, r#"{"message": "yo"}"#),
        ChatMessage::new(Role::Function, "OK"),
    ];
    let prompt = render(&ZephyrWrapper::new(), &with_tools).ok();
    assert_eq!(prompt, render(&ZephyrWrapper::new(), &with_function).ok());
    assert!(
        prompt.is_some_and(|p| p.contains("\"inner_thoughts\": null,\n    \"message\": \"yo\""))
    );
}

#[test]
fn a_conversation_without_system_message_has_an_empty_system_prompt() {
    let without = [ChatMessage::new(Role::User, "hi")];
    let with = [
        ChatMessage::new(Role::System, ""),
        ChatMessage::new(Role::User, "hi"),
    ];
    let prompt = render(&ZephyrWrapper::new(), &without).unwrap();
    assert_eq!(prompt, render(&ZephyrWrapper::new(), &with).unwrap());
    assert!(prompt.contains("<|user|>\nhi"), "{prompt}");
}

#[test]
fn parses_a_reply_missing_its_opening_brace() {
    let reply = "\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \
                 \"hm\",\n    \"message\": \"hi\"\n  }\n}</s>";
    let expected = AssistantMessage {
        content: Some("hm".to_owned()),
        reasoning: None,
        function_calls: vec![ParsedFunctionCall {
            name: "send_message".to_owned(),
            arguments: json!({"message": "hi"}),
        }],
    };
    assert_eq!(
        ZephyrWrapper::new().parse_output(reply, false).ok(),
        Some(expected.clone())
    );
    let whole = format!("{{{reply}");
    assert_eq!(
        ZephyrWrapper::with_grammar()
            .parse_output(&whole, false)
            .ok(),
        Some(expected)
    );
}

#[test]
fn missing_function_or_params_is_a_missing_field() {
    let wrapper = ZephyrWrapper::with_grammar();
    let no_function = wrapper.parse_output(r#"{"params": {"message": "hi"}}"#, false);
    assert!(matches!(
        no_function,
        Err(WrapperError::MissingField { ref field, .. }) if field == "function"
    ));
    let no_params = wrapper.parse_output(r#"{"function": "send_message"}"#, false);
    assert!(matches!(
        no_params,
        Err(WrapperError::MissingField { ref field, .. }) if field == "params"
    ));
}
