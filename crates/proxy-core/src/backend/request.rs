//! What a backend is asked to do: [`BackendRequest`] (one completion),
//! [`SamplingOverrides`] (the caller's OpenAI sampling fields), [`DefaultMaxTokens`]
//! (the limit a backend sends when the caller sets none) and [`TokenCountRequest`]
//! (ask the server's own tokenizer).

use serde_json::{Map, Value};

use super::auth::BackendAuth;
use super::constraint::Constraint;
use super::endpoint::Endpoint;
use crate::completion::ChatCompletionRequest;

/// The OpenAI sampling fields a caller may set per request. Each backend writes them
/// under its own field names (e.g. `max_tokens` is `n_predict` for llama.cpp,
/// `max_length` for koboldcpp, `options.num_predict` for ollama); they win over the
/// completion settings and over the backend's own defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingOverrides {
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Most tokens to generate: the request's `max_completion_tokens`, else its
    /// `max_tokens`, lowered by [`clamp_max_tokens`](Self::clamp_max_tokens) to
    /// what the context window has room for.
    pub max_tokens: Option<u64>,
    /// Extra stop strings, added after the settings' stop list.
    pub stop: Vec<String>,
    /// Stop strings of the settings (and of a backend's own defaults) not to send:
    /// [`CALL_END_STOP`](crate::settings::CALL_END_STOP) when a reply may hold several
    /// calls. The caller's own `stop` strings are always sent.
    pub removed_stops: Vec<String>,
    /// Sampling seed.
    pub seed: Option<i64>,
    /// Presence penalty.
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f64>,
}

/// The token limit a backend sends when the caller sets none (stated in its
/// [`WireSpec`](super::WireSpec)). Like a caller's limit, it is lowered to the room the
/// context window leaves after the prompt: the orchestrator puts it into
/// [`SamplingOverrides::max_tokens`] before [`clamp_max_tokens`](SamplingOverrides::clamp_max_tokens),
/// and a body built without the orchestrator clamps it with
/// [`BackendRequest::default_max_tokens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultMaxTokens {
    /// No limit is sent: the server's own default applies (llama.cpp generates until
    /// the end of sequence or a full context).
    #[default]
    ServerDefault,
    /// This many tokens (vLLM's 3000, koboldcpp's 400).
    Fixed(u64),
    /// The whole context window (Groq, LM Studio), which after clamping is all the
    /// room left after the prompt.
    ContextWindow,
}

impl DefaultMaxTokens {
    /// The limit for a `context_window`-token window, before clamping; `None` for
    /// [`ServerDefault`](Self::ServerDefault).
    pub const fn unclamped(self, context_window: u64) -> Option<u64> {
        match self {
            DefaultMaxTokens::ServerDefault => None,
            DefaultMaxTokens::Fixed(tokens) => Some(tokens),
            DefaultMaxTokens::ContextWindow => Some(context_window),
        }
    }
}

impl SamplingOverrides {
    /// The sampling fields of an OpenAI chat-completion request (not yet clamped:
    /// see [`clamp_max_tokens`](Self::clamp_max_tokens)).
    pub fn from_chat_request(request: &ChatCompletionRequest) -> Self {
        SamplingOverrides {
            temperature: request.temperature,
            top_p: request.top_p,
            max_tokens: request.max_completion_tokens.or(request.max_tokens),
            stop: request
                .stop
                .as_ref()
                .map(|stop| stop.to_vec())
                .unwrap_or_default(),
            seed: request.seed,
            presence_penalty: request.presence_penalty,
            frequency_penalty: request.frequency_penalty,
            removed_stops: Vec::new(),
        }
    }

    /// Whether `stop`, from the settings or a backend's defaults, is to be sent (see
    /// [`removed_stops`](Self::removed_stops)).
    pub fn sends_default_stop(&self, stop: &str) -> bool {
        !self.removed_stops.iter().any(|removed| removed == stop)
    }

    /// These overrides with `max_tokens` set to the backend's `default` (for a
    /// `context_window`-token window) when the caller gave none, so that the default
    /// goes through [`clamp_max_tokens`](Self::clamp_max_tokens) as a caller's limit
    /// does.
    pub fn or_default_max_tokens(mut self, default: DefaultMaxTokens, context_window: u64) -> Self {
        if self.max_tokens.is_none() {
            self.max_tokens = default.unclamped(context_window);
        }
        self
    }

    /// Whether `max_tokens` asks for more than a `context_window`-token window
    /// leaves after a prompt of `prompt_tokens` tokens (so clamping would lower it).
    pub fn max_tokens_exceed_room(&self, context_window: u64, prompt_tokens: u64) -> bool {
        self.max_tokens
            .is_some_and(|max| max > room_after(context_window, prompt_tokens))
    }

    /// Lowers `max_tokens` to what a `context_window`-token window leaves after a
    /// prompt of `prompt_tokens` tokens (at least 1: a prompt that fills the window
    /// exactly was allowed, and servers read a limit of 0 differently).
    /// Servers given more than the room either fail the request (vLLM) or generate
    /// past the window (llama.cpp's context shift); the reply is cut at the room
    /// instead, with `finish_reason: "length"`. No `max_tokens` stays none.
    pub fn clamp_max_tokens(&mut self, context_window: u64, prompt_tokens: u64) {
        let room = room_after(context_window, prompt_tokens);
        if let Some(max) = self.max_tokens.as_mut() {
            *max = (*max).min(room);
        }
    }
}

/// The tokens a window has room for after the prompt; at least 1.
fn room_after(context_window: u64, prompt_tokens: u64) -> u64 {
    context_window.saturating_sub(prompt_tokens).max(1)
}

/// One raw-completion request: a rendered prompt plus everything a backend needs to
/// send it. Built by the orchestrator; backends only read it.
#[derive(Debug, Clone)]
pub struct BackendRequest<'a> {
    /// The server's base URL (`http://localhost:8080`), checked once; the backend adds
    /// its path.
    pub endpoint: &'a Endpoint,
    /// Optional credentials.
    pub auth: Option<&'a BackendAuth>,
    /// The rendered prompt.
    pub prompt: &'a str,
    /// The model's context window, in tokens.
    pub context_window: u64,
    /// Tokens in `prompt` (counted by the caller; webui uses it for `max_tokens`).
    pub prompt_tokens: u64,
    /// The output constraint (a grammar or a JSON Schema, in one of the fields the
    /// backend's spec states), written with [`write_constraint`](Self::write_constraint).
    pub constraint: Option<Constraint<'a>>,
    /// The model name (required by ollama, vLLM and Groq).
    pub model: Option<&'a str>,
    /// The end user's id (sent to vLLM).
    pub user: Option<&'a str>,
    /// The merged completion settings (preset + user file), written into the body
    /// before the backend's own fields; see [`crate::settings`].
    pub settings: &'a Map<String, Value>,
    /// The caller's sampling fields, written last.
    pub overrides: SamplingOverrides,
    /// The request's images, base64 (standard, padded) and checked, in the order of
    /// their markers in `prompt` (see [`ImageInput`](super::wire::ImageInput)); empty
    /// for a text-only request, and always for a backend that takes no images.
    pub images: &'a [String],
}

impl<'a> BackendRequest<'a> {
    /// Writes the output constraint, if any, where its field says.
    pub fn write_constraint(&self, body: &mut Map<String, Value>) {
        if let Some(constraint) = &self.constraint {
            constraint.write(body);
        }
    }

    /// A request with no auth, constraint, model, user, overrides or images, for a prompt of
    /// `prompt_tokens` tokens (counted by the caller, with whichever tokenizer it chose).
    pub fn new(
        endpoint: &'a Endpoint,
        prompt: &'a str,
        prompt_tokens: u64,
        context_window: u64,
        settings: &'a Map<String, Value>,
    ) -> Self {
        BackendRequest {
            endpoint,
            auth: None,
            prompt,
            context_window,
            prompt_tokens,
            constraint: None,
            model: None,
            user: None,
            settings,
            overrides: SamplingOverrides::default(),
            images: &[],
        }
    }

    /// The stop strings: the settings' `stop` list (less the
    /// [`removed_stops`](SamplingOverrides::removed_stops)), then the caller's extra
    /// ones (duplicates dropped). `None` when neither gives any, so no stop field is
    /// sent.
    pub fn stop_sequences(&self) -> Option<Vec<String>> {
        let from_settings = self.settings.get("stop");
        let sent = |stop: &&str| self.overrides.sends_default_stop(stop);
        let mut stops: Vec<String> = match from_settings {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(sent)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => Some(one.as_str())
                .filter(sent)
                .map(str::to_owned)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for extra in &self.overrides.stop {
            if !stops.contains(extra) {
                stops.push(extra.clone());
            }
        }
        if stops.is_empty() && from_settings.is_none() {
            None
        } else {
            Some(stops)
        }
    }

    /// The limit a body sends for the backend's `default` when the caller set none:
    /// the default lowered to the room the window leaves after
    /// [`prompt_tokens`](Self::prompt_tokens) (at least 1). The caller's own limit,
    /// when set, replaces it (it is written last, with the other overrides).
    pub fn default_max_tokens(&self, default: DefaultMaxTokens) -> Option<u64> {
        let room = room_after(self.context_window, self.prompt_tokens);
        default
            .unclamped(self.context_window)
            .map(|tokens| tokens.min(room))
    }

    /// The model name, or an error telling the user to set one.
    pub fn require_model(&self, backend: &'static str) -> Result<&'a str, super::BackendError> {
        match self.model {
            Some(model) if !model.trim().is_empty() => Ok(model),
            _ => Err(super::BackendError::InvalidRequest {
                backend,
                reason: "model name not specified; set the model to the one the server should run (e.g. `dolphin2.2-mistral`)".to_owned(),
            }),
        }
    }
}

/// A request to count tokens with the server's own tokenizer.
#[derive(Debug, Clone, Copy)]
pub struct TokenCountRequest<'a> {
    /// The server's base URL, checked once.
    pub endpoint: &'a Endpoint,
    /// Optional credentials.
    pub auth: Option<&'a BackendAuth>,
    /// The model name (vLLM's `/tokenize` wants it).
    pub model: Option<&'a str>,
    /// The text to count.
    pub text: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn settings(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn stop_sequences_append_caller_stops_without_duplicates() {
        let settings = settings(json!({"stop": ["a", "b"]}));
        let mut request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1,
            100,
            &settings,
        );
        request.overrides.stop = vec!["b".into(), "c".into()];
        assert_eq!(
            request.stop_sequences(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn removed_stops_leave_the_settings_list_but_not_the_callers() {
        let list = settings(json!({"stop": ["a", "  }\n}\n", "b"]}));
        let mut request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1,
            100,
            &list,
        );
        request.overrides.removed_stops = vec!["  }\n}\n".into(), "c".into()];
        assert_eq!(request.stop_sequences(), Some(vec!["a".into(), "b".into()]));
        request.overrides.stop = vec!["c".into()];
        assert_eq!(
            request.stop_sequences(),
            Some(vec!["a".into(), "b".into(), "c".into()]),
            "the caller's own stop is sent"
        );
        let one = settings(json!({"stop": "  }\n}\n"}));
        let mut request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1,
            100,
            &one,
        );
        request.overrides.removed_stops = vec!["  }\n}\n".into()];
        assert_eq!(request.stop_sequences(), Some(Vec::new()));
    }

    #[test]
    fn no_stop_anywhere_means_no_field() {
        let settings = settings(json!({"temperature": 0}));
        let request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1,
            100,
            &settings,
        );
        assert_eq!(request.stop_sequences(), None);
    }

    #[test]
    fn missing_or_blank_model_is_a_clear_error() {
        let settings = Map::new();
        let mut request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1,
            100,
            &settings,
        );
        let error = request.require_model("ollama").err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("model name not specified")));
        request.model = Some("  ");
        assert!(request.require_model("ollama").is_err());
        request.model = Some("llama3");
        assert_eq!(request.require_model("ollama").ok(), Some("llama3"));
    }

    #[test]
    fn overrides_come_from_the_chat_request() {
        let chat: ChatCompletionRequest = serde_json::from_value(json!({
            "messages": [], "temperature": 0.5, "max_tokens": 20, "stop": "END", "seed": 3
        }))
        .unwrap_or_default();
        let overrides = SamplingOverrides::from_chat_request(&chat);
        assert_eq!(overrides.temperature, Some(0.5));
        assert_eq!(overrides.max_tokens, Some(20));
        assert_eq!(overrides.stop, vec!["END".to_owned()]);
        assert_eq!(overrides.seed, Some(3));
    }

    #[test]
    fn max_completion_tokens_wins_over_max_tokens() {
        let chat: ChatCompletionRequest = serde_json::from_value(json!({
            "messages": [], "max_tokens": 20, "max_completion_tokens": 50
        }))
        .unwrap_or_default();
        assert_eq!(
            SamplingOverrides::from_chat_request(&chat).max_tokens,
            Some(50)
        );
        let chat: ChatCompletionRequest = serde_json::from_value(json!({
            "messages": [], "max_completion_tokens": 7
        }))
        .unwrap_or_default();
        assert_eq!(
            SamplingOverrides::from_chat_request(&chat).max_tokens,
            Some(7)
        );
    }

    #[test]
    fn a_backend_default_fills_in_only_a_missing_limit() {
        let none = SamplingOverrides::default();
        assert_eq!(
            none.clone()
                .or_default_max_tokens(DefaultMaxTokens::Fixed(3000), 4096)
                .max_tokens,
            Some(3000)
        );
        assert_eq!(
            none.clone()
                .or_default_max_tokens(DefaultMaxTokens::ContextWindow, 4096)
                .max_tokens,
            Some(4096)
        );
        assert_eq!(
            none.or_default_max_tokens(DefaultMaxTokens::ServerDefault, 4096)
                .max_tokens,
            None
        );
        let explicit = SamplingOverrides {
            max_tokens: Some(7),
            ..SamplingOverrides::default()
        };
        assert_eq!(
            explicit
                .or_default_max_tokens(DefaultMaxTokens::ContextWindow, 4096)
                .max_tokens,
            Some(7)
        );
    }

    #[test]
    fn a_bodys_default_limit_fits_the_room_after_the_prompt() {
        let settings = Map::new();
        let request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            1000,
            4096,
            &settings,
        );
        assert_eq!(
            request.default_max_tokens(DefaultMaxTokens::Fixed(3000)),
            Some(3000)
        );
        assert_eq!(
            request.default_max_tokens(DefaultMaxTokens::ContextWindow),
            Some(3096)
        );
        assert_eq!(
            request.default_max_tokens(DefaultMaxTokens::ServerDefault),
            None
        );
        let full = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            4000,
            4096,
            &settings,
        );
        assert_eq!(
            full.default_max_tokens(DefaultMaxTokens::Fixed(3000)),
            Some(96)
        );
        let over = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "hi",
            5000,
            4096,
            &settings,
        );
        assert_eq!(
            over.default_max_tokens(DefaultMaxTokens::ContextWindow),
            Some(1),
            "never 0"
        );
    }

    #[test]
    fn max_tokens_are_clamped_to_the_room_after_the_prompt() {
        let mut overrides = SamplingOverrides {
            max_tokens: Some(1_000_000_000_000),
            ..SamplingOverrides::default()
        };
        assert!(overrides.max_tokens_exceed_room(4096, 1000));
        overrides.clamp_max_tokens(4096, 1000);
        assert_eq!(overrides.max_tokens, Some(3096));
        assert!(!overrides.max_tokens_exceed_room(4096, 1000));
        overrides.clamp_max_tokens(4096, 100);
        assert_eq!(
            overrides.max_tokens,
            Some(3096),
            "a limit that fits is kept"
        );
        overrides.clamp_max_tokens(4096, 4096);
        assert_eq!(overrides.max_tokens, Some(1), "never 0");
        let mut none = SamplingOverrides::default();
        assert!(!none.max_tokens_exceed_room(10, 100));
        none.clamp_max_tokens(10, 100);
        assert_eq!(none.max_tokens, None);
    }
}
