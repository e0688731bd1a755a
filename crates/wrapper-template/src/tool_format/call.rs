//! Reading one call object, `{"name": …, "arguments" | "parameters": …}`, as every
//! format writes it.

use prompt_kit::repair::repair_json;
use prompt_kit::{ParsedFunctionCall, WrapperError};
use serde_json::{Map, Value};

/// The calls found in a reply, and the text before the first one.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found<'a> {
    /// The reply's text before the first call (untrimmed).
    pub(super) text_before: &'a str,
    /// Every call, in order (never empty).
    pub(super) calls: Vec<ParsedFunctionCall>,
}

/// A field of a call that is absent or has the wrong type.
pub(super) fn missing(field: &str, raw: &str) -> WrapperError {
    WrapperError::MissingField {
        field: field.to_owned(),
        raw_output: raw.to_owned(),
    }
}

/// The JSON value in `text`, repaired when slightly broken; the error carries `raw`
/// (the whole reply).
pub(super) fn json_value(text: &str, raw: &str) -> Result<Value, WrapperError> {
    repair_json(text).map_err(|source| WrapperError::UnparseableOutput {
        source,
        raw_output: raw.to_owned(),
    })
}

/// Reads the call object in `text` (repaired when slightly broken). The call's
/// fields may also sit in a nested `function` object (the OpenAI shape).
pub(super) fn read_call(text: &str, raw: &str) -> Result<ParsedFunctionCall, WrapperError> {
    match json_value(text, raw)? {
        Value::Object(object) => call_from_object(object, raw),
        _ => Err(missing("name", raw)),
    }
}

/// The call an object states: its non-empty string `name` and its arguments
/// ([`arguments_object`] of `arguments`, else of `parameters`).
pub(super) fn call_from_object(
    mut object: Map<String, Value>,
    raw: &str,
) -> Result<ParsedFunctionCall, WrapperError> {
    if !object.contains_key("name") {
        if let Some(Value::Object(inner)) = object.remove("function") {
            object = inner;
        }
    }
    let name = match object.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => return Err(missing("name", raw)),
    };
    let arguments = object
        .remove("arguments")
        .or_else(|| object.remove("parameters"));
    Ok(ParsedFunctionCall {
        name,
        arguments: arguments_object(arguments, raw)?,
    })
}

/// A call's arguments as an object: absent, `null` or an empty string is `{}`; a
/// string is read as the JSON object it holds (repaired); anything else that is no
/// object is [`WrapperError::MissingField`] `arguments`.
pub(super) fn arguments_object(arguments: Option<Value>, raw: &str) -> Result<Value, WrapperError> {
    match arguments {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::Object(object)) => Ok(Value::Object(object)),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Some(Value::String(text)) => match repair_json(&text) {
            Ok(Value::Object(object)) => Ok(Value::Object(object)),
            _ => Err(missing("arguments", raw)),
        },
        Some(_) => Err(missing("arguments", raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_may_be_an_object_a_string_or_absent() {
        let call = read_call(r#"{"name": "f", "arguments": {"x": 1}}"#, "raw").unwrap();
        assert_eq!(call.arguments, json!({"x": 1}));
        let call = read_call(r#"{"name": "f", "arguments": "{\"x\": 1}"}"#, "raw").unwrap();
        assert_eq!(call.arguments, json!({"x": 1}));
        let call = read_call(r#"{"name": "f"}"#, "raw").unwrap();
        assert_eq!(call.arguments, json!({}));
    }

    #[test]
    fn the_openai_shape_is_read_too() {
        let call = read_call(
            r#"{"type": "function", "function": {"name": "f", "arguments": "{}"}}"#,
            "raw",
        )
        .unwrap();
        assert_eq!((call.name.as_str(), call.arguments), ("f", json!({})));
    }

    #[test]
    fn arguments_that_are_no_object_are_an_error() {
        let error = read_call(r#"{"name": "f", "arguments": [1, 2]}"#, "the reply").unwrap_err();
        assert!(
            matches!(&error, WrapperError::MissingField { field, raw_output }
                if field == "arguments" && raw_output == "the reply"),
            "{error:?}"
        );
        let error = read_call(r#"{"name": "f", "arguments": "not json at all"}"#, "r");
        assert!(matches!(error, Err(WrapperError::MissingField { .. })));
    }
}
