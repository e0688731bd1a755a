//! Tools for a template that has no tool support of its own (it never reads `tools`):
//! the documented generic way. The functions are listed at the end of the system
//! message (a system message is added first when the conversation has none), one JSON
//! object per line, with the answer format — a JSON object alone,
//! `{"name": <function>, "arguments": {…}}` — which [`ToolCallFormat::Json`] reads.
//! Earlier calls and their results are rewritten into turns the template can render:
//! an assistant's calls become its text (one call object per line, after any text it
//! wrote), and a `tool` result becomes a `user` turn that names the function.
//!
//! [`ToolCallFormat::Json`]: crate::tool_format::ToolCallFormat::Json

use serde_json::{json, Map, Value};

/// The line that introduces the function list.
pub const FUNCTIONS_HEADING: &str =
    "You can call functions. The functions, one JSON object per line:";

/// The instruction after the list.
pub const ANSWER_INSTRUCTION: &str = "To call a function, answer with only a JSON object: \
{\"name\": <the function's name>, \"arguments\": {<its arguments>}}. Otherwise answer in plain text.";

/// The listing appended to the system message for `tools` (in the
/// `{"type": "function", "function": {…}}` form of
/// [`template_tools`](crate::messages::template_tools)).
pub fn function_listing(tools: &[Value]) -> String {
    let mut listing = String::from(FUNCTIONS_HEADING);
    for tool in tools {
        let function = tool.get("function").unwrap_or(tool);
        listing.push('\n');
        listing.push_str(&function.to_string());
    }
    listing.push('\n');
    listing.push_str(ANSWER_INSTRUCTION);
    listing
}

/// Rewrites template messages (as [`template_messages`](crate::messages::template_messages)
/// gives them) for a template without tool support: the listing of `tools` (when
/// there are any) at the end of the system message, and earlier calls and results as
/// plain turns.
pub fn without_tool_turns(messages: Vec<Value>, tools: &[Value]) -> Vec<Value> {
    let mut rewritten: Vec<Value> = Vec::with_capacity(messages.len() + 1);
    let mut call_names: Vec<(String, String)> = Vec::new();
    for message in messages {
        let Value::Object(mut message) = message else {
            rewritten.push(message);
            continue;
        };
        match message.get("role").and_then(Value::as_str) {
            Some("assistant") => {
                if let Some(Value::Array(calls)) = message.remove("tool_calls") {
                    let mut lines: Vec<String> = text_of(&message).into_iter().collect();
                    for call in &calls {
                        let function = call.get("function").unwrap_or(call);
                        let name = function.get("name").cloned().unwrap_or(Value::Null);
                        let arguments = function
                            .get("arguments")
                            .cloned()
                            .unwrap_or_else(|| json!({}));
                        if let (Some(id), Some(name)) =
                            (call.get("id").and_then(Value::as_str), name.as_str())
                        {
                            call_names.push((id.to_owned(), name.to_owned()));
                        }
                        lines.push(json!({"name": name, "arguments": arguments}).to_string());
                    }
                    message.insert("content".into(), Value::String(lines.join("\n")));
                }
            }
            Some("tool") => {
                let name = message
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        let id = message.get("tool_call_id").and_then(Value::as_str)?;
                        call_names
                            .iter()
                            .rev()
                            .find(|(call_id, _)| call_id == id)
                            .map(|(_, name)| name.clone())
                    })
                    .unwrap_or_else(|| "the function".to_owned());
                let result = text_of(&message).unwrap_or_default();
                let mut turn = Map::new();
                turn.insert("role".into(), Value::String("user".into()));
                turn.insert(
                    "content".into(),
                    Value::String(format!("Result of {name}:\n{result}")),
                );
                message = turn;
            }
            _ => {}
        }
        rewritten.push(Value::Object(message));
    }
    if !tools.is_empty() {
        let listing = function_listing(tools);
        match rewritten.first_mut() {
            Some(Value::Object(first))
                if first.get("role").and_then(Value::as_str) == Some("system") =>
            {
                let text = match text_of(first) {
                    Some(text) if !text.is_empty() => format!("{text}\n\n{listing}"),
                    _ => listing,
                };
                first.insert("content".into(), Value::String(text));
            }
            _ => rewritten.insert(0, json!({"role": "system", "content": listing})),
        }
    }
    rewritten
}

fn text_of(message: &Map<String, Value>) -> Option<String> {
    match message.get("content") {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> Vec<Value> {
        vec![json!({"type": "function", "function": {
            "name": "get_weather", "description": "Weather now.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})]
    }

    #[test]
    fn the_listing_goes_after_the_system_text_one_function_per_line() {
        let messages = vec![
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "Weather in Oslo?"}),
        ];
        let rewritten = without_tool_turns(messages, &weather());
        let system = rewritten[0]["content"].as_str().unwrap();
        assert_eq!(
            system,
            format!(
                "Be brief.\n\n{FUNCTIONS_HEADING}\n{}\n{ANSWER_INSTRUCTION}",
                r#"{"name":"get_weather","description":"Weather now.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}"#
            )
        );
        assert_eq!(
            rewritten[1],
            json!({"role": "user", "content": "Weather in Oslo?"})
        );
    }

    #[test]
    fn a_conversation_without_a_system_message_gets_one_for_the_listing() {
        let rewritten =
            without_tool_turns(vec![json!({"role": "user", "content": "Hi"})], &weather());
        assert_eq!(rewritten.len(), 2);
        assert_eq!(rewritten[0]["role"], "system");
        assert!(rewritten[0]["content"]
            .as_str()
            .unwrap()
            .starts_with(FUNCTIONS_HEADING));
    }

    #[test]
    fn calls_and_results_become_plain_turns_naming_the_function() {
        let messages = vec![
            json!({"role": "user", "content": "Weather in Oslo?"}),
            json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}),
            json!({"role": "tool", "tool_call_id": "call_1", "content": "12 C"}),
        ];
        let rewritten = without_tool_turns(messages, &[]);
        assert_eq!(
            rewritten[1],
            json!({"role": "assistant",
                   "content": "Checking.\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}"})
        );
        assert_eq!(
            rewritten[2],
            json!({"role": "user", "content": "Result of get_weather:\n12 C"})
        );
    }
}
