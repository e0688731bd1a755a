//! Building the OpenAI response: ids, the message, `finish_reason` and `usage`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::{BackendCompletion, BackendFinishReason};
use crate::chat::AssistantMessage;
use crate::completion::{ChatCompletionResponse, Choice, FinishReason, Usage};

/// The `system_fingerprint` of every response and chunk: this build of the proxy
/// (OpenAI's names the configuration that answered; clients log it, and some SDK
/// types expect a string).
pub const SYSTEM_FINGERPRINT: &str = concat!("fp_ccp_", env!("CARGO_PKG_VERSION"));

/// What every response (and every streamed chunk) of one completion shares, fixed
/// when the request arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    /// `chatcmpl-…`.
    pub id: String,
    /// Unix time, in seconds.
    pub created: u64,
    /// The model name (see [`ModelTarget::public_name`](super::ModelTarget::public_name)).
    pub model: String,
}

impl ResponseHeader {
    /// A fresh id and the current time, for a response naming `model`.
    pub fn new(model: String) -> Self {
        ResponseHeader {
            id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or_default(),
            model,
        }
    }
}

/// The OpenAI response for a parsed message. `usage.prompt_tokens` is the backend's
/// count, else `counted_prompt_tokens`.
pub(super) fn build_response(
    header: &ResponseHeader,
    legacy: bool,
    message: &AssistantMessage,
    completion: &BackendCompletion,
    counted_prompt_tokens: u64,
) -> ChatCompletionResponse {
    let prompt_tokens = crate::backend::completion::nonzero(completion.prompt_tokens)
        .unwrap_or(counted_prompt_tokens);
    let completion_tokens = completion
        .completion_tokens
        .unwrap_or_else(|| crate::tokens::count_tokens(&completion.text));
    ChatCompletionResponse {
        id: header.id.clone(),
        object: "chat.completion".to_owned(),
        created: header.created,
        model: header.model.clone(),
        system_fingerprint: Some(SYSTEM_FINGERPRINT.to_owned()),
        choices: vec![Choice {
            index: 0,
            message: message.to_response_message(legacy),
            logprobs: None,
            finish_reason: finish_reason(message, legacy, completion.finish_reason),
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    }
}

/// `length` when the backend hit its token limit (a call cut off there was repaired, not
/// finished), else `tool_calls`/`function_call` when a call came back, else `stop`.
pub(super) fn finish_reason(
    message: &AssistantMessage,
    legacy: bool,
    backend: BackendFinishReason,
) -> FinishReason {
    let called = !message.function_calls.is_empty();
    match (backend, called, legacy) {
        (BackendFinishReason::Length, _, _) => FinishReason::Length,
        (_, true, true) => FinishReason::FunctionCall,
        (_, true, false) => FinishReason::ToolCalls,
        (_, false, _) => backend.to_openai(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ParsedFunctionCall;
    use serde_json::{json, Value};

    #[test]
    fn finish_reasons() {
        let call = AssistantMessage {
            content: Some("thinking".into()),
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({}),
            }],
        };
        let text = AssistantMessage {
            content: Some("hello".into()),
            reasoning: None,
            function_calls: Vec::new(),
        };
        use BackendFinishReason as B;
        assert_eq!(
            finish_reason(&call, false, B::Stop),
            FinishReason::ToolCalls
        );
        assert_eq!(
            finish_reason(&call, true, B::Stop),
            FinishReason::FunctionCall
        );
        assert_eq!(
            finish_reason(&call, false, B::Length),
            FinishReason::Length,
            "a call cut off at the token limit was repaired, not finished"
        );
        assert_eq!(finish_reason(&text, false, B::Length), FinishReason::Length);
        assert_eq!(finish_reason(&text, false, B::Stop), FinishReason::Stop);
        assert_eq!(finish_reason(&text, true, B::Unknown), FinishReason::Stop);
    }

    #[test]
    fn legacy_callers_get_only_function_call() {
        let call = AssistantMessage {
            content: None,
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({"message": "hi"}),
            }],
        };
        let completion = BackendCompletion {
            text: String::new(),
            completion_tokens: Some(1),
            prompt_tokens: Some(1),
            finish_reason: BackendFinishReason::Stop,
        };
        let header = ResponseHeader::new("m".to_owned());
        let legacy = build_response(&header, true, &call, &completion, 1);
        let message = &legacy.choices[0].message;
        assert_eq!(
            message.function_call.as_ref().map(|c| c.name.as_str()),
            Some("send_message")
        );
        assert_eq!(message.tool_calls, None, "OpenAI sends one form, not both");
        let tools = build_response(&header, false, &call, &completion, 1);
        let message = &tools.choices[0].message;
        assert_eq!(message.function_call, None);
        assert_eq!(message.tool_calls.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn usage_prefers_the_backend_counts_and_falls_back_to_counting() {
        let message = AssistantMessage {
            content: Some("x".into()),
            reasoning: None,
            function_calls: Vec::new(),
        };
        let reported = BackendCompletion {
            text: "hello world".into(),
            completion_tokens: Some(7),
            prompt_tokens: Some(40),
            finish_reason: BackendFinishReason::Stop,
        };
        let header = ResponseHeader::new("m".to_owned());
        let response = build_response(&header, false, &message, &reported, 30);
        assert_eq!(
            response.usage,
            Usage {
                prompt_tokens: 40,
                completion_tokens: 7,
                total_tokens: 47
            }
        );
        assert!(response.id.starts_with("chatcmpl-"));
        assert_eq!(response.model, "m");
        let wire = serde_json::to_value(&response).unwrap_or_default();
        assert_eq!(wire["system_fingerprint"], SYSTEM_FINGERPRINT);
        assert!(SYSTEM_FINGERPRINT.starts_with("fp_ccp_"));
        let choice = &wire["choices"][0];
        assert!(
            choice.get("logprobs").is_some_and(Value::is_null),
            "{choice}"
        );
        assert!(
            choice["message"].get("refusal").is_some_and(Value::is_null),
            "{choice}"
        );
        let unreported = BackendCompletion {
            completion_tokens: None,
            prompt_tokens: Some(0),
            ..reported
        };
        let response = build_response(&header, false, &message, &unreported, 30);
        let counted = crate::tokens::count_tokens("hello world");
        assert_eq!(
            response.usage,
            Usage {
                prompt_tokens: 30,
                completion_tokens: counted,
                total_tokens: 30 + counted
            }
        );
    }
}
