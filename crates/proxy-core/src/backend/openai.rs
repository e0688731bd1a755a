//! OpenAI-shaped replies (`/v1/completions` and `/v1/chat/completions`), shared by
//! the OpenAI-compatible backends (webui, LM Studio, vLLM, Groq). Unknown fields are
//! ignored; missing ones default.

use serde::Deserialize;
use serde_json::Value;

use super::completion::{nonzero, BackendCompletion, BackendFinishReason};
use super::error::BackendError;
use super::http::{post_json, BackendCall, JsonReply};

/// `usage` of an OpenAI-style reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplyUsage {
    /// Prompt tokens (often 0 or wrong on local servers).
    pub prompt_tokens: Option<u64>,
    /// Generated tokens.
    pub completion_tokens: Option<u64>,
}

/// One choice of a text-completion reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TextChoice {
    /// The generated text.
    pub text: Option<String>,
    /// `"stop"`, `"length"`, …
    pub finish_reason: Option<String>,
}

/// A `/v1/completions` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TextCompletionReply {
    /// The choices; the first one is used.
    pub choices: Vec<TextChoice>,
    /// Token counts.
    pub usage: Option<ReplyUsage>,
}

/// The message of a chat choice.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplyMessage {
    /// The generated text (`null` when the model produced none).
    pub content: Option<String>,
}

/// One choice of a chat-completion reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChatChoice {
    /// The assistant message.
    pub message: Option<ReplyMessage>,
    /// `"stop"`, `"length"`, …
    pub finish_reason: Option<String>,
}

/// A `/v1/chat/completions` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChatCompletionReply {
    /// The choices; the first one is used.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: Option<ReplyUsage>,
}

/// POSTs a text-completion body and reads `choices[0].text`,
/// `choices[0].finish_reason` and `usage`.
pub async fn complete_text(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    body: &Value,
) -> Result<BackendCompletion, BackendError> {
    let reply: JsonReply<TextCompletionReply> = post_json(http, call, body).await?;
    let Some(choice) = reply.value.choices.first().cloned() else {
        return Err(reply.invalid("the reply has no `choices`"));
    };
    let Some(text) = choice.text else {
        return Err(reply.invalid("`choices[0]` has no `text`"));
    };
    let usage = reply.value.usage.clone().unwrap_or_default();
    let finish = BackendFinishReason::from_openai(choice.finish_reason.as_deref());
    reply.into_completion(
        text,
        usage.completion_tokens,
        nonzero(usage.prompt_tokens),
        finish,
    )
}

/// POSTs a chat-completion body and reads `choices[0].message.content`,
/// `choices[0].finish_reason` and `usage`.
pub async fn complete_chat(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    body: &Value,
) -> Result<BackendCompletion, BackendError> {
    let reply: JsonReply<ChatCompletionReply> = post_json(http, call, body).await?;
    let Some(choice) = reply.value.choices.first().cloned() else {
        return Err(reply.invalid("the reply has no `choices`"));
    };
    let Some(message) = choice.message else {
        return Err(reply.invalid("`choices[0]` has no `message`"));
    };
    let usage = reply.value.usage.clone().unwrap_or_default();
    let finish = BackendFinishReason::from_openai(choice.finish_reason.as_deref());
    reply.into_completion(
        message.content.unwrap_or_default(),
        usage.completion_tokens,
        nonzero(usage.prompt_tokens),
        finish,
    )
}

/// `[{"role": "user", "content": prompt}]`: how a raw prompt is sent to a chat-only
/// endpoint (the server's chat template is then applied on top).
pub fn prompt_as_user_message(prompt: &str) -> Value {
    serde_json::json!([{ "role": "user", "content": prompt }])
}
