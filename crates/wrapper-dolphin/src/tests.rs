use prompt_kit::chat::{FunctionCall, FunctionSchema, ParsedFunctionCall, Role, ToolCall};
use prompt_kit::ChatMessage;
use prompt_kit::{AssistantMessage, GrammarStyle, PromptWrapper};
use serde_json::json;

use super::*;

fn call(name: &str, arguments: &str) -> FunctionCall {
    FunctionCall {
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

fn render(wrapper: &DolphinWrapper, messages: &[ChatMessage]) -> Result<String, WrapperError> {
    let functions = [FunctionSchema {
        name: "send_message".to_owned(),
        description: Some("Sends a message.".to_owned()),
        parameters: Some(json!({"properties": {"message": {"description": "Contents."}}})),
    }];
    wrapper.render_prompt(&RenderRequest::new(messages, &functions))
}

#[test]
fn renders_a_small_conversation() {
    // Setup: a user event (kept raw), a call with thoughts, its result, a null-content call.
    let mut with_call = ChatMessage::new(Role::Assistant, "greet");
    with_call.function_call = Some(call("send_message", r#"{"message": "hello"}"#));
    let mut no_text = with_call.clone();
    no_text.content = None;
    let messages = vec![
        ChatMessage::new(Role::System, "SYS"),
        ChatMessage::new(Role::User, r#"{"message": "hi"}"#),
        with_call,
        ChatMessage::new(Role::Function, "OK"),
        no_text,
    ];
    // Exec
    let prompt = render(&DolphinWrapper::new(), &messages);
    // Check
    let call_json =
        "{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"message\": \"hello\"\n  }\n}";
    let expected = format!(
        "<|im_start|>system\nSYS\nPlease select the most suitable function and parameters from \
         the list of available functions below, based on the ongoing conversation. Provide your \
         response in JSON format.\nAvailable functions:\nsend_message:\n  description: Sends a \
         message.\n  params:\n    message: Contents.<|im_end|>\n<|im_start|>user\n\
         {{\"message\": \"hi\"}}<|im_end|>\n<|im_start|>assistant\ngreet\n{call_json}<|im_end|>\n\
         <|im_start|>assistant\nFUNCTION RETURN: OK\n<|im_start|>assistant\n{call_json}\
         <|im_end|>\n<|im_start|>assistant\n{{"
    );
    assert_eq!(prompt.ok(), Some(expected));
}

#[test]
fn grammar_variant_has_no_brace_and_asks_for_a_grammar() {
    let messages = vec![ChatMessage::new(Role::System, "SYS")];
    let grammar = DolphinWrapper::with_grammar();
    let prompt = render(&grammar, &messages);
    assert!(prompt
        .as_deref()
        .is_ok_and(|p| p.ends_with("<|im_end|>\n<|im_start|>assistant")));
    assert_eq!(
        grammar.grammar_style(),
        Some(GrammarStyle::InnerThoughtsInParams)
    );
    assert_eq!(DolphinWrapper::new().grammar_style(), None);
    assert!(!grammar.supports_first_message());
}

#[test]
fn tool_calls_and_tool_messages_render_like_function_ones() {
    // The reference ignored `tool_calls`; each call is rendered here.
    let mut tools = ChatMessage::new(Role::Assistant, "t");
    tools.tool_calls = Some(
        ["a", "b"]
            .map(|name| ToolCall {
                id: format!("call_{name}"),
                kind: "function".to_owned(),
                function: call(name, "{}"),
            })
            .to_vec(),
    );
    let messages = vec![
        ChatMessage::new(Role::System, "SYS"),
        tools,
        ChatMessage::new(Role::Tool, "done"),
    ];
    let prompt = render(&DolphinWrapper::new(), &messages).unwrap_or_default();
    let expected = "<|im_start|>assistant\nt\n{\n  \"function\": \"a\",\n  \"params\": {}\n}\n\
                    {\n  \"function\": \"b\",\n  \"params\": {}\n}<|im_end|>\n\
                    <|im_start|>assistant\nFUNCTION RETURN: done\n";
    assert!(prompt.contains(expected), "{prompt}");
}

#[test]
fn a_conversation_without_system_message_has_an_empty_system_turn() {
    let without = [ChatMessage::new(Role::User, "hi")];
    let with = [
        ChatMessage::new(Role::System, ""),
        ChatMessage::new(Role::User, "hi"),
    ];
    let prompt = render(&DolphinWrapper::new(), &without).unwrap();
    assert_eq!(prompt, render(&DolphinWrapper::new(), &with).unwrap());
    assert!(prompt.starts_with("<|im_start|>system\n"), "{prompt}");
}

#[test]
fn parses_a_reply_missing_its_opening_brace() {
    let reply = "\n  \"function\": \"send_message\",\n  \"params\": {\"inner_thoughts\": \"x\", \
                 \"message\": \"hi\", \"request_heartbeat\": true}\n}";
    let expected = AssistantMessage {
        content: None,
        reasoning: None,
        function_calls: vec![ParsedFunctionCall {
            name: "send_message".to_owned(),
            // No inner monologue: `inner_thoughts` stays an argument, as in the reference.
            arguments: json!({"inner_thoughts": "x", "message": "hi"}),
        }],
    };
    let wrapper = DolphinWrapper::new();
    assert_eq!(
        wrapper.parse_output(reply, false).ok(),
        Some(expected.clone())
    );
    let whole = format!("{{{reply}");
    assert_eq!(
        wrapper.parse_output(&whole, false).ok(),
        Some(expected.clone())
    );
    assert_eq!(
        DolphinWrapper::with_grammar()
            .parse_output(&whole, false)
            .ok(),
        Some(expected)
    );
}

#[test]
fn missing_function_or_params_is_a_missing_field() {
    for (raw, field) in [
        ("\"params\": {}}", "function"),
        ("\"function\": \"send_message\"}", "params"),
    ] {
        let error = DolphinWrapper::new().parse_output(raw, false);
        assert!(
            matches!(
                &error,
                Err(WrapperError::MissingField { field: got, raw_output })
                    if got == field && raw_output == &format!("{{{raw}")
            ),
            "{error:?}"
        );
    }
}
