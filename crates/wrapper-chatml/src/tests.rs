use prompt_kit::chat::{FunctionCall, ParsedFunctionCall, ToolCall};
use prompt_kit::{
    find_wrapper, AssistantMessage, ChatMessage, FunctionSchema, GrammarStyle, RenderRequest, Role,
    WrapperError,
};
use serde_json::json;

const NAMES: [&str; 10] = [
    "chatml",
    "chatml-grammar",
    "chatml-noforce",
    "chatml-noforce-grammar",
    "chatml-noforce-roles",
    "chatml-noforce-roles-grammar",
    "chatml-hints",
    "chatml-hints-grammar",
    "chatml-noforce-hints",
    "chatml-noforce-hints-grammar",
];

fn wrapper(name: &str) -> &'static dyn prompt_kit::PromptWrapper {
    find_wrapper(name).unwrap()
}

fn functions() -> Vec<FunctionSchema> {
    vec![FunctionSchema {
        name: "send_message".into(),
        description: Some("Sends a message to the human user.".into()),
        parameters: Some(json!({
            "type": "object",
            "properties": {"message": {"type": "string", "description": "Message contents."}},
            "required": ["message"]
        })),
    }]
}

fn call(name: &str, arguments: &str) -> FunctionCall {
    FunctionCall {
        name: name.into(),
        arguments: arguments.into(),
    }
}

#[test]
fn all_ten_names_are_registered_with_their_shape() {
    for name in NAMES {
        let wrapper = wrapper(name);
        let noforce = name.contains("noforce");
        let expected_style = match (name.contains("grammar"), noforce) {
            (false, _) => None,
            (true, false) => Some(GrammarStyle::InnerThoughtsInParams),
            (true, true) => Some(GrammarStyle::InnerThoughtsTopLevel),
        };
        assert_eq!(wrapper.grammar_style(), expected_style, "{name}");
        assert_eq!(wrapper.supports_first_message(), !noforce, "{name}");
        assert!(wrapper.stop_sequences().is_empty(), "{name}");
    }
}

#[test]
fn small_conversation_renders_byte_for_byte() {
    let messages = vec![
        ChatMessage::new(Role::System, "You are Sam."),
        ChatMessage::new(Role::User, r#"{"type": "user_message", "message": "hi"}"#),
    ];
    let functions = functions();
    let prompt = wrapper("chatml").render_prompt(&RenderRequest::new(&messages, &functions));
    let expected = "<|im_start|>system\nYou are Sam.\nPlease select the most suitable function and parameters from the list of available functions below, based on the ongoing conversation. Provide your response in JSON format.\nAvailable functions:\nsend_message:\n  description: Sends a message to the human user.\n  params:\n    inner_thoughts: Deep inner monologue private to you only.\n    message: Message contents.<|im_end|>\n<|im_start|>user\n{\n  \"type\": \"user_message\",\n  \"message\": \"hi\"\n}<|im_end|>\n<|im_start|>assistant\n{\n  \"function\":";
    assert_eq!(prompt.unwrap(), expected);
    let grammar = wrapper("chatml-grammar")
        .render_prompt(&RenderRequest::new(&messages, &functions))
        .unwrap();
    assert!(grammar.ends_with("}<|im_end|>\n<|im_start|>assistant"));
}

#[test]
fn tool_calls_and_tool_messages_render_like_functions() {
    let mut assistant = ChatMessage::new(Role::Assistant, "Save it, then say so.");
    assistant.tool_calls = Some(vec![
        ToolCall {
            id: "call_1".into(),
            kind: "function".into(),
            function: call(
                "core_memory_append",
                r#"{"name": "human", "content": "likes tea"}"#,
            ),
        },
        ToolCall {
            id: "call_2".into(),
            kind: "function".into(),
            function: call("send_message", r#"{"message": "Noted!"}"#),
        },
    ]);
    let mut tool = ChatMessage::new(Role::Tool, r#"{"status": "OK"}"#);
    tool.tool_call_id = Some("call_1".into());
    let messages = vec![ChatMessage::new(Role::System, "S"), assistant, tool];
    let prompt = wrapper("chatml")
        .render_prompt(&RenderRequest::new(&messages, &[]))
        .unwrap();
    let expected_turns = "<|im_start|>assistant\n{\n  \"function\": \"core_memory_append\",\n  \"params\": {\n    \"inner_thoughts\": \"Save it, then say so.\",\n    \"name\": \"human\",\n    \"content\": \"likes tea\"\n  }\n}\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Save it, then say so.\",\n    \"message\": \"Noted!\"\n  }\n}<|im_end|>\n<|im_start|>assistant\nFUNCTION RETURN:\n{\n  \"status\": \"OK\"\n}<|im_end|>";
    assert!(prompt.contains(expected_turns), "{prompt}");
    let roles = wrapper("chatml-noforce-roles")
        .render_prompt(&RenderRequest::new(&messages, &[]))
        .unwrap();
    assert!(roles.contains("<|im_start|>tool\n{\n  \"status\": \"OK\"\n}<|im_end|>"));
}

#[test]
fn custom_role_names_are_used_for_user_and_assistant() {
    let mut user = ChatMessage::new(Role::User, "Hello team");
    user.name = Some(" Product_Manager ".into());
    let messages = vec![ChatMessage::new(Role::System, "S"), user];
    let prompt = wrapper("chatml-noforce")
        .render_prompt(&RenderRequest::new(&messages, &[]))
        .unwrap();
    assert!(prompt.contains("\n<|im_start|>product_manager\nHello team<|im_end|>\n"));
}

#[test]
fn a_conversation_without_system_message_has_an_empty_system_turn() {
    let without = [ChatMessage::new(Role::User, "hi")];
    let with = [
        ChatMessage::new(Role::System, ""),
        ChatMessage::new(Role::User, "hi"),
    ];
    let prompt = wrapper("chatml")
        .render_prompt(&RenderRequest::new(&without, &[]))
        .unwrap();
    assert_eq!(
        prompt,
        wrapper("chatml")
            .render_prompt(&RenderRequest::new(&with, &[]))
            .unwrap()
    );
    assert!(prompt.starts_with("<|im_start|>system\n"), "{prompt}");
    assert!(
        prompt.contains("<|im_start|>user\nhi<|im_end|>"),
        "{prompt}"
    );
}

#[test]
fn forced_reply_continues_the_prefix() {
    let raw = " \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Greet.\",\n    \"message\": \"Hi!\",\n    \"request_heartbeat\": true\n  }\n}";
    let message = wrapper("chatml").parse_output(raw, false).unwrap();
    assert_eq!(
        message,
        AssistantMessage {
            content: Some("Greet.".into()),
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({"message": "Hi!"}),
            }],
        }
    );
}

#[test]
fn noforce_reply_may_skip_the_call() {
    let message = wrapper("chatml-noforce")
        .parse_output(" \"Nothing to say yet.\",\n  \"function\": null\n}", false)
        .unwrap();
    assert_eq!(message.content.as_deref(), Some("Nothing to say yet."));
    assert_eq!(message.first_call(), None);
    let message = wrapper("chatml-noforce-grammar")
        .parse_output(
            r#"{"inner_thoughts": "hm", "function": "none", "params": {}}"#,
            false,
        )
        .unwrap();
    assert_eq!(message.first_call(), None);
}

#[test]
fn reply_without_params_is_a_missing_field_error_with_the_text() {
    let error = wrapper("chatml-grammar")
        .parse_output(r#"{"function": "send_message"}"#, false)
        .unwrap_err();
    match error {
        WrapperError::MissingField { field, raw_output } => {
            assert_eq!(field, "params");
            assert_eq!(raw_output, r#"{"function": "send_message"}"#);
        }
        other => panic!("unexpected error {other}"),
    }
    let error = wrapper("chatml").parse_output("", false).unwrap_err();
    assert_eq!(error.kind(), prompt_kit::ErrorKind::OutputParsingError);
}

/// Two answers as a model continues the forced prefix, the second cut by the
/// `<|im_end|>` stop (so its braces were closed).
const TWO_CALLS: &str = " \"core_memory_append\",\n  \"params\": {\n    \"inner_thoughts\": \"Save it, then say so.\",\n    \"name\": \"human\",\n    \"content\": \"likes tea\"\n  }\n}\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Save it, then say so.\",\n    \"message\": \"Noted!\",\n    \"request_heartbeat\": true\n  }\n}";

fn names(message: &AssistantMessage) -> Vec<&str> {
    message
        .function_calls
        .iter()
        .map(|call| call.name.as_str())
        .collect()
}

#[test]
fn a_reply_with_two_answers_is_two_calls_when_parallel_calls_are_read() {
    let message = wrapper("chatml")
        .parse_parallel_output(TWO_CALLS, false)
        .unwrap();
    assert_eq!(names(&message), ["core_memory_append", "send_message"]);
    assert_eq!(
        message.content.as_deref(),
        Some("Save it, then say so."),
        "the thoughts every call repeats are the content once"
    );
    assert_eq!(
        message.function_calls[0].arguments,
        json!({"name": "human", "content": "likes tea"})
    );
    assert_eq!(
        message.function_calls[1].arguments,
        json!({"message": "Noted!"}),
        "each call is cleaned as one would be"
    );
    // Read as one answer (the reference's parse), the first object is the call.
    let one = wrapper("chatml").parse_output(TWO_CALLS, false).unwrap();
    assert_eq!(names(&one), ["core_memory_append"]);
}

#[test]
fn one_answer_reads_the_same_either_way() {
    let raw = " \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Greet.\",\n    \"message\": \"Hi!\"\n  }\n}<|im_end|>";
    for name in NAMES {
        let chatml = wrapper(name);
        let parallel = chatml
            .parse_parallel_output(raw, false)
            .map_err(|e| e.to_string());
        let one = chatml.parse_output(raw, false).map_err(|e| e.to_string());
        assert_eq!(parallel, one, "{name}");
    }
}

#[test]
fn noforce_answers_may_mix_thoughts_and_calls() {
    let raw = " \"Look it up first.\",\n  \"function\": null\n}\n{\n  \"inner_thoughts\": \"Then tell her.\",\n  \"function\": \"send_message\",\n  \"params\": {\"message\": \"Found it.\"}\n}";
    let message = wrapper("chatml-noforce")
        .parse_parallel_output(raw, false)
        .unwrap();
    assert_eq!(names(&message), ["send_message"]);
    assert_eq!(
        message.content.as_deref(),
        Some("Look it up first.\nThen tell her.")
    );
}

#[test]
fn a_json_array_of_answers_is_read_too() {
    let raw = r#"[{"function": "send_message", "params": {"inner_thoughts": "a", "message": "one"}}, {"function": "send_message", "params": {"inner_thoughts": "b", "message": "two"}}]"#;
    let message = wrapper("chatml-grammar")
        .parse_parallel_output(raw, false)
        .unwrap();
    assert_eq!(names(&message), ["send_message", "send_message"]);
    assert_eq!(message.content.as_deref(), Some("a\nb"));
}

#[test]
fn noforce_replies_that_restart_the_seeded_answer_are_read_as_the_answer() {
    let answer = "{\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\", \"request_heartbeat\": true}}";
    for name in [
        "chatml-noforce",
        "chatml-noforce-roles",
        "chatml-noforce-hints",
    ] {
        for raw in [
            format!(" {answer}<|im_end|>"),
            format!("```json\n{answer}\n```<|im_end|>"),
            format!("```\n{answer}\n```\nHope that helps."),
        ] {
            let message = wrapper(name).parse_output(&raw, false).unwrap();
            assert_eq!(
                message,
                AssistantMessage::with_call(
                    Some("I should greet.".into()),
                    ParsedFunctionCall {
                        name: "send_message".into(),
                        arguments: json!({"message": "hi"}),
                    }
                ),
                "{name}: {raw:?}"
            );
        }
    }
}
