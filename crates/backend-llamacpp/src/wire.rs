//! llama.cpp's `/completion` request body and reply.

use proxy_core::backend::completion::nonzero;
use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, JsonReply,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The sampling fields under llama.cpp's names.
const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["n_predict"]);

/// Settings, `prompt`, `stop` (array), `grammar` when asked, then the overrides.
pub fn body(request: &BackendRequest<'_>) -> Value {
    let mut body = request.settings.clone();
    body.insert("prompt".into(), json!(request.prompt));
    if let Some(grammar) = request.grammar {
        body.insert("grammar".into(), json!(grammar));
    }
    write_stop_sequences(&mut body, request, "stop");
    write_overrides(&mut body, &request.overrides, &FIELDS, "llamacpp");
    Value::Object(body)
}

/// A `/completion` reply (non-streaming).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompletionReply {
    content: Option<String>,
    tokens_predicted: Option<u64>,
    tokens_evaluated: Option<u64>,
    stop_type: Option<String>,
    stopped_eos: Option<bool>,
    stopped_word: Option<bool>,
    stopped_limit: Option<bool>,
}

impl CompletionReply {
    fn finish_reason(&self) -> BackendFinishReason {
        match self.stop_type.as_deref() {
            Some("eos") | Some("word") => return BackendFinishReason::Stop,
            Some("limit") => return BackendFinishReason::Length,
            Some(_) => return BackendFinishReason::Unknown,
            None => {}
        }
        if self.stopped_eos == Some(true) || self.stopped_word == Some(true) {
            BackendFinishReason::Stop
        } else if self.stopped_limit == Some(true) {
            BackendFinishReason::Length
        } else {
            BackendFinishReason::Unknown
        }
    }
}

/// Reads the text, token counts and stop reason.
pub fn completion(reply: JsonReply<CompletionReply>) -> Result<BackendCompletion, BackendError> {
    let Some(text) = reply.value.content.clone() else {
        return Err(reply.invalid("the reply has no `content`"));
    };
    let finish = reply.value.finish_reason();
    let completion_tokens = reply.value.tokens_predicted;
    let prompt_tokens = nonzero(reply.value.tokens_evaluated);
    reply.into_completion(text, completion_tokens, prompt_tokens, finish)
}

/// A `/tokenize` reply: token ids, or `{id, piece}` objects with `with_pieces`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenizeReply {
    /// The tokens.
    pub tokens: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(reply: Value) -> BackendFinishReason {
        serde_json::from_value::<CompletionReply>(reply)
            .unwrap_or_default()
            .finish_reason()
    }

    #[test]
    fn stop_reason_new_and_old_forms() {
        assert_eq!(
            reason(json!({"stop_type": "eos"})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stop_type": "word"})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stop_type": "limit"})),
            BackendFinishReason::Length
        );
        assert_eq!(
            reason(json!({"stop_type": "none"})),
            BackendFinishReason::Unknown
        );
        assert_eq!(
            reason(json!({"stopped_eos": false, "stopped_word": true, "stopped_limit": false})),
            BackendFinishReason::Stop
        );
        assert_eq!(
            reason(json!({"stopped_eos": false, "stopped_word": false, "stopped_limit": true})),
            BackendFinishReason::Length
        );
        assert_eq!(reason(json!({})), BackendFinishReason::Unknown);
    }
}
