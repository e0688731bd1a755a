//! OpenAI chat messages and functions in the shapes Hugging Face chat templates expect.
//!
//! A message becomes `{"role", "content"}` with the content as a string (text parts
//! joined) or `null` when the client sent none, then `name` when given, `tool_calls`
//! (each `{"id", "type": "function", "function": {"name", "arguments"}}`, the
//! arguments parsed into a JSON object), and `tool_call_id` for `tool` turns. A legacy
//! `function_call` is one tool call (with no `id`: it never had one), and a `function`
//! turn is a `tool` turn with its `name`.

use prompt_kit::{ChatMessage, FunctionCall, FunctionSchema, Role};
use serde_json::{Map, Value};

/// The conversation as templates read it (see the module docs for the shape).
pub fn template_messages(messages: &[ChatMessage]) -> Vec<Value> {
    messages.iter().map(template_message).collect()
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

fn template_message(message: &ChatMessage) -> Value {
    let role = match message.role {
        Role::Function => Role::Tool,
        role => role,
    };
    let mut out = Map::new();
    out.insert("role".into(), Value::from(role.as_str()));
    out.insert(
        "content".into(),
        message.text().map_or(Value::Null, Value::from),
    );
    if let Some(name) = &message.name {
        out.insert("name".into(), Value::from(name.as_str()));
    }
    let calls: Vec<Value> = match (&message.function_call, &message.tool_calls) {
        (Some(call), _) => vec![tool_call(None, call)],
        (None, Some(calls)) => calls
            .iter()
            .map(|call| tool_call(Some(call.id.as_str()), &call.function))
            .collect(),
        (None, None) => Vec::new(),
    };
    if !calls.is_empty() {
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &message.tool_call_id {
        out.insert("tool_call_id".into(), Value::from(id.as_str()));
    }
    Value::Object(out)
}

/// One call: `id` when the client gave one, the arguments as a JSON object when they
/// parse to one (else the string as it came).
fn tool_call(id: Option<&str>, call: &FunctionCall) -> Value {
    let mut out = Map::new();
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        out.insert("id".into(), Value::from(id));
    }
    out.insert("type".into(), Value::from("function"));
    let arguments = match prompt_kit::python_json::loads_ok(&call.arguments) {
        Some(object @ Value::Object(_)) => object,
        _ => Value::from(call.arguments.as_str()),
    };
    let mut function = Map::new();
    function.insert("name".into(), Value::from(call.name.as_str()));
    function.insert("arguments".into(), arguments);
    out.insert("function".into(), Value::Object(function));
    Value::Object(out)
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
                {"type": "function", "function": {"name": "g", "arguments": "not json"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
            {"role": "assistant", "content": "x", "function_call": {"name": "h", "arguments": "{}"}},
            {"role": "function", "name": "h", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
        ]));
        assert_eq!(
            Value::Array(template_messages(&messages)),
            json!([
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": {"a": [1, "é"]}}},
                    {"type": "function", "function": {"name": "g", "arguments": "not json"}}]},
                {"role": "tool", "content": "ok", "tool_call_id": "call_1"},
                {"role": "assistant", "content": "x", "tool_calls": [
                    {"type": "function", "function": {"name": "h", "arguments": {}}}]},
                {"role": "tool", "content": "a\nb", "name": "h"}
            ])
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
