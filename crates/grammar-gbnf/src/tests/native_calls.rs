//! The answer in a model's own tool-call syntax ([`GrammarStyle::NativeCall`]): the
//! grammar admits exactly one call wrapped the way the syntax says, and for plain-JSON
//! syntaxes the schema agrees with it.

use proxy_core::grammar::GrammarGenerator;
use proxy_core::NativeCallSyntax;

use super::*;

const HERMES: NativeCallSyntax = NativeCallSyntax::HERMES;
const LLAMA3: NativeCallSyntax = NativeCallSyntax::LLAMA3_JSON;

fn native(syntax: NativeCallSyntax) -> AnswerShape {
    GrammarStyle::NativeCall(syntax).into()
}

#[test]
fn hermes_tags_around_one_call_of_an_offered_function() {
    let (text, grammar) = generate(&memgpt_functions(), native(HERMES));
    for good in [
        "<tool_call>\n{\"name\": \"send_message\", \"arguments\": {\"message\": \"hi\"}}\n</tool_call>",
        "\n<tool_call>\n{\"name\": \"pause_heartbeats\", \"arguments\": {\"minutes\": 5}}\n</tool_call>",
    ] {
        assert!(accepts(&grammar, good), "{good}\n{text}");
    }
    for bad in [
        // No tags, the wrong key, an unknown function, thoughts, a wrong type, text after.
        "{\"name\": \"send_message\", \"arguments\": {\"message\": \"hi\"}}",
        "<tool_call>\n{\"name\": \"send_message\", \"parameters\": {\"message\": \"hi\"}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"send_email\", \"arguments\": {\"message\": \"hi\"}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"send_message\", \"arguments\": {\"inner_thoughts\": \"t\", \"message\": \"hi\"}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"pause_heartbeats\", \"arguments\": {\"minutes\": \"5\"}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"send_message\", \"arguments\": {\"message\": \"hi\"}}\n</tool_call> ok",
    ] {
        assert!(!accepts(&grammar, bad), "{bad}");
    }
    // Tags are no JSON: no schema can say them, so none is built.
    assert_eq!(
        GbnfGenerator.generate_schema(&memgpt_functions(), native(HERMES)),
        Ok(None)
    );
}

#[test]
fn llama3_plain_json_calls_agree_with_their_schema() {
    let functions = memgpt_functions();
    let texts = [
        r#"{"name": "send_message", "parameters": {"message": "hi"}}"#,
        r#"{"name": "pause_heartbeats", "parameters": {"minutes": 5}}"#,
        r#"{"name": "send_message", "arguments": {"message": "hi"}}"#,
        r#"{"name": "send_message", "parameters": {"message": "hi", "extra": 1}}"#,
        r#"{"name": "send_message", "parameters": {}}"#,
        r#"{"name": "nope", "parameters": {}}"#,
        r#"{"function": "send_message", "params": {"message": "hi"}}"#,
    ];
    let schema = GbnfGenerator
        .generate_schema(&functions, native(LLAMA3))
        .unwrap()
        .unwrap();
    assert_eq!(
        schema["anyOf"][0]["required"],
        json!(["name", "parameters"]),
        "{schema}"
    );
    answer_schema::assert_agree(&functions, native(LLAMA3), &texts);
    let bounded = AnswerShape {
        style: GrammarStyle::NativeCall(LLAMA3),
        max_thought_chars: None,
        max_argument_chars: Some(3),
    };
    let (_, grammar) = generate(&functions, bounded);
    assert!(accepts(&grammar, texts[0]));
    assert!(!accepts(
        &grammar,
        r#"{"name": "send_message", "parameters": {"message": "hiya"}}"#
    ));
}
