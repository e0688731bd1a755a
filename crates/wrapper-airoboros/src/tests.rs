use prompt_kit::chat::{FunctionCall, FunctionSchema, ParsedFunctionCall, Role, ToolCall};
use prompt_kit::{AssistantMessage, GrammarStyle, PromptWrapper};
use serde_json::json;

use super::*;

fn send_message_schema() -> Vec<FunctionSchema> {
    vec![FunctionSchema {
        name: "send_message".to_owned(),
        description: Some("Sends a message.".to_owned()),
        parameters: Some(json!({"type": "object", "properties": {
            "message": {"type": "string", "description": "Contents."}
        }})),
    }]
}

fn assistant_call(thoughts: Option<&str>, arguments: &str) -> ChatMessage {
    let mut message = ChatMessage::new(Role::Assistant, "");
    message.content = thoughts.map(|text| prompt_kit::MessageContent::Text(text.to_owned()));
    message.function_call = Some(FunctionCall {
        name: "send_message".to_owned(),
        arguments: arguments.to_owned(),
    });
    message
}

const LISTING: &str = "\nPlease select the most suitable function and parameters from the list \
    of available functions below, based on the ongoing conversation. Provide your response in \
    JSON format.\nAvailable functions:\nsend_message:\n  description: Sends a message.\n  \
    params:\n    inner_thoughts: Deep inner monologue private to you only.\n    message: \
    Contents.";

#[test]
fn renders_a_small_conversation() {
    // Setup
    let messages = vec![
        ChatMessage::new(Role::System, "SYS"),
        ChatMessage::new(Role::User, r#"{"type": "user_message", "message": "hi"}"#),
        assistant_call(Some("greet"), r#"{"message": "hello"}"#),
        ChatMessage::new(Role::Function, r#"{"status": "OK"}"#),
    ];
    let functions = send_message_schema();
    // Exec
    let prompt = AiroborosWrapper::new().render_prompt(&RenderRequest::new(&messages, &functions));
    // Check
    let expected = format!(
        "SYS{LISTING}\n### INPUT\nUSER: hi\nASSISTANT:\n{{\n  \"function\": \"send_message\",\n  \
         \"params\": {{\n    \"inner_thoughts\": \"greet\",\n    \"message\": \"hello\"\n  }}\n}}\n\
         FUNCTION RETURN: {{\"status\": \"OK\"}}\n### RESPONSE\nASSISTANT:\n{{\n  \"function\":"
    );
    assert_eq!(prompt.ok(), Some(expected));
}

#[test]
fn grammar_variant_ends_at_the_assistant_label() {
    let messages = vec![ChatMessage::new(Role::System, "SYS")];
    let wrapper = AiroborosWrapper::with_grammar();
    let prompt = wrapper.render_prompt(&RenderRequest::new(&messages, &[]));
    assert!(prompt
        .as_deref()
        .is_ok_and(|p| p.ends_with("\n### INPUT\n### RESPONSE\nASSISTANT:")));
    assert_eq!(
        wrapper.grammar_style(),
        Some(GrammarStyle::InnerThoughtsInParams)
    );
    assert_eq!(AiroborosWrapper::new().grammar_style(), None);
    assert!(!wrapper.supports_first_message());
}

#[test]
fn tool_calls_and_tool_messages_render_like_function_ones() {
    // The reference ignored `tool_calls` (the assistant turn showed no call).
    let mut assistant = ChatMessage::new(Role::Assistant, "think");
    assistant.tool_calls = Some(vec![ToolCall {
        id: "call_1".to_owned(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: "send_message".to_owned(),
            arguments: r#"{"message": "hello"}"#.to_owned(),
        },
    }]);
    let with_tools = vec![
        ChatMessage::new(Role::System, "SYS"),
        assistant,
        ChatMessage::new(Role::Tool, "OK"),
    ];
    let with_functions = vec![
        ChatMessage::new(Role::System, "SYS"),
        assistant_call(Some("think"), r#"{"message": "hello"}"#),
        ChatMessage::new(Role::Function, "OK"),
    ];
    let wrapper = AiroborosWrapper::new();
    let render = |messages: &[ChatMessage]| {
        wrapper
            .render_prompt(&RenderRequest::new(messages, &[]))
            .ok()
    };
    assert!(render(&with_tools).is_some());
    assert_eq!(render(&with_tools), render(&with_functions));
}

#[test]
fn null_content_and_names_on_assistant_and_user_messages() {
    let mut user = ChatMessage::new(Role::User, "hey");
    user.name = Some(" bob ".to_owned());
    let mut assistant = assistant_call(None, "{}");
    assistant.name = Some("sam".to_owned());
    // As in the reference, an assistant text without a call is not shown.
    let inner_only = ChatMessage::new(Role::Assistant, "only thinking");
    let messages = vec![
        ChatMessage::new(Role::System, "SYS"),
        user,
        assistant,
        inner_only,
    ];
    let prompt =
        AiroborosWrapper::with_grammar().render_prompt(&RenderRequest::new(&messages, &[]));
    let expected = "\nUSER (bob): hey\nASSISTANT (sam):\n{\n  \"function\": \"send_message\",\n  \
                    \"params\": {\n    \"inner_thoughts\": null\n  }\n}\nASSISTANT:\n### RESPONSE";
    assert!(
        prompt.as_deref().is_ok_and(|p| p.contains(expected)),
        "{prompt:?}"
    );
}

#[test]
fn a_conversation_without_system_message_has_an_empty_system_prompt() {
    let wrapper = AiroborosWrapper::new();
    let without = [ChatMessage::new(Role::User, "hi")];
    let with = [
        ChatMessage::new(Role::System, ""),
        ChatMessage::new(Role::User, "hi"),
    ];
    let prompt = wrapper
        .render_prompt(&RenderRequest::new(&without, &[]))
        .unwrap();
    assert_eq!(
        prompt,
        wrapper
            .render_prompt(&RenderRequest::new(&with, &[]))
            .unwrap()
    );
    assert!(prompt.contains("\nUSER: hi"), "{prompt}");
}

#[test]
fn parses_a_reply_with_or_without_the_prefix() {
    let expected = AssistantMessage {
        content: Some("hm".to_owned()),
        reasoning: None,
        function_calls: vec![ParsedFunctionCall {
            name: "send_message".to_owned(),
            arguments: json!({"message": "hi"}),
        }],
    };
    let continuation = r#" "send_message", "params": {"inner_thoughts": "hm", "message": "hi", "request_heartbeat": true}}"#;
    let whole = format!("{ASSISTANT_PREFIX_EXTRA}{continuation}");
    let wrapper = AiroborosWrapper::new();
    assert_eq!(
        wrapper.parse_output(continuation, false).ok(),
        Some(expected.clone())
    );
    assert_eq!(
        wrapper.parse_output(&whole, false).ok(),
        Some(expected.clone())
    );
    // The grammar variant re-attaches nothing: its answers are whole objects.
    let grammar = AiroborosWrapper::with_grammar();
    assert_eq!(
        grammar
            .parse_output(&format!("{{\n  \"function\":{continuation}"), false)
            .ok(),
        Some(expected)
    );
}

#[test]
fn missing_function_or_params_is_a_missing_field() {
    let wrapper = AiroborosWrapper::with_grammar();
    for (raw, field) in [
        (r#"{"params": {"message": "hi"}}"#, "function"),
        (r#"{"function": "send_message"}"#, "params"),
    ] {
        assert!(
            matches!(
                wrapper.parse_output(raw, false),
                Err(WrapperError::MissingField { field: ref got, .. }) if got == field
            ),
            "{raw}"
        );
    }
    // With the prefix re-attached, a reply that closes at once has no params.
    let prefixed = AiroborosWrapper::new().parse_output(" \"send_message\"}", false);
    assert!(matches!(
        prefixed,
        Err(WrapperError::MissingField { ref field, ref raw_output })
            if field == "params" && raw_output.starts_with(ASSISTANT_PREFIX_EXTRA)
    ));
}
