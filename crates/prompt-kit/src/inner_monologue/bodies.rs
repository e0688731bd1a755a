//! Message bodies: the text inside one turn, before a format's tokens wrap it
//! (the reference's `_compile_function_call`, `_compile_assistant_message`,
//! `_compile_user_message` and `_compile_function_response`).

use serde_json::{Map, Value};

use super::ThoughtsPlacement;
use crate::chat::{ChatMessage, FunctionCall};
use crate::python_json;
use crate::wrapper::WrapperError;

/// The key under which inner thoughts are written (the reference's `INNER_THOUGHTS_KWARG`).
pub const INNER_THOUGHTS_KWARG: &str = "inner_thoughts";

/// `text.strip()` in Python: surrounding whitespace removed, counting the ASCII
/// separators U+001C..U+001F as whitespace as Python does.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(is_python_space)
}

/// `text.rstrip()` in Python (see [`python_strip`]).
pub fn python_rstrip(text: &str) -> &str {
    text.trim_end_matches(is_python_space)
}

/// `ch.isspace()` in Python: Unicode whitespace plus U+001C..U+001F.
fn is_python_space(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// The role name a user or assistant turn is shown under: the message's `name`
/// (AutoGen-style agents), stripped and lower-cased, when `allow_custom_roles` is set;
/// otherwise the message's role.
///
/// Deviation: a `name` that is empty after stripping falls back to the role (the
/// reference rendered an empty role name).
pub fn speaker_role(message: &ChatMessage, allow_custom_roles: bool) -> String {
    let custom = message
        .name
        .as_deref()
        .filter(|_| allow_custom_roles)
        .map(|name| python_strip(name).to_lowercase())
        .filter(|name| !name.is_empty());
    custom.unwrap_or_else(|| message.role.as_str().to_owned())
}

/// `json_dumps(json_loads(text), indent)`: JSON text re-indented, or the text itself
/// when it is not JSON (the body of user events and function results).
pub fn reindent_json(text: &str, indent: Option<usize>) -> String {
    python_json::redumps(text, indent).unwrap_or_else(|| text.to_owned())
}

/// A user message's body: its JSON re-indented, or with `simplify_json_content` only
/// the event's `"message"` string; the text as is when it is not such JSON. A message
/// without content renders as the empty string (the reference crashed).
pub fn user_body(
    message: &ChatMessage,
    simplify_json_content: bool,
    indent: Option<usize>,
) -> String {
    let text = message.text_cow();
    if !simplify_json_content {
        return reindent_json(&text, indent);
    }
    let simplified = python_json::loads(&text).ok().and_then(|value| {
        value
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    simplified.unwrap_or_else(|| text.into_owned())
}

/// Whether a user message is a MemGPT system event (JSON with a `"type"` other than
/// `"user_message"`), shown under the `system` role by `use_system_role_in_user`.
pub fn is_system_event(message: &ChatMessage) -> bool {
    let text = message.text_cow();
    python_json::loads(&text).ok().is_some_and(|value| {
        value
            .get("type")
            .is_some_and(|kind| kind.as_str() != Some("user_message"))
    })
}

/// A `function` or `tool` message's body: its JSON re-indented, or the text as is.
pub fn function_response_body(message: &ChatMessage, indent: Option<usize>) -> String {
    reindent_json(&message.text_cow(), indent)
}

/// A call's arguments as a JSON object. Empty arguments count as `{}` (the reference
/// crashed on them); anything else that is not a JSON object is an error naming the
/// message at `index`.
pub fn call_arguments(
    call: &FunctionCall,
    index: usize,
) -> Result<Map<String, Value>, WrapperError> {
    if python_strip(&call.arguments).is_empty() {
        return Ok(Map::new());
    }
    let invalid = |what: String| {
        WrapperError::InvalidMessage {
        index,
        reason: format!(
            "the arguments of the call to `{}` are {what}; send `arguments` as a JSON object encoded in a string, e.g. \"{{\\\"message\\\": \\\"hi\\\"}}\"",
            call.name
        ),
    }
    };
    match python_json::loads(&call.arguments) {
        Ok(Value::Object(arguments)) => Ok(arguments),
        Ok(other) => Err(invalid(format!("JSON but not an object ({other})"))),
        Err(error) => Err(invalid(format!("not valid JSON ({error})"))),
    }
}

/// A call as the JSON the model is asked to write, with the inner thoughts inside
/// `params` (first) or at the top level, indented with `indent`.
///
/// `index` is the message's position, for the error when its arguments are not a
/// JSON object.
pub fn function_call_json(
    call: &FunctionCall,
    inner_thoughts: Option<&str>,
    placement: ThoughtsPlacement,
    indent: Option<usize>,
    index: usize,
) -> Result<String, WrapperError> {
    if let Some(json) = call_json_text(call, inner_thoughts, placement, indent) {
        return Ok(json);
    }
    let thoughts = inner_thoughts.map_or(Value::Null, |text| Value::String(text.to_owned()));
    let arguments = call_arguments(call, index)?;
    let mut object = Map::new();
    match placement {
        ThoughtsPlacement::InParams => {
            // `{"inner_thoughts": …, **arguments}`: an `inner_thoughts` argument keeps
            // the first position and overwrites the value, as in Python.
            let mut params = Map::new();
            params.insert(INNER_THOUGHTS_KWARG.to_owned(), thoughts);
            params.extend(arguments);
            object.insert("function".to_owned(), Value::String(call.name.clone()));
            object.insert("params".to_owned(), Value::Object(params));
        }
        ThoughtsPlacement::TopLevel => {
            object.insert(INNER_THOUGHTS_KWARG.to_owned(), thoughts);
            object.insert("function".to_owned(), Value::String(call.name.clone()));
            object.insert("params".to_owned(), Value::Object(arguments));
        }
    }
    Ok(python_json::dumps(&Value::Object(object), indent))
}

/// [`function_call_json`] written straight from the arguments' text, without
/// building a [`Value`]; `None` when that cannot be vouched for (see
/// [`python_json::dumps_fields`]) or the arguments are empty or not an object.
fn call_json_text(
    call: &FunctionCall,
    inner_thoughts: Option<&str>,
    placement: ThoughtsPlacement,
    indent: Option<usize>,
) -> Option<String> {
    use python_json::Field;
    let thoughts = inner_thoughts.map_or(Field::Null, Field::Str);
    let arguments = Some(call.arguments.as_str());
    match placement {
        ThoughtsPlacement::InParams => {
            let leading = [(INNER_THOUGHTS_KWARG, thoughts)];
            let fields = [
                ("function", Field::Str(&call.name)),
                ("params", Field::Object(&leading, arguments)),
            ];
            python_json::dumps_fields(&fields, indent)
        }
        ThoughtsPlacement::TopLevel => {
            let fields = [
                (INNER_THOUGHTS_KWARG, thoughts),
                ("function", Field::Str(&call.name)),
                ("params", Field::Object(&[], arguments)),
            ];
            python_json::dumps_fields(&fields, indent)
        }
    }
}

/// An assistant message's body: each of its calls (`function_call`, or every
/// `tool_calls` entry) as `"\n"` + [`function_call_json`] with the message's content
/// as inner thoughts; without calls, the content itself (empty when absent: the
/// reference crashed).
pub fn assistant_body(
    message: &ChatMessage,
    placement: ThoughtsPlacement,
    indent: Option<usize>,
    index: usize,
) -> Result<String, WrapperError> {
    let calls = message.calls();
    if calls.is_empty() {
        return Ok(message.text_or_empty());
    }
    let thoughts = message.content.as_ref().map(|_| message.text_cow());
    let mut body = String::new();
    for call in calls {
        let json = function_call_json(call, thoughts.as_deref(), placement, indent, index)?;
        body.reserve(json.len() + 1);
        body.push('\n');
        body.push_str(&json);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Role, ToolCall};

    fn call(name: &str, arguments: &str) -> FunctionCall {
        FunctionCall {
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        }
    }

    #[test]
    fn python_strip_matches_str_strip() {
        assert_eq!(python_strip("\u{1f} \n x y \u{a0}\t"), "x y");
        assert_eq!(python_strip(""), "");
        assert_eq!(python_rstrip(" x \u{1c}"), " x");
    }

    #[test]
    fn custom_role_names_are_stripped_and_lowercased() {
        let mut message = ChatMessage::new(Role::User, "hi");
        message.name = Some("  Planner Bot ".to_owned());
        assert_eq!(speaker_role(&message, true), "planner bot");
        assert_eq!(speaker_role(&message, false), "user");
        message.name = Some("   ".to_owned());
        assert_eq!(speaker_role(&message, true), "user");
    }

    #[test]
    fn json_bodies_are_reindented_and_text_is_kept() {
        let event = ChatMessage::new(Role::User, r#"{"type": "user_message", "message": "hé"}"#);
        assert_eq!(
            user_body(&event, false, Some(2)),
            "{\n  \"type\": \"user_message\",\n  \"message\": \"hé\"\n}"
        );
        assert_eq!(user_body(&event, true, Some(2)), "hé");
        let plain = ChatMessage::new(Role::User, "What's 2+2?");
        assert_eq!(user_body(&plain, true, Some(2)), "What's 2+2?");
        assert_eq!(function_response_body(&plain, Some(2)), "What's 2+2?");
        let mut empty = ChatMessage::new(Role::Tool, "");
        empty.content = None;
        assert_eq!(function_response_body(&empty, Some(2)), "");
    }

    #[test]
    fn system_events_are_recognised_by_type() {
        let login = ChatMessage::new(Role::User, r#"{"type": "login"}"#);
        let chat = ChatMessage::new(Role::User, r#"{"type": "user_message"}"#);
        let plain = ChatMessage::new(Role::User, "hello");
        assert!(is_system_event(&login));
        assert!(!is_system_event(&chat));
        assert!(!is_system_event(&plain));
    }

    #[test]
    fn calls_render_with_thoughts_in_params_or_on_top() {
        let call = call("send_message", r#"{"message": "hi"}"#);
        let forced = function_call_json(
            &call,
            Some("think"),
            ThoughtsPlacement::InParams,
            Some(2),
            1,
        );
        assert_eq!(
            forced.ok().as_deref(),
            Some("{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"think\",\n    \"message\": \"hi\"\n  }\n}")
        );
        let noforce = function_call_json(&call, None, ThoughtsPlacement::TopLevel, Some(2), 1);
        assert_eq!(
            noforce.ok().as_deref(),
            Some("{\n  \"inner_thoughts\": null,\n  \"function\": \"send_message\",\n  \"params\": {\n    \"message\": \"hi\"\n  }\n}")
        );
    }

    #[test]
    fn empty_arguments_are_an_empty_object_and_bad_ones_an_error() {
        assert_eq!(call_arguments(&call("f", "  "), 3).ok(), Some(Map::new()));
        let error = call_arguments(&call("f", "{oops"), 3).err();
        assert!(matches!(
            error,
            Some(WrapperError::InvalidMessage { index: 3, .. })
        ));
        let error = call_arguments(&call("f", "[1]"), 4)
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("not an object") && e.contains("`f`")));
    }

    #[test]
    fn tool_calls_render_one_after_another() {
        let mut message = ChatMessage::new(Role::Assistant, "two things");
        message.tool_calls = Some(vec![
            ToolCall {
                id: "a".into(),
                kind: "function".into(),
                function: call("first", "{}"),
            },
            ToolCall {
                id: "b".into(),
                kind: "function".into(),
                function: call("second", r#"{"x": 1}"#),
            },
        ]);
        let body = assistant_body(&message, ThoughtsPlacement::TopLevel, None, 1);
        assert_eq!(
            body.ok().as_deref(),
            Some("\n{\"inner_thoughts\": \"two things\", \"function\": \"first\", \"params\": {}}\n{\"inner_thoughts\": \"two things\", \"function\": \"second\", \"params\": {\"x\": 1}}")
        );
    }

    #[test]
    fn assistant_text_without_calls_is_the_body() {
        let message = ChatMessage::new(Role::Assistant, "just thinking");
        let body = assistant_body(&message, ThoughtsPlacement::InParams, Some(2), 1);
        assert_eq!(body.ok().as_deref(), Some("just thinking"));
    }
}
