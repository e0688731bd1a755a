//! Reading the model's reply (the reference's `output_to_chat_completion_response`
//! and `_clean_function_args`), in reusable steps: [`attach_prefix`],
//! [`reply_json`], then [`forced_call`] or [`optional_call`], then
//! [`clean_function_args`].

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::bodies::{python_rstrip, INNER_THOUGHTS_KWARG};
use super::restart::restarted_answer;
use crate::chat::{AssistantMessage, ParsedFunctionCall};
use crate::python_json;
use crate::repair::repair_json;
use crate::wrapper::WrapperError;

/// The model's text with the assistant prefix the prompt ended with put back in front,
/// unless the text already starts with it (an empty prefix changes nothing).
pub fn attach_prefix<'a>(raw_output: &'a str, prefix: &str) -> Cow<'a, str> {
    if prefix.is_empty() || raw_output.starts_with(prefix) {
        Cow::Borrowed(raw_output)
    } else {
        Cow::Owned(format!("{prefix}{raw_output}"))
    }
}

/// The text without trailing whitespace (Python's `rstrip`) and then without one trailing `token`
/// (llama3's `<|eot_id|>`, which some servers return).
pub fn strip_trailing_token<'a>(text: &'a str, token: &str) -> &'a str {
    let trimmed = python_rstrip(text);
    if token.is_empty() {
        return trimmed;
    }
    trimmed.strip_suffix(token).unwrap_or(trimmed)
}

/// The JSON value in the (prefixed) reply, repaired when malformed; the error keeps
/// the text.
pub fn reply_json(text: &str) -> Result<Value, WrapperError> {
    repair_json(text).map_err(|source| WrapperError::UnparseableOutput {
        source,
        raw_output: text.to_owned(),
    })
}

fn missing(field: &str, raw_output: &str) -> WrapperError {
    WrapperError::MissingField {
        field: field.to_owned(),
        raw_output: raw_output.to_owned(),
    }
}

/// The parts of a `{"function": …, "params": {…}}` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ForcedCall {
    /// The object the call was read from (the inner one when `function` was nested).
    pub object: Map<String, Value>,
    /// The function's name.
    pub name: String,
    /// The `params` object (`{}` when it was `null`), still holding any inner thoughts.
    pub params: Map<String, Value>,
}

/// The `params` field as an object: `null` counts as `{}` (the reference crashed on
/// it later); any other non-object is a malformed field.
fn params_of(
    object: &Map<String, Value>,
    raw_output: &str,
) -> Result<Map<String, Value>, WrapperError> {
    match object.get("params") {
        Some(Value::Object(params)) => Ok(params.clone()),
        Some(Value::Null) => Ok(Map::new()),
        _ => Err(missing("params", raw_output)),
    }
}

/// Reads a reply that must call a function. When `function` is itself an object (the
/// model ignored the prompt's prefix and nested the call) the inner object is read.
/// A missing or non-string `function`, or a missing `params`, is
/// [`WrapperError::MissingField`] with `raw_output`.
pub fn forced_call(json: &Value, raw_output: &str) -> Result<ForcedCall, WrapperError> {
    let mut object = json
        .as_object()
        .ok_or_else(|| missing("function", raw_output))?;
    if let Some(Value::Object(nested)) = object.get("function") {
        object = nested;
    }
    let name = object
        .get("function")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("function", raw_output))?;
    Ok(ForcedCall {
        name: name.to_owned(),
        params: params_of(object, raw_output)?,
        object: object.clone(),
    })
}

/// The parts of a `noforce` reply, `{"inner_thoughts": …, "function": …, "params": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionalCall {
    /// The top-level `inner_thoughts` value.
    pub inner_thoughts: Value,
    /// The call, unless `function` was absent, `null`, or the string `"none"` (any
    /// case, surrounding whitespace ignored).
    pub call: Option<(String, Map<String, Value>)>,
}

/// Reads a reply whose call is optional. A missing `inner_thoughts`, a `function`
/// that is neither a string nor `null`, or a call without `params`, is
/// [`WrapperError::MissingField`] with `raw_output`.
///
/// When the model repeated the seeded opening, so that the thoughts are themselves an
/// answer object, that answer is read instead ([`restarted_answer`]).
pub fn optional_call(json: &Value, raw_output: &str) -> Result<OptionalCall, WrapperError> {
    let json = restarted_answer(json).unwrap_or(json);
    let object = json
        .as_object()
        .ok_or_else(|| missing(INNER_THOUGHTS_KWARG, raw_output))?;
    let inner_thoughts = object
        .get(INNER_THOUGHTS_KWARG)
        .cloned()
        .ok_or_else(|| missing(INNER_THOUGHTS_KWARG, raw_output))?;
    let call = match object.get("function") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if name.trim().to_lowercase() == "none" => None,
        Some(Value::String(name)) => Some((name.clone(), params_of(object, raw_output)?)),
        Some(_) => return Err(missing("function", raw_output)),
    };
    Ok(OptionalCall {
        inner_thoughts,
        call,
    })
}

/// MemGPT's argument cleaning: drops `request_heartbeat` from `send_message` calls and
/// takes `inner_thoughts` out of the arguments, returning it (`None` when absent).
/// Key order is kept.
pub fn clean_function_args(name: &str, arguments: &mut Map<String, Value>) -> Option<Value> {
    if name == "send_message" {
        arguments.shift_remove("request_heartbeat");
    }
    arguments.shift_remove(INNER_THOUGHTS_KWARG)
}

/// Inner thoughts as message content: strings as they are, `null` (or nothing) as
/// `None`, any other value as its JSON text.
pub fn thoughts_text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(python_json::dumps(&other, None)),
    }
}

/// The assistant message of a forced reply: the call, its arguments cleaned with
/// [`clean_function_args`] when `clean` is set, and the inner thoughts taken from
/// `params` as content (`None` without cleaning).
pub fn forced_message(
    json: &Value,
    raw_output: &str,
    clean: bool,
) -> Result<AssistantMessage, WrapperError> {
    let ForcedCall {
        name, mut params, ..
    } = forced_call(json, raw_output)?;
    let thoughts = if clean {
        clean_function_args(&name, &mut params)
    } else {
        None
    };
    Ok(AssistantMessage::with_call(
        thoughts_text(thoughts),
        ParsedFunctionCall {
            name,
            arguments: Value::Object(params),
        },
    ))
}

/// The assistant message of a `noforce` reply: the top-level inner thoughts as
/// content, and the call (if any) with its arguments cleaned when `clean` is set (an
/// `inner_thoughts` argument is then dropped).
pub fn optional_message(
    json: &Value,
    raw_output: &str,
    clean: bool,
) -> Result<AssistantMessage, WrapperError> {
    let OptionalCall {
        inner_thoughts,
        call,
    } = optional_call(json, raw_output)?;
    let function_call = call.map(|(name, mut arguments)| {
        if clean {
            clean_function_args(&name, &mut arguments);
        }
        ParsedFunctionCall {
            name,
            arguments: Value::Object(arguments),
        }
    });
    Ok(AssistantMessage {
        content: thoughts_text(Some(inner_thoughts)),
        reasoning: None,
        function_calls: function_call.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_is_attached_only_when_missing() {
        assert_eq!(
            attach_prefix(" \"f\"}", "{\"function\":"),
            "{\"function\": \"f\"}"
        );
        assert_eq!(
            attach_prefix("{\"function\": 1", "{\"function\":"),
            "{\"function\": 1"
        );
        assert_eq!(attach_prefix("abc", ""), "abc");
    }

    #[test]
    fn trailing_token_is_stripped_once_after_whitespace() {
        assert_eq!(strip_trailing_token("{}<|eot_id|>\n ", "<|eot_id|>"), "{}");
        assert_eq!(
            strip_trailing_token("{}<|eot_id|><|eot_id|>", "<|eot_id|>"),
            "{}<|eot_id|>"
        );
    }

    #[test]
    fn nested_function_object_is_unwrapped() {
        let json = json!({"function": {"function": "send_message", "params": {"message": "hi"}}});
        let call = forced_call(&json, "raw");
        assert_eq!(call.map(|c| c.name).ok().as_deref(), Some("send_message"));
    }

    #[test]
    fn cleaning_drops_heartbeat_for_send_message_and_takes_thoughts() {
        let mut arguments =
            json!({"inner_thoughts": "t", "message": "m", "request_heartbeat": true});
        let Some(arguments) = arguments.as_object_mut() else {
            unreachable!()
        };
        let thoughts = clean_function_args("send_message", arguments);
        assert_eq!(thoughts, Some(json!("t")));
        assert_eq!(Value::Object(arguments.clone()), json!({"message": "m"}));
        let mut other = Map::new();
        other.insert("request_heartbeat".into(), json!(true));
        assert_eq!(clean_function_args("core_memory_append", &mut other), None);
        assert_eq!(other.len(), 1);
    }

    #[test]
    fn missing_fields_name_the_field_and_keep_the_text() {
        let error = forced_message(&json!({"params": {}}), "RAW", true).err();
        assert!(matches!(
            error,
            Some(WrapperError::MissingField { ref field, ref raw_output }) if field == "function" && raw_output == "RAW"
        ));
        let error = forced_message(&json!({"function": "f"}), "RAW", true).err();
        assert!(
            matches!(error, Some(WrapperError::MissingField { ref field, .. }) if field == "params")
        );
        let error = optional_message(&json!({"function": "f", "params": {}}), "RAW", true).err();
        assert!(
            matches!(error, Some(WrapperError::MissingField { ref field, .. }) if field == "inner_thoughts")
        );
        let error = forced_message(&json!([1, 2]), "RAW", true).err();
        assert!(matches!(error, Some(WrapperError::MissingField { .. })));
    }

    #[test]
    fn noforce_reply_without_a_call() {
        for function in [json!(null), json!(" None "), json!("none")] {
            let json =
                json!({"inner_thoughts": "just thinking", "function": function, "params": null});
            let message = optional_message(&json, "raw", true).ok();
            assert_eq!(
                message,
                Some(AssistantMessage::text(Some("just thinking".into())))
            );
        }
        let message = optional_message(&json!({"inner_thoughts": null}), "raw", true).ok();
        assert_eq!(
            message.map(|m| (m.content, m.function_calls)),
            Some((None, Vec::new()))
        );
    }

    #[test]
    fn null_params_are_an_empty_call() {
        // The reference crashed on `"params": null` (`"inner_thoughts" in None`).
        let message =
            forced_message(&json!({"function": "pause", "params": null}), "raw", true).ok();
        assert_eq!(
            message
                .and_then(|m| m.function_calls.into_iter().next())
                .map(|c| c.arguments),
            Some(json!({}))
        );
    }

    #[test]
    fn unparseable_text_keeps_the_raw_output() {
        let error = reply_json("not json at all").err();
        assert!(matches!(
            error,
            Some(WrapperError::UnparseableOutput { ref raw_output, .. }) if raw_output == "not json at all"
        ));
    }
}
