//! Checking a request before any work is done: typed errors that say
//! what to send instead, never an assert.

use serde_json::Value;

use super::error::ProxyError;
use crate::completion::ChatCompletionRequest;

/// Refuses requests the pipeline cannot serve, with a message saying what to send.
/// (The target was checked once, when it was resolved.)
pub(super) fn check_request(request: &ChatCompletionRequest) -> Result<(), ProxyError> {
    super::request_fields::check_fields(request)?;
    if request.messages.is_empty() {
        return Err(ProxyError::invalid(
            "`messages` is empty; send at least one message",
        ));
    }
    for (index, function) in request.function_schemas().iter().enumerate() {
        let field = if request.functions.is_some() {
            format!("functions[{index}].parameters")
        } else {
            format!("tools[{index}].function.parameters")
        };
        match &function.parameters {
            None | Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(ProxyError::invalid(format!(
                    "{field} must be a JSON Schema object, not {other}"
                )))
            }
        }
    }
    if let Some(tool) = request
        .tools
        .iter()
        .flatten()
        .find(|tool| tool.kind != "function")
    {
        return Err(ProxyError::invalid(format!(
            "tool type `{}` is not supported; only `function` tools can be called",
            tool.kind
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrator::test_support::request;
    use serde_json::json;

    #[test]
    fn non_object_parameters_are_refused_naming_the_field() {
        let text_parts = request(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi"}]}]}));
        assert!(check_request(&text_parts).is_ok());
        let tools = request(json!({"messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}));
        let message = check_request(&tools).unwrap_err().to_string();
        assert!(
            message.contains("tools[0].function.parameters"),
            "{message}"
        );
        let functions = request(json!({"messages": [{"role": "user", "content": "hi"}],
            "functions": [{"name": "f", "parameters": []}]}));
        let message = check_request(&functions).unwrap_err().to_string();
        assert!(message.contains("functions[0].parameters"), "{message}");
    }

    #[test]
    fn empty_messages_and_other_tool_types_are_refused() {
        let empty = request(json!({"messages": []}));
        assert!(check_request(&empty)
            .unwrap_err()
            .to_string()
            .contains("messages"));
        let tool = request(json!({"messages": [{"role": "system", "content": "hi"}],
            "tools": [{"type": "retrieval", "function": {"name": "x"}}]}));
        assert!(check_request(&tool)
            .unwrap_err()
            .to_string()
            .contains("retrieval"));
    }
}
