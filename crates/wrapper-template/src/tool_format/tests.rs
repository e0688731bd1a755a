//! One test per behaviour of [`ToolCallFormat`].

use super::*;
use prompt_kit::ParsedFunctionCall;
use serde_json::{json, Value};

fn call(name: &str, arguments: Value) -> ParsedFunctionCall {
    ParsedFunctionCall {
        name: name.to_owned(),
        arguments,
    }
}

fn names(message: &AssistantMessage) -> Vec<&str> {
    message
        .function_calls
        .iter()
        .map(|call| call.name.as_str())
        .collect()
}

#[test]
fn names_round_trip_and_unknown_names_list_the_valid_ones() {
    for format in ToolCallFormat::ALL {
        assert_eq!(ToolCallFormat::from_name(format.name()), Ok(format));
    }
    assert_eq!(
        ToolCallFormat::from_name(" Llama3-JSON "),
        Ok(ToolCallFormat::Llama3Json)
    );
    let error = ToolCallFormat::from_name("qwen").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown tool-call format `qwen`; available: hermes, llama3-json, mistral, json"
    );
}

#[test]
fn call_syntaxes_are_the_prompt_kit_constants() {
    assert_eq!(
        ToolCallFormat::Hermes.call_syntax(),
        NativeCallSyntax::HERMES
    );
    assert_eq!(
        ToolCallFormat::Llama3Json.call_syntax(),
        NativeCallSyntax::LLAMA3_JSON
    );
    let mistral = ToolCallFormat::Mistral.call_syntax();
    assert_eq!((mistral.open, mistral.close), ("[TOOL_CALLS][", "]"));
    assert!(ToolCallFormat::Json.call_syntax().is_plain_json());
}

#[test]
fn the_grammar_syntax_of_each_format_reads_back_as_one_call() {
    for format in ToolCallFormat::ALL {
        let syntax = format.call_syntax();
        let raw = format!(
            "{}{{\"name\": \"f\", \"{}\": {{\"x\": 1}}}}{}",
            syntax.open, syntax.arguments_key, syntax.close
        );
        let message = format.parse_reply(&raw).unwrap();
        assert_eq!(
            message.function_calls,
            [call("f", json!({"x": 1}))],
            "{format:?}"
        );
        assert_eq!(message.content, None, "{format:?}");
    }
}

#[test]
fn detection_reads_the_templates_markers() {
    let qwen = "{%- for tool_call in message.tool_calls %}{{- '<tool_call>\\n{\"name\": \"' }}";
    assert_eq!(ToolCallFormat::detect(qwen), Some(ToolCallFormat::Hermes));
    let mistral = "{{- \"[TOOL_CALLS] [\" }}{%- for tool in message.tool_calls %}";
    assert_eq!(
        ToolCallFormat::detect(mistral),
        Some(ToolCallFormat::Mistral)
    );
    let llama = "{{- '{\"name\": \"' + tool_call.name + '\", ' }}{{- '\"parameters\": ' }}\
                 {{- '<|start_header_id|>ipython<|end_header_id|>' }}";
    assert_eq!(
        ToolCallFormat::detect(llama),
        Some(ToolCallFormat::Llama3Json)
    );
    let generic = "{%- if message.tool_calls %}{{ message.tool_calls | tojson }}{%- endif %}";
    assert_eq!(ToolCallFormat::detect(generic), Some(ToolCallFormat::Json));
    let plain = "{% for message in messages %}{{ message.content }}{% endfor %}";
    assert_eq!(ToolCallFormat::detect(plain), None);
}

#[test]
fn hermes_reads_several_calls_in_order() {
    let raw = "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n\
               <tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call><|im_end|>";
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(
        message.function_calls,
        [call("a", json!({"x": 1})), call("b", json!({}))]
    );
    assert_eq!(message.content, None);
}

#[test]
fn text_before_the_first_call_is_content() {
    let raw = "  Let me check.\n<tool_call>{\"name\": \"weather\", \"arguments\": {\"city\": \"Oslo\"}}</tool_call>";
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(message.content.as_deref(), Some("Let me check."));
    assert_eq!(names(&message), ["weather"]);
}

#[test]
fn an_unclosed_last_tag_is_read_to_the_end() {
    let raw = "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n<|im_end|>";
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(message.function_calls, [call("a", json!({"x": 1}))]);
}

#[test]
fn think_is_split_off_as_reasoning() {
    let raw = "<think>\nThe user wants the weather.\n</think>\n\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {}}\n</tool_call>";
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(
        message.reasoning.as_deref(),
        Some("The user wants the weather.")
    );
    assert_eq!(message.content, None);
    assert_eq!(names(&message), ["weather"]);
}

#[test]
fn an_unclosed_think_is_reasoning_with_no_answer() {
    let message = ToolCallFormat::Hermes
        .parse_reply("<think>Hmm, <tool_call> maybe")
        .unwrap();
    assert_eq!(message.reasoning.as_deref(), Some("Hmm, <tool_call> maybe"));
    assert_eq!(message.content, None);
    assert!(message.function_calls.is_empty());
}

#[test]
fn a_lone_closing_think_ends_reasoning_begun_in_the_prompt() {
    let message = ToolCallFormat::Json
        .parse_reply("I will answer directly.\n</think>\n\nParis.")
        .unwrap();
    assert_eq!(
        message.reasoning.as_deref(),
        Some("I will answer directly.")
    );
    assert_eq!(message.content.as_deref(), Some("Paris."));
}

#[test]
fn a_malformed_call_is_an_error_with_the_raw_output() {
    let raw = "<tool_call>\nthis is not json at all\n</tool_call>";
    let error = ToolCallFormat::Hermes.parse_reply(raw).unwrap_err();
    assert!(
        matches!(&error, WrapperError::UnparseableOutput { raw_output, .. } if raw_output == raw),
        "{error:?}"
    );
    let raw = "<tool_call>{\"arguments\": {}}</tool_call>";
    let error = ToolCallFormat::Hermes.parse_reply(raw).unwrap_err();
    assert!(
        matches!(&error, WrapperError::MissingField { field, raw_output } if field == "name" && raw_output == raw),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"name\""), "{error}");
}

#[test]
fn slightly_broken_json_is_repaired() {
    // Cut off before the closing braces, with a trailing comma.
    let raw = "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1,";
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(message.function_calls, [call("a", json!({"x": 1}))]);
}

#[test]
fn arguments_given_as_a_json_string_are_read() {
    let raw = r#"<tool_call>{"name": "a", "arguments": "{\"x\": 1}"}</tool_call>"#;
    let message = ToolCallFormat::Hermes.parse_reply(raw).unwrap();
    assert_eq!(message.function_calls, [call("a", json!({"x": 1}))]);
}

#[test]
fn the_parameters_key_is_read() {
    let raw = r#"{"name": "weather", "parameters": {"city": "Oslo"}}"#;
    let message = ToolCallFormat::Llama3Json.parse_reply(raw).unwrap();
    assert_eq!(
        message.function_calls,
        [call("weather", json!({"city": "Oslo"}))]
    );
    let message = ToolCallFormat::Json.parse_reply(raw).unwrap();
    assert_eq!(names(&message), ["weather"]);
}

#[test]
fn llama3_reads_a_python_tag_and_several_objects() {
    let raw = "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"y\": 2}}\n{\"type\": \"function\", \"name\": \"c\", \"parameters\": {}}<|eom_id|>";
    let message = ToolCallFormat::Llama3Json.parse_reply(raw).unwrap();
    assert_eq!(names(&message), ["a", "b", "c"]);
    assert_eq!(message.function_calls[1].arguments, json!({"y": 2}));
    assert_eq!(message.content, None);
}

#[test]
fn llama3_stops_at_text_after_the_calls() {
    let raw = "Calling it.\n{\"name\": \"a\", \"parameters\": {}}\nDone, see {\"note\": 1}";
    let message = ToolCallFormat::Llama3Json.parse_reply(raw).unwrap();
    assert_eq!(names(&message), ["a"]);
    assert_eq!(message.content.as_deref(), Some("Calling it."));
}

#[test]
fn a_python_tag_without_json_is_an_error() {
    let raw = "<|python_tag|>";
    assert!(ToolCallFormat::Llama3Json.parse_reply(raw).is_err());
}

#[test]
fn json_that_is_no_call_is_plain_text() {
    let raw = "{\"city\": \"Oslo\"}";
    let message = ToolCallFormat::Json.parse_reply(raw).unwrap();
    assert_eq!(message.content.as_deref(), Some(raw));
    assert!(message.function_calls.is_empty());
}

#[test]
fn mistral_reads_a_json_array_of_calls() {
    let raw = "Sure.[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": {}}]</s>";
    let message = ToolCallFormat::Mistral.parse_reply(raw).unwrap();
    assert_eq!(
        message.function_calls,
        [call("a", json!({"x": 1})), call("b", json!({}))]
    );
    assert_eq!(message.content.as_deref(), Some("Sure."));
}

#[test]
fn mistral_v11_reads_repeated_named_calls() {
    let raw = "[TOOL_CALLS]a[ARGS]{\"x\": 1}[TOOL_CALLS]b[CALL_ID]abc123XYZ[ARGS]{}[TOOL_CALLS]c{\"z\": 3}";
    let message = ToolCallFormat::Mistral.parse_reply(raw).unwrap();
    assert_eq!(
        message.function_calls,
        [
            call("a", json!({"x": 1})),
            call("b", json!({})),
            call("c", json!({"z": 3}))
        ]
    );
}

#[test]
fn mistral_with_no_call_after_the_token_is_an_error() {
    for raw in ["[TOOL_CALLS][]", "[TOOL_CALLS]", "[TOOL_CALLS] not a call"] {
        assert!(ToolCallFormat::Mistral.parse_reply(raw).is_err(), "{raw:?}");
    }
}

#[test]
fn no_call_is_plain_text_content_trimmed() {
    for format in ToolCallFormat::ALL {
        let message = format.parse_reply("\n  Hello there!  \n").unwrap();
        assert_eq!(
            message.content.as_deref(),
            Some("Hello there!"),
            "{format:?}"
        );
        assert!(message.function_calls.is_empty());
        assert_eq!(message.reasoning, None);
    }
    let message = ToolCallFormat::Hermes.parse_reply("Hi!<|im_end|>").unwrap();
    assert_eq!(message.content.as_deref(), Some("Hi!"));
}

#[test]
fn a_reply_of_only_whitespace_has_no_content() {
    for format in ToolCallFormat::ALL {
        let message = format.parse_reply(" \n\t ").unwrap();
        assert_eq!(message, AssistantMessage::text(None), "{format:?}");
    }
}

#[test]
fn plain_json_reads_an_array_of_calls() {
    let raw =
        "[{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": \"{}\"}]";
    let message = ToolCallFormat::Json.parse_reply(raw).unwrap();
    assert_eq!(
        message.function_calls,
        [call("a", json!({"x": 1})), call("b", json!({}))]
    );
    assert_eq!(message.content, None);
}
