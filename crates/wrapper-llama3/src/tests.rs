use prompt_kit::chat::{FunctionCall, ParsedFunctionCall, ToolCall};
use prompt_kit::inner_monologue::FIRST_PREFIX_HINT;
use prompt_kit::{
    find_wrapper, AssistantMessage, ChatMessage, GrammarStyle, PromptWrapper, RenderRequest, Role,
    WrapperError,
};
use serde_json::json;

fn wrapper(name: &str) -> &'static dyn PromptWrapper {
    find_wrapper(name).unwrap()
}

fn conversation() -> Vec<ChatMessage> {
    let mut assistant = ChatMessage::new(Role::Assistant, "Greet.");
    assistant.tool_calls = Some(vec![ToolCall {
        id: "call_1".into(),
        kind: "function".into(),
        function: FunctionCall {
            name: "send_message".into(),
            arguments: r#"{"message": "Hi"}"#.into(),
        },
    }]);
    let mut tool = ChatMessage::new(Role::Tool, r#"{"status": "OK"}"#);
    tool.tool_call_id = Some("call_1".into());
    let mut user = ChatMessage::new(Role::User, "hello");
    user.name = Some("BRAD".into());
    vec![ChatMessage::new(Role::System, "S"), assistant, tool, user]
}

#[test]
fn names_are_registered_with_their_shape() {
    assert_eq!(wrapper("llama3").grammar_style(), None);
    for name in ["llama3-grammar", "llama3-hints-grammar"] {
        assert_eq!(
            wrapper(name).grammar_style(),
            Some(GrammarStyle::InnerThoughtsInParams)
        );
    }
    for name in ["llama3", "llama3-grammar", "llama3-hints-grammar"] {
        assert!(wrapper(name).supports_first_message());
        assert_eq!(wrapper(name).stop_sequences(), ["<|eot_id|>".to_owned()]);
    }
}

#[test]
fn conversation_renders_with_the_reference_quirks() {
    let messages = conversation();
    let prompt = wrapper("llama3")
        .render_prompt(&RenderRequest::new(&messages, &[]))
        .unwrap();
    let expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS\nPlease select the most suitable function and parameters from the list of available functions below, based on the ongoing conversation. Provide your response in JSON format.\nAvailable functions:<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Greet.\",\n    \"message\": \"Hi\"\n  }\n}<|eot_id|>\n<|start_header_id|>assistant\nFUNCTION RETURN:\n{\n  \"status\": \"OK\"\n}<|eot_id|>\n<|start_header_id|>brad<|end_header_id|>\n\nhello<|eot_id|>\n<|start_header_id|>assistant\n\n\n{\n  \"function\":";
    assert_eq!(prompt, expected);
}

#[test]
fn hints_on_the_first_message() {
    let messages = conversation();
    let mut request = RenderRequest::new(&messages, &[]);
    request.first_message = true;
    let prompt = wrapper("llama3-hints-grammar")
        .render_prompt(&request)
        .unwrap();
    assert!(prompt.ends_with(&format!(
        "<|start_header_id|>assistant\n\n\n{FIRST_PREFIX_HINT}"
    )));
}

#[test]
fn reply_with_trailing_end_of_turn_parses() {
    let raw = " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Hi.\", \"message\": \"Hello\"}\n}<|eot_id|>\n";
    let message = wrapper("llama3").parse_output(raw, false).unwrap();
    assert_eq!(
        message,
        AssistantMessage {
            content: Some("Hi.".into()),
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({"message": "Hello"}),
            }],
        }
    );
    let first = wrapper("llama3")
        .parse_output(
            "\n  \"params\": {\"inner_thoughts\": \"a\", \"message\": \"b\"}}",
            true,
        )
        .unwrap();
    assert_eq!(
        first
            .function_calls
            .into_iter()
            .next()
            .map(|call| call.name)
            .as_deref(),
        Some("send_message")
    );
}

#[test]
fn no_system_message_renders_and_an_unparseable_reply_is_an_error() {
    let without = [ChatMessage::new(Role::User, "hi")];
    let with = [
        ChatMessage::new(Role::System, ""),
        ChatMessage::new(Role::User, "hi"),
    ];
    let prompt = wrapper("llama3")
        .render_prompt(&RenderRequest::new(&without, &[]))
        .unwrap();
    assert_eq!(
        prompt,
        wrapper("llama3")
            .render_prompt(&RenderRequest::new(&with, &[]))
            .unwrap()
    );
    let error = wrapper("llama3-grammar")
        .parse_output("I'd rather chat.", false)
        .unwrap_err();
    assert!(matches!(error, WrapperError::UnparseableOutput { .. }));
}
