//! Recognising error replies: error objects inside a 200 body, and the ways each
//! server says "the prompt does not fit the context window".

use serde_json::Value;

/// Phrases (lowercase) servers use when a prompt overflows the context:
/// llama.cpp's `exceed_context_size_error` type and its older "exceeds the available
/// context size" message; LM Studio ("Context length exceeded", "greater than the
/// context length"), Groq (code `context_length_exceeded`), ollama ("longer than the
/// context length"), all covered by "context length"; vLLM ("maximum context length").
const CONTEXT_OVERFLOW_PHRASES: [&str; 5] = [
    "exceed_context_size_error",
    "exceeds the available context size",
    "context length",
    "context_length_exceeded",
    "maximum context length",
];

/// Whether an error body says the prompt overflowed the context window.
pub fn mentions_context_overflow(body: &str) -> bool {
    let body = body.to_lowercase();
    CONTEXT_OVERFLOW_PHRASES
        .iter()
        .any(|phrase| body.contains(phrase))
}

/// The error message of a body that is an error object rather than a reply:
/// `{"error": "…"}` (ollama, LM Studio), `{"error": {"message": …}}` (OpenAI style,
/// llama.cpp, vLLM ≥ 0.10.1, Groq) or `{"object": "error", "message": …}` (vLLM
/// before 0.10.1). A `null` error field is not an error.
pub fn error_message(body: &Value) -> Option<String> {
    let object = body.as_object()?;
    match object.get("error") {
        Some(Value::Null) | None => {}
        Some(Value::String(message)) => return Some(message.clone()),
        Some(Value::Object(error)) => {
            return Some(match error.get("message").and_then(Value::as_str) {
                Some(message) => message.to_owned(),
                None => Value::Object(error.clone()).to_string(),
            })
        }
        Some(other) => return Some(other.to_string()),
    }
    if object.get("object").and_then(Value::as_str) == Some("error") {
        return Some(
            object
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unspecified error")
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_each_servers_overflow_reply() {
        for body in [
            r#"{"error":{"code":400,"message":"request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
            r#"{"error":"Context length exceeded. Tokens in context: 8000, Context length: 8000"}"#,
            r#"{"error":{"message":"Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens.","type":"BadRequestError","param":null,"code":400}"#,
            r#"{"error":"the prompt is longer than the context length currently available to the model"}"#,
        ] {
            assert!(mentions_context_overflow(body), "{body}");
        }
        assert!(!mentions_context_overflow(
            r#"{"error":"model 'x' not found"}"#
        ));
    }

    #[test]
    fn finds_error_messages_in_every_shape() {
        assert_eq!(
            error_message(&json!({"error": "model 'x' not found"})).as_deref(),
            Some("model 'x' not found")
        );
        assert_eq!(
            error_message(&json!({"error": {"message": "bad", "type": "server_error"}})).as_deref(),
            Some("bad")
        );
        assert_eq!(
            error_message(&json!({"object": "error", "message": "old vllm"})).as_deref(),
            Some("old vllm")
        );
        assert_eq!(error_message(&json!({"error": null, "content": "x"})), None);
        assert_eq!(error_message(&json!({"content": "x"})), None);
        assert_eq!(error_message(&json!(["not", "an", "object"])), None);
    }
}
