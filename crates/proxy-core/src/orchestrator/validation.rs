//! Checking a request and its target before any work is done: typed errors that say
//! what to send instead, never an assert.

use serde_json::Value;

use super::error::ProxyError;
use super::target::ModelTarget;
use crate::completion::ChatCompletionRequest;

/// Refuses requests the pipeline cannot serve, with a message saying what to send.
pub(super) fn check_request(
    target: &ModelTarget,
    request: &ChatCompletionRequest,
) -> Result<(), ProxyError> {
    if target.endpoint_type.trim().is_empty() {
        return Err(ProxyError::invalid(
            "no endpoint type given; set it to the kind of server (e.g. `llamacpp`, `ollama`)",
        ));
    }
    if target.endpoint.trim().is_empty() {
        return Err(ProxyError::invalid(
            "no endpoint given; set it to the server's base URL (e.g. `http://localhost:8080`)",
        ));
    }
    // The endpoint's scheme is checked before anything else happens.
    crate::backend::endpoint_uri(&target.endpoint, "")?;
    if target.context_window == 0 {
        return Err(ProxyError::invalid(
            "no context window given; set it to the model's context length in tokens (e.g. 8192)",
        ));
    }
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
    use crate::orchestrator::test_support::{request, target};
    use serde_json::json;

    #[test]
    fn only_auto_or_absent_function_choices_are_accepted() {
        let messages = json!([{"role": "system", "content": "hi"}]);
        for ok in [json!(null), json!("auto")] {
            let req =
                request(json!({"messages": messages, "function_call": ok, "tool_choice": ok}));
            assert!(check_request(&target(), &req).is_ok());
        }
        for bad in [
            json!("none"),
            json!("required"),
            json!({"name": "send_message"}),
        ] {
            let req = request(json!({"messages": messages, "function_call": bad}));
            let error = check_request(&target(), &req).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidRequest);
            assert!(error.to_string().contains("function_call"), "{error}");
            let req = request(json!({"messages": messages, "tool_choice": bad}));
            assert!(check_request(&target(), &req)
                .unwrap_err()
                .to_string()
                .contains("tool_choice"));
        }
    }

    #[test]
    fn missing_target_fields_and_empty_messages_are_refused() {
        let req = request(json!({"messages": [{"role": "system", "content": "hi"}]}));
        let mut no_window = target();
        no_window.context_window = 0;
        assert!(check_request(&no_window, &req)
            .unwrap_err()
            .to_string()
            .contains("context window"));
        let mut no_endpoint = target();
        no_endpoint.endpoint.clear();
        assert!(check_request(&no_endpoint, &req)
            .unwrap_err()
            .to_string()
            .contains("endpoint"));
        let mut no_type = target();
        no_type.endpoint_type.clear();
        assert!(check_request(&no_type, &req)
            .unwrap_err()
            .to_string()
            .contains("endpoint type"));
        let empty = request(json!({"messages": []}));
        assert!(check_request(&target(), &empty)
            .unwrap_err()
            .to_string()
            .contains("messages"));
        let tool = request(json!({"messages": [{"role": "system", "content": "hi"}],
            "tools": [{"type": "retrieval", "function": {"name": "x"}}]}));
        assert!(check_request(&target(), &tool)
            .unwrap_err()
            .to_string()
            .contains("retrieval"));
    }
}
