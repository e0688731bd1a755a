//! The request body both LM Studio endpoint types send.

use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::openai::{prompt_as_user_message, set_streaming, StreamUsage};
use proxy_core::backend::{BackendRequest, DefaultMaxTokens};
use serde_json::{json, Value};

/// The model name sent: LM Studio serves whichever model is loaded.
pub const MODEL_NAME: &str = "local model";

/// Where the prompt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptForm {
    /// `prompt` (text completions).
    Prompt,
    /// `messages: [{role: user, content: prompt}]` (chat completions).
    UserMessage,
}

/// What `max_tokens` is unless the caller says otherwise: the context window, which
/// [`BackendRequest::default_max_tokens`] lowers to the room after the prompt.
pub const DEFAULT_MAX_TOKENS: DefaultMaxTokens = DefaultMaxTokens::ContextWindow;

/// Settings, LM Studio's fixed fields, `max_tokens` (the room after the prompt), the prompt
/// in `form`, then the overrides; `stream: true` when streaming (usage in the stream
/// is not asked for).
pub fn body(request: &BackendRequest<'_>, form: PromptForm, stream: bool) -> Value {
    let mut body = request.settings.clone();
    body.insert("input_prefix".into(), json!(""));
    body.insert("input_suffix".into(), json!(""));
    body.insert("lmstudio".into(), json!({ "context_overflow_policy": 0 }));
    body.insert("stream".into(), json!(false));
    body.insert("model".into(), json!(MODEL_NAME));
    if let Some(max_tokens) = request.default_max_tokens(DEFAULT_MAX_TOKENS) {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    match form {
        PromptForm::Prompt => body.insert("prompt".into(), json!(request.prompt)),
        PromptForm::UserMessage => {
            body.insert("messages".into(), prompt_as_user_message(request.prompt))
        }
    };
    request.write_constraint(&mut body);
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(
        &mut body,
        &request.overrides,
        &SamplingFieldNames::OPENAI,
        "lmstudio",
    );
    set_streaming(&mut body, stream, StreamUsage::DoNotAsk);
    Value::Object(body)
}
