//! `webui-legacy`: text-generation-webui's pre-November-2023 `/api/v1/generate`.

use proxy_core::backend::fields::{write_overrides, write_stop_sequences, SamplingFieldNames};
use proxy_core::backend::wire::HealthRoute;
use proxy_core::backend::{
    BackendCompletion, BackendConstraints, BackendError, BackendFinishReason, BackendRequest,
    DefaultMaxTokens, JsonReply, WireFormat, WireSpec,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The completion path.
pub const COMPLETION_PATH: &str = "/api/v1/generate";

/// Generated tokens asked for unless the caller says otherwise (the reference's value),
/// at most the room after the prompt (webui cuts the prompt to `truncation_length`
/// minus this).
pub const DEFAULT_MAX_NEW_TOKENS: u64 = 3072;

const FIELDS: SamplingFieldNames = SamplingFieldNames::OPENAI.with_max_tokens(&["max_new_tokens"]);

/// The `webui-legacy` wire format (it cannot stream).
#[derive(Debug, Clone, Copy, Default)]
pub struct WebUiLegacyBackend;

/// Settings, `stop` and `stopping_strings` (the same list), `max_new_tokens` (the
/// default, clamped),
/// `prompt`, `truncation_length`, `grammar_string` when asked, then the overrides.
pub fn body(request: &BackendRequest<'_>) -> Value {
    let mut body = request.settings.clone();
    write_stop_sequences(&mut body, request, "stop");
    if let Some(stops) = body.get("stop").cloned() {
        body.insert("stopping_strings".into(), stops);
    }
    if let Some(max_new_tokens) =
        request.default_max_tokens(WebUiLegacyBackend::SPEC.default_max_tokens)
    {
        body.insert("max_new_tokens".into(), json!(max_new_tokens));
    }
    body.insert("prompt".into(), json!(request.prompt));
    body.insert("truncation_length".into(), json!(request.context_window));
    request.write_constraint(&mut body);
    write_overrides(
        &mut body,
        &request.overrides,
        &FIELDS,
        WebUiLegacyBackend::SPEC.name,
    );
    Value::Object(body)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct GenerateResult {
    text: Option<String>,
}

/// A legacy `/api/v1/generate` reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateReply {
    results: Vec<GenerateResult>,
}

fn completion(reply: JsonReply<GenerateReply>) -> Result<BackendCompletion, BackendError> {
    let text = reply.value.results.first().and_then(|r| r.text.clone());
    let Some(text) = text else {
        return Err(reply.invalid("the reply has no `results[0].text`"));
    };
    reply.into_completion(text, None, None, BackendFinishReason::Unknown)
}

impl WireFormat for WebUiLegacyBackend {
    const SPEC: WireSpec = WireSpec {
        name: "webui-legacy",
        server: super::SERVER,
        description: "text-generation-webui, legacy /api/v1/generate API (before Nov 2023)",
        default_endpoint: super::DEFAULT_ENDPOINT,
        completion_path: COMPLETION_PATH,
        constraints: BackendConstraints {
            fields: &[crate::current::GRAMMAR_STRING],
            first_by_default: true,
        },
        model_required: false,
        default_max_tokens: DefaultMaxTokens::Fixed(DEFAULT_MAX_NEW_TOKENS),
        stream: None,
        tokenizer: None,
        // The legacy API takes a text prompt only: image parts are refused.
        images: None,
        // text-generation-webui's API serves no chat template.
        chat_template: None,
        // The legacy API's model route: the server and its model are up.
        health: Some(HealthRoute {
            path: "/api/v1/model",
        }),
    };
    type Reply = GenerateReply;

    fn body(request: &BackendRequest<'_>, _stream: bool) -> Value {
        body(request)
    }

    fn decode_reply(
        reply: JsonReply<GenerateReply>,
        _sent: &Value,
    ) -> Result<BackendCompletion, BackendError> {
        completion(reply)
    }
}
