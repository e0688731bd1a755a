//! The `groq` endpoint type: Groq's hosted OpenAI-compatible API. Groq has no text
//! completion endpoint, so the rendered prompt goes as one user message to
//! `POST /v1/chat/completions` (under the default endpoint
//! `https://api.groq.com/openai`); Groq applies the model's chat template on top.
//!
//! Body: the completion settings, `stop` = at most 4 strings (Groq's limit): the
//! caller's, then `"\nUSER"`, `"\nASSISTANT"`, `"\nFUNCTION"`, `"  }\n}\n"` (the last
//! not when the reply may hold several calls; the settings' stop list is replaced, as
//! in the reference), `model` (required),
//! `max_tokens` = the room the context window leaves after the prompt, `messages`, then the caller's other sampling
//! fields. Reply: OpenAI chat shape; overflow is a 400 with code
//! `context_length_exceeded`. Auth is `Authorization: Bearer $GROQ_API_KEY`. No
//! grammar support, no tokenize endpoint. Streams with `"stream": true` (OpenAI's
//! chat-completion server-sent events; usage from `x_groq.usage` when present).

use proxy_core::backend::fields::{write_overrides, SamplingFieldNames};
use proxy_core::backend::openai::{
    chat_completion, chat_stream, prompt_as_user_message, set_streaming, ChatCompletionReply,
    StreamUsage,
};
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendRequest, ConstraintField,
    ConstraintLanguage, ConstraintPlacement, DefaultMaxTokens, JsonReply, SamplingOverrides,
    WireFormat, WireSpec,
};
use proxy_core::settings::CALL_END_STOP;
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/v1/chat/completions";
/// Groq accepts at most this many stop strings.
pub const MAX_STOP_SEQUENCES: usize = 4;
/// The stop strings sent when the caller gives none (the last,
/// [`CALL_END_STOP`], not when a reply may hold several calls).
pub const DEFAULT_STOP: [&str; MAX_STOP_SEQUENCES] =
    ["\nUSER", "\nASSISTANT", "\nFUNCTION", CALL_END_STOP];
/// The Groq wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroqBackend;

/// The caller's stop strings, then the defaults (less the overrides'
/// `removed_stops`), capped at Groq's 4.
pub fn stop_sequences(overrides: &SamplingOverrides) -> Vec<String> {
    let mut stops: Vec<String> = Vec::new();
    let defaults = DEFAULT_STOP
        .into_iter()
        .filter(|stop| overrides.sends_default_stop(stop));
    let candidates = overrides.stop.iter().map(String::as_str).chain(defaults);
    for stop in candidates {
        if !stops.iter().any(|s| s == stop) {
            stops.push(stop.to_owned());
        }
    }
    if stops.len() > MAX_STOP_SEQUENCES {
        tracing::warn!(
            "Groq accepts at most {MAX_STOP_SEQUENCES} stop strings; sending {:?}",
            &stops[..MAX_STOP_SEQUENCES]
        );
        stops.truncate(MAX_STOP_SEQUENCES);
    }
    stops
}

/// Settings, `stop`, `model`, `max_tokens` (the room after the prompt), `messages`, then the overrides;
/// `stream: true` when streaming (usage comes in `x_groq.usage` unasked).
pub fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
    let mut body = request.settings.clone();
    body.insert("stop".into(), json!(stop_sequences(&request.overrides)));
    body.insert("model".into(), json!(request.model));
    if let Some(max_tokens) = request.default_max_tokens(GroqBackend::SPEC.default_max_tokens) {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    body.insert("messages".into(), prompt_as_user_message(request.prompt));
    request.write_constraint(&mut body);
    write_overrides(
        &mut body,
        &request.overrides,
        &SamplingFieldNames::OPENAI,
        GroqBackend::SPEC.name,
    );
    set_streaming(&mut body, stream, StreamUsage::DoNotAsk);
    Value::Object(body)
}

impl WireFormat for GroqBackend {
    const SPEC: WireSpec = WireSpec {
        name: "groq",
        server: "Groq inference server",
        description: "Groq cloud, /v1/chat/completions with the prompt as one user message (model and API key required)",
        default_endpoint: "https://api.groq.com/openai",
        completion_path: COMPLETION_PATH,
        // Only some Groq models take a JSON Schema (the others answer 400): a model
        // entry asks for it with `constraint = "response_format"`.
        constraints: BackendConstraints {
            fields: &[ConstraintField {
                name: "response_format",
                language: ConstraintLanguage::JsonSchema,
                placement: ConstraintPlacement::ResponseFormat,
                note: "only the models with structured outputs; set it per model",
            }],
            first_by_default: false,
        },
        model_required: true,
        default_max_tokens: DefaultMaxTokens::ContextWindow,
        stream: Some(chat_stream(COMPLETION_PATH)),
        tokenizer: None,
        // The rendered prompt is one chat message's text; image parts of that
        // message would all come after the prompt, not in their places: refused.
        images: None,
        // A hosted API: it applies each model's template itself and serves none.
        chat_template: None,
        // A hosted API: its availability is Groq's, and a probe would spend the rate
        // limit; a replica of it is judged by real traffic only.
        health: None,
    };
    type Reply = ChatCompletionReply;

    fn body(request: &BackendRequest<'_>, stream: bool) -> Value {
        body(request, stream)
    }

    fn decode_reply(
        reply: JsonReply<ChatCompletionReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        chat_completion(reply)
    }
}

proxy_core::register_wire_format!(GroqBackend);

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(stop: &[&str], removed: &[&str]) -> SamplingOverrides {
        SamplingOverrides {
            stop: stop.iter().map(|s| (*s).to_owned()).collect(),
            removed_stops: removed.iter().map(|s| (*s).to_owned()).collect(),
            ..SamplingOverrides::default()
        }
    }

    #[test]
    fn stop_list_is_the_four_defaults_or_the_callers_first() {
        assert_eq!(
            stop_sequences(&overrides(&[], &[])),
            DEFAULT_STOP.map(String::from).to_vec()
        );
        assert_eq!(
            stop_sequences(&overrides(&["<|eot_id|>", "\nUSER"], &[])),
            vec!["<|eot_id|>", "\nUSER", "\nASSISTANT", "\nFUNCTION"]
        );
    }

    #[test]
    fn a_removed_default_is_not_sent_but_a_callers_stop_is() {
        assert_eq!(
            stop_sequences(&overrides(&["<|eot_id|>"], &[CALL_END_STOP])),
            vec!["<|eot_id|>", "\nUSER", "\nASSISTANT", "\nFUNCTION"]
        );
        assert_eq!(
            stop_sequences(&overrides(&[CALL_END_STOP], &[CALL_END_STOP])),
            vec![CALL_END_STOP, "\nUSER", "\nASSISTANT", "\nFUNCTION"]
        );
    }
}
