//! OpenAI chat messages and functions in the shapes Hugging Face chat templates expect.
//!
//! A message becomes `{"role", "content"}` with the content as a string (text parts
//! joined; the empty string when the client sent none — an assistant turn with calls
//! has `null`, which templates trim or iterate, and Python's `None` breaks both), then `name` when given, `tool_calls`
//! (each `{"id", "type": "function", "function": {"name", "arguments"}}`, the
//! arguments parsed into a JSON object), and `tool_call_id` for `tool` turns. A legacy
//! `function_call` is one tool call (with no `id`: it never had one), and a `function`
//! turn is a `tool` turn with its `name`. Arguments that are not a JSON object are
//! refused, naming the field: templates read them as an object (`.items()`,
//! `|tojson`), and a string in its place renders as something the model never saw.

use prompt_kit::{ChatMessage, FunctionCall, FunctionSchema, Role, WrapperError};
use serde_json::{Map, Value};

/// The conversation as templates read it (see the module docs for the shape).
///
/// Errors: [`WrapperError::InvalidMessage`] for a call whose arguments are not a JSON
/// object (an empty string is no arguments, `{}`).
pub fn template_messages(messages: &[ChatMessage]) -> Result<Vec<Value>, WrapperError> {
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            template_message(message)
                .map_err(|reason| WrapperError::InvalidMessage { index, reason })
        })
        .collect()
}

/// The functions as the `tools` templates read:
/// `[{"type": "function", "function": {"name", "description", "parameters"}}]`
/// (`description` and `parameters` left out when the function has none).
pub fn template_tools(functions: &[FunctionSchema]) -> Vec<Value> {
    functions
        .iter()
        .map(|function| {
            let mut inner = Map::new();
            inner.insert("name".into(), Value::from(function.name.as_str()));
            if let Some(description) = &function.description {
                inner.insert("description".into(), Value::from(description.as_str()));
            }
            if let Some(parameters) = &function.parameters {
                inner.insert("parameters".into(), parameters.clone());
            }
            let mut tool = Map::new();
            tool.insert("type".into(), Value::from("function"));
            tool.insert("function".into(), Value::Object(inner));
            Value::Object(tool)
        })
        .collect()
}

fn template_message(message: &ChatMessage) -> Result<Value, String> {
    let role = match message.role {
        Role::Function => Role::Tool,
        role => role,
    };
    let mut out = Map::new();
    out.insert("role".into(), Value::from(role.as_str()));
    out.insert(
        "content".into(),
        Value::from(message.text().unwrap_or_default()),
    );
    if let Some(name) = &message.name {
        out.insert("name".into(), Value::from(name.as_str()));
    }
    let calls: Vec<Value> = match (&message.function_call, &message.tool_calls) {
        (Some(call), _) => vec![tool_call(None, call)
            .map_err(|reason| format!("`function_call.arguments` {reason}"))?],
        (None, Some(calls)) => calls
            .iter()
            .enumerate()
            .map(|(position, call)| {
                tool_call(Some(call.id.as_str()), &call.function).map_err(|reason| {
                    format!("`tool_calls[{position}].function.arguments` {reason}")
                })
            })
            .collect::<Result<_, _>>()?,
        (None, None) => Vec::new(),
    };
    if !calls.is_empty() {
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &message.tool_call_id {
        out.insert("tool_call_id".into(), Value::from(id.as_str()));
    }
    Ok(Value::Object(out))
}

/// One call: `id` when the client gave one, the arguments as a JSON object; the
/// error says what they are instead.
fn tool_call(id: Option<&str>, call: &FunctionCall) -> Result<Value, String> {
    let mut out = Map::new();
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        out.insert("id".into(), Value::from(id));
    }
    out.insert("type".into(), Value::from("function"));
    let arguments = match prompt_kit::python_json::loads_ok(&call.arguments) {
        Some(object @ Value::Object(_)) => object,
        None if call.arguments.trim().is_empty() => Value::Object(Map::new()),
        Some(_) => {
            return Err(
                "is JSON but not an object; send the call's arguments as a JSON object".to_owned(),
            )
        }
        None => return Err("is not JSON; send the call's arguments as a JSON object".to_owned()),
    };
    let mut function = Map::new();
    function.insert("name".into(), Value::from(call.name.as_str()));
    function.insert("arguments".into(), arguments);
    out.insert("function".into(), Value::Object(function));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(messages: Value) -> Vec<ChatMessage> {
        serde_json::from_value(messages).unwrap()
    }

    #[test]
    fn calls_get_parsed_arguments_and_function_turns_become_tool_turns() {
        let messages = read(json!([
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": [1, \"é\"]}"}},
                {"type": "function", "function": {"name": "g", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
            {"role": "assistant", "content": "x", "function_call": {"name": "h", "arguments": "{}"}},
            {"role": "function", "name": "h", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
        ]));
        assert_eq!(
            Value::Array(template_messages(&messages).unwrap()),
            json!([
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": {"a": [1, "é"]}}},
                    {"type": "function", "function": {"name": "g", "arguments": {}}}]},
                {"role": "tool", "content": "ok", "tool_call_id": "call_1"},
                {"role": "assistant", "content": "x", "tool_calls": [
                    {"type": "function", "function": {"name": "h", "arguments": {}}}]},
                {"role": "tool", "content": "a\nb", "name": "h"}
            ])
        );
    }

    #[test]
    fn arguments_that_are_not_an_object_are_refused_by_field() {
        let messages = read(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "zone=UTC"}}]}
        ]));
        let error = template_messages(&messages).unwrap_err().to_string();
        assert_eq!(
            error,
            "message 1 cannot be rendered: `tool_calls[1].function.arguments` is not JSON; send the call's arguments as a JSON object"
        );
        let legacy = read(json!([
            {"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "[1]"}}
        ]));
        let error = template_messages(&legacy).unwrap_err().to_string();
        assert!(
            error.contains("`function_call.arguments` is JSON but not an object"),
            "{error}"
        );
    }

    #[test]
    fn tools_keep_what_the_function_states() {
        let functions: Vec<FunctionSchema> = serde_json::from_value(json!([
            {"name": "f", "description": "does f", "parameters": {"type": "object"}},
            {"name": "g"}
        ]))
        .unwrap();
        assert_eq!(
            Value::Array(template_tools(&functions)),
            json!([
                {"type": "function", "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}}},
                {"type": "function", "function": {"name": "g"}}
            ])
        );
    }
}
