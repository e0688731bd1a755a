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

/// The context window and the prompt's tokens, `(context_window, prompt_tokens)`, of
/// an overflow reply that says both: llama.cpp's `n_ctx`/`n_prompt_tokens` (or its
/// message "request (N tokens) exceeds the available context size (M tokens)"), vLLM's
/// and OpenAI's "maximum context length is M tokens. However, your request has N input
/// tokens" (or "you requested N tokens"), LM Studio's "keep the first N tokens … context
/// length of only M tokens". `None` when the reply does not give both.
pub fn overflow_counts(body: &str) -> Option<(u64, u64)> {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let fields = json.get("error").filter(|e| e.is_object()).unwrap_or(&json);
        let count = |name: &str| fields.get(name).and_then(Value::as_u64);
        if let (Some(context), Some(prompt)) = (count("n_ctx"), count("n_prompt_tokens")) {
            return Some((context, prompt));
        }
    }
    let text = body.to_lowercase();
    let patterns: [(&str, &[&str]); 3] = [
        (
            "maximum context length is",
            &["your request has", "you requested"],
        ),
        ("available context size (", &["request ("]),
        ("context length of only", &["keep the first"]),
    ];
    patterns
        .iter()
        .find_map(|(context_phrase, prompt_phrases)| {
            let context = number_after(&text, context_phrase)?;
            let prompt = prompt_phrases
                .iter()
                .find_map(|phrase| number_after(&text, phrase))?;
            Some((context, prompt))
        })
}

/// The whole number that follows `phrase` (after spaces) in `text`.
fn number_after(text: &str, phrase: &str) -> Option<u64> {
    let start = text.find(phrase)? + phrase.len();
    let rest = text.get(start..)?.trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .map_or(rest, |end| rest.get(..end).unwrap_or_default());
    digits.parse().ok()
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
    fn reads_the_counts_where_the_reply_gives_them() {
        for (body, counts) in [
            (
                r#"{"error":{"code":400,"message":"request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
                Some((4096, 5000)),
            ),
            (
                r#"{"error":{"message":"request (5000 tokens) exceeds the available context size (4096 tokens)"}}"#,
                Some((4096, 5000)),
            ),
            (
                r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens.","type":"BadRequestError","param":null,"code":400}"#,
                Some((4096, 5000)),
            ),
            (
                "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the messages, 1000 in the completion).",
                Some((8192, 9000)),
            ),
            (
                r#"{"error":"Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded with context length of only 8192 tokens"}"#,
                Some((8192, 9000)),
            ),
            (r#"{"error":"the prompt is longer than the context length"}"#, None),
            (r#"{"error":{"message":"This model's maximum context length is 8192 tokens."}}"#, None),
        ] {
            assert_eq!(overflow_counts(body), counts, "{body}");
        }
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
