//! The request body both LM Studio endpoint types send.

use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::openai::{prompt_as_user_message, set_streaming, StreamUsage};
use proxy_core::backend::BackendRequest;
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

/// Settings, LM Studio's fixed fields, `max_tokens` = the context window, the prompt
/// in `form`, then the overrides; `stream: true` when streaming (usage in the stream
/// is not asked for).
pub fn body(request: &BackendRequest<'_>, form: PromptForm, stream: bool) -> Value {
    let mut body = request.settings.clone();
    body.insert("input_prefix".into(), json!(""));
    body.insert("input_suffix".into(), json!(""));
    body.insert("lmstudio".into(), json!({ "context_overflow_policy": 0 }));
    body.insert("stream".into(), json!(false));
    body.insert("model".into(), json!(MODEL_NAME));
    body.insert("max_tokens".into(), json!(request.context_window));
    match form {
        PromptForm::Prompt => body.insert("prompt".into(), json!(request.prompt)),
        PromptForm::UserMessage => {
            body.insert("messages".into(), prompt_as_user_message(request.prompt))
        }
    };
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
