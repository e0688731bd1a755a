//! Reading the model's reply (the reference's `output_to_chat_completion_response`).

use prompt_kit::inner_monologue::{
    clean_function_args, forced_call, optional_call, read_seeded_reply, reply_json,
    restarted_answer, thoughts_text, ForcedCall, OptionalCall, INNER_THOUGHTS_KWARG,
};
use prompt_kit::parallel_calls::parse_answers;
use prompt_kit::{AssistantMessage, ParsedFunctionCall, WrapperError};
use serde_json::Value;

use crate::definition::WrapperDefinition;

/// Parses `{"function": …, "params": {…}}` with the inner thoughts at the top level
/// or, failing that, inside `params`.
///
/// - The assistant prefix the prompt ended with is put back first, and malformed JSON
///   is repaired. A markdown code fence the model opened right after the prefix is
///   taken away ([`read_seeded_reply`]), and an answer object written where the
///   top-level thoughts belong (the model repeated a seeded `{"inner_thoughts":`) is
///   read as the answer ([`restarted_answer`]).
/// - A `function` that is itself an object (the model nested the call) is unwrapped.
/// - With `clean_function_args`, `request_heartbeat` is dropped from `send_message`
///   and `inner_thoughts` removed from the arguments. The reference then took the
///   content from `params` only, losing top-level thoughts; here top-level thoughts
///   win, as they do without cleaning.
/// - An answer of inner thoughts alone (`function` absent, `null` or `"none"`), which
///   the top-level grammar allows, is a message without a call (the reference failed
///   with a `KeyError`).
/// - No inner thoughts at all gives no content (the reference gave `""`).
pub(crate) fn parse_output(
    definition: &WrapperDefinition,
    raw_output: &str,
    first_message: bool,
) -> Result<AssistantMessage, WrapperError> {
    let prefix = definition.assistant_prefix(first_message);
    read_seeded_reply(raw_output, prefix, |text| read_answer(definition, text))
}

/// Parses a reply that may hold several answers one after another (parallel tool
/// calls): the prefix put back as in [`parse_output`], then each answer object read
/// as `parse_output` reads one ([`parse_answers`]).
pub(crate) fn parse_parallel_output(
    definition: &WrapperDefinition,
    raw_output: &str,
    first_message: bool,
) -> Result<AssistantMessage, WrapperError> {
    let prefix = definition.assistant_prefix(first_message);
    read_seeded_reply(raw_output, prefix, |text| {
        parse_answers(text, |answer| read_answer(definition, answer))
    })
}

/// One answer, its prefix already in place (see [`parse_output`]).
fn read_answer(
    definition: &WrapperDefinition,
    text: &str,
) -> Result<AssistantMessage, WrapperError> {
    let repaired = reply_json(text)?;
    let json = restarted_answer(&repaired).unwrap_or(&repaired);
    let ForcedCall {
        object,
        name,
        mut params,
    } = match forced_call(json, text) {
        Ok(call) => call,
        Err(error) => return thoughts_only(json, text).ok_or(error),
    };
    let top_level = object.get(INNER_THOUGHTS_KWARG).cloned();
    let thoughts = if definition.clean_function_args {
        let from_params = clean_function_args(&name, &mut params);
        top_level.or(from_params)
    } else {
        top_level.or_else(|| params.get(INNER_THOUGHTS_KWARG).cloned())
    };
    Ok(AssistantMessage::with_call(
        thoughts_text(thoughts),
        ParsedFunctionCall {
            name,
            arguments: Value::Object(params),
        },
    ))
}

/// The message of an answer that holds top-level inner thoughts and no call.
fn thoughts_only(json: &Value, text: &str) -> Option<AssistantMessage> {
    match optional_call(json, text) {
        Ok(OptionalCall {
            inner_thoughts,
            call: None,
        }) => Some(AssistantMessage::text(thoughts_text(Some(inner_thoughts)))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapper::ConfigurableWrapper;
    use prompt_kit::PromptWrapper;
    use serde_json::json;

    fn parse(wrapper: &ConfigurableWrapper, raw: &str) -> AssistantMessage {
        wrapper.parse_output(raw, false).unwrap()
    }

    fn cleaning() -> ConfigurableWrapper {
        ConfigurableWrapper::new(WrapperDefinition {
            clean_function_args: true,
            ..WrapperDefinition::default()
        })
        .unwrap()
    }

    #[test]
    fn top_level_thoughts_become_content_and_params_stay_whole() {
        let raw = r#"{"inner_thoughts": "hi", "function": "send_message", "params": {"message": "m", "request_heartbeat": true}}"#;
        let message = parse(&ConfigurableWrapper::neural_chat(), raw);
        assert_eq!(message.content.as_deref(), Some("hi"));
        let call = message.function_calls.into_iter().next().unwrap();
        assert_eq!(call.name, "send_message");
        assert_eq!(
            call.arguments,
            json!({"message": "m", "request_heartbeat": true})
        );
    }

    #[test]
    fn thoughts_in_params_are_read_and_kept_without_cleaning() {
        let raw = r#"{"function": "f", "params": {"inner_thoughts": "t", "x": 1}}"#;
        let message = parse(&ConfigurableWrapper::neural_chat(), raw);
        assert_eq!(message.content.as_deref(), Some("t"));
        assert_eq!(
            message
                .function_calls
                .into_iter()
                .next()
                .map(|c| c.arguments),
            Some(json!({"inner_thoughts": "t", "x": 1}))
        );
    }

    #[test]
    fn cleaning_moves_thoughts_out_and_drops_the_heartbeat() {
        let raw = r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m", "request_heartbeat": true}}"#;
        let message = parse(&cleaning(), raw);
        assert_eq!(message.content.as_deref(), Some("t"));
        assert_eq!(
            message
                .function_calls
                .into_iter()
                .next()
                .map(|c| c.arguments),
            Some(json!({"message": "m"}))
        );
    }

    #[test]
    fn cleaning_keeps_top_level_thoughts() {
        // The reference replaced them with the (absent) `params.inner_thoughts`: `None`.
        let raw = r#"{"inner_thoughts": "top", "function": "f", "params": {"x": 1}}"#;
        assert_eq!(parse(&cleaning(), raw).content.as_deref(), Some("top"));
    }

    #[test]
    fn thoughts_alone_are_a_message_without_a_call() {
        // The top-level grammar allows it; the reference failed with a KeyError.
        for raw in [
            r#"{"inner_thoughts": "just thinking"}"#,
            r#"{"inner_thoughts": "just thinking", "function": null, "params": null}"#,
        ] {
            let message = parse(&ConfigurableWrapper::neural_chat(), raw);
            assert_eq!(message.content.as_deref(), Some("just thinking"));
            assert_eq!(message.first_call(), None);
        }
    }

    #[test]
    fn no_thoughts_is_no_content() {
        // The reference set the content to "".
        let message = parse(
            &ConfigurableWrapper::neural_chat(),
            r#"{"function": "f", "params": {}}"#,
        );
        assert_eq!(message.content, None);
        assert!(message.first_call().is_some());
    }

    #[test]
    fn nested_function_object_is_unwrapped() {
        let raw = r#"{"function": {"inner_thoughts": "t", "function": "f", "params": {"x": 1}}}"#;
        let message = parse(&ConfigurableWrapper::neural_chat(), raw);
        assert_eq!(message.content.as_deref(), Some("t"));
        assert_eq!(
            message.first_call().map(|call| call.name.as_str()),
            Some("f")
        );
    }

    #[test]
    fn the_prefix_is_reattached_and_repair_runs() {
        let wrapper = ConfigurableWrapper::new(WrapperDefinition {
            assistant_prefix_extra: "\n{\n  \"function\":".into(),
            assistant_prefix_extra_first_message: "\n{\n  \"function\": \"send_message\",".into(),
            ..WrapperDefinition::default()
        })
        .unwrap();
        let message = wrapper
            .parse_output(
                " \"f\",\n  \"params\": {\"inner_thoughts\": \"t\", \"x\": 1",
                false,
            )
            .unwrap();
        assert_eq!(
            message.first_call().map(|call| call.name.as_str()),
            Some("f")
        );
        let message = wrapper
            .parse_output("\n  \"params\": {\"message\": \"hi\"}}", true)
            .unwrap();
        assert_eq!(
            message.first_call().map(|call| call.name.as_str()),
            Some("send_message")
        );
    }

    #[test]
    fn errors_keep_the_raw_output() {
        let wrapper = ConfigurableWrapper::neural_chat();
        let error = wrapper.parse_output("no json here", false).unwrap_err();
        assert!(matches!(error, WrapperError::UnparseableOutput { .. }));
        let error = wrapper
            .parse_output(r#"{"params": {}}"#, false)
            .unwrap_err();
        assert!(matches!(
            error,
            WrapperError::MissingField { ref field, ref raw_output } if field == "function" && raw_output.contains("params")
        ));
    }

    #[test]
    fn several_answers_are_several_calls_when_parallel_calls_are_read() {
        let wrapper = ConfigurableWrapper::neural_chat();
        let raw = r#"{"inner_thoughts": "one", "function": "f", "params": {"x": 1}} {"inner_thoughts": "two", "function": "g", "params": {}}"#;
        let message = wrapper.parse_parallel_output(raw, false).unwrap();
        let names: Vec<&str> = message
            .function_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["f", "g"]);
        assert_eq!(message.content.as_deref(), Some("one\ntwo"));
        assert_eq!(
            wrapper
                .parse_output(raw, false)
                .unwrap()
                .function_calls
                .len(),
            1
        );
    }

    /// A definition that seeds the answer as the `noforce` formats do.
    fn noforce_seeded() -> ConfigurableWrapper {
        ConfigurableWrapper::new(WrapperDefinition {
            clean_function_args: true,
            assistant_prefix_extra: "\n{\n  \"inner_thoughts\":".into(),
            ..WrapperDefinition::default()
        })
        .unwrap()
    }

    #[test]
    fn a_repeated_seed_or_a_code_fence_is_read_as_the_answer_inside() {
        let wrapper = noforce_seeded();
        let answer = r#"{"inner_thoughts": "Greet.", "function": "send_message", "params": {"message": "hi", "request_heartbeat": true}}"#;
        for raw in [
            format!(" {answer}"),
            format!("\n{{\n  \"inner_thoughts\": {answer}}}"),
            format!("```json\n{answer}\n```\nMore text."),
            format!("```\n{answer}"),
        ] {
            let message = parse(&wrapper, &raw);
            assert_eq!(message.content.as_deref(), Some("Greet."), "reply {raw:?}");
            let call = message.function_calls.into_iter().next().unwrap();
            assert_eq!(call.name, "send_message");
            assert_eq!(call.arguments, json!({"message": "hi"}));
        }
        // Thoughts that only mention the seed and a fence are read as written.
        let raw = r#" "I wrote {\"inner_thoughts\": ```json```", "function": null}"#;
        let message = parse(&wrapper, raw);
        assert_eq!(
            message.content.as_deref(),
            Some(r#"I wrote {"inner_thoughts": ```json```"#)
        );
        assert!(message.function_calls.is_empty());
    }
}
