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
            "`messages` is empty; send at least a system message",
        ));
    }
    for (field, choice) in [
        ("function_call", &request.function_call),
        ("tool_choice", &request.tool_choice),
    ] {
        match choice {
            None | Some(Value::Null) => {}
            Some(Value::String(auto)) if auto == "auto" => {}
            Some(other) => {
                return Err(ProxyError::invalid(format!(
                    "{field} {other} is not supported (only \"auto\" or leaving it out): the prompt wrappers let the model choose its function"
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
    fn only_auto_or_absent_function_choices_are_accepted() {
        let messages = json!([{"role": "system", "content": "hi"}]);
        for ok in [json!(null), json!("auto")] {
            let req =
                request(json!({"messages": messages, "function_call": ok, "tool_choice": ok}));
            assert!(check_request(&req).is_ok());
        }
        for bad in [
            json!("none"),
            json!("required"),
            json!({"name": "send_message"}),
        ] {
            let req = request(json!({"messages": messages, "function_call": bad}));
            let error = check_request(&req).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidRequest);
            assert!(error.to_string().contains("function_call"), "{error}");
            let req = request(json!({"messages": messages, "tool_choice": bad}));
            assert!(check_request(&req)
                .unwrap_err()
                .to_string()
                .contains("tool_choice"));
        }
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
