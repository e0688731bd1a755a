//! The request's top-level fields, each honoured or refused by name: what OpenAI's
//! Chat Completions request defines but this proxy cannot do (log probabilities,
//! logit biases, audio, ...) is a 400 naming the field. (A field OpenAI does not
//! define is refused when the request is read: the request type denies unknown
//! fields.)
//!
//! Accepted without effect (they change nothing in the answer): `store`,
//! `metadata`, `service_tier`, `prompt_cache_key`, `prompt_cache_retention`,
//! `safety_identifier`, `stream_options: null`, and the refused fields when `null`
//! (or `false`, `{}`, `["text"]`, `1`: their no-op values). `user` is sent to vLLM.
//! The MemGPT extras (`wrapper`, `first_message`, `function_correction`) are fields
//! of the request type and so are never "unrecognized".

use super::error::ProxyError;
use crate::completion::ChatCompletionRequest;

/// Refuses, naming the field, every field of `request` that would change the
/// answer in a way this proxy cannot honour. (A field OpenAI does not define was
/// already refused when the request was read.)
pub(super) fn check_fields(request: &ChatCompletionRequest) -> Result<(), ProxyError> {
    for (field, value) in [
        ("max_tokens", request.max_tokens),
        ("max_completion_tokens", request.max_completion_tokens),
    ] {
        if value == Some(0) {
            return Err(ProxyError::invalid(format!(
                "`{field}` is 0; send at least 1, or leave it out for no limit but the context window"
            )));
        }
    }
    // `n` above 1 is served up to the model's maximum (checked with the target).
    if request.n == Some(0) {
        return Err(ProxyError::invalid(
            "`n` is 0; send 1 or more, or leave it out",
        ));
    }
    if request.logprobs == Some(true) {
        return Err(cannot("logprobs", "log probabilities are not available from the backends this proxy drives; send `false` or leave it out"));
    }
    if request.top_logprobs.is_some() {
        return Err(cannot(
            "top_logprobs",
            "log probabilities are not available from the backends this proxy drives; leave it out",
        ));
    }
    if request
        .logit_bias
        .as_ref()
        .is_some_and(|bias| !bias.is_empty())
    {
        return Err(cannot(
            "logit_bias",
            "token biases cannot be passed through the prompt wrappers; leave it out",
        ));
    }
    if request.audio.as_ref().is_some_and(|audio| !audio.is_null()) {
        return Err(cannot(
            "audio",
            "this proxy answers in text only; leave it out",
        ));
    }
    if let Some(modalities) = &request.modalities {
        if modalities.iter().any(|modality| modality != "text") {
            return Err(cannot(
                "modalities",
                "this proxy answers in text only; send `[\"text\"]` or leave it out",
            ));
        }
    }
    for (field, value) in [
        ("prediction", &request.prediction),
        ("web_search_options", &request.web_search_options),
    ] {
        if value.as_ref().is_some_and(|value| !value.is_null()) {
            return Err(cannot(
                field,
                "this proxy has no such feature; leave it out",
            ));
        }
    }
    for (field, value) in [
        ("reasoning_effort", &request.reasoning_effort),
        ("verbosity", &request.verbosity),
    ] {
        if value.is_some() {
            return Err(cannot(field, "it changes how OpenAI's own models answer, and the local models this proxy drives have no such setting; leave it out"));
        }
    }
    Ok(())
}

/// A refusal of `field`, which OpenAI defines but this proxy cannot honour.
fn cannot(field: &str, why: &str) -> ProxyError {
    ProxyError::invalid(format!("`{field}` is not supported: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrator::test_support::request;
    use serde_json::{json, Value};

    fn with(field: &str, value: Value) -> ChatCompletionRequest {
        let mut body = json!({"messages": [{"role": "user", "content": "hi"}]});
        body[field] = value;
        request(body)
    }

    fn refusal(field: &str, value: Value) -> String {
        match check_fields(&with(field, value.clone())) {
            Err(error) => {
                assert_eq!(error.kind(), crate::ErrorKind::InvalidRequest);
                error.to_string()
            }
            Ok(()) => panic!("`{field}: {value}` was accepted"),
        }
    }

    #[test]
    fn fields_that_change_nothing_are_accepted() {
        for (field, value) in [
            ("store", json!(true)),
            ("metadata", json!({"run": "7"})),
            ("user", json!("u-1")),
            ("service_tier", json!("auto")),
            ("prompt_cache_key", json!("k")),
            ("prompt_cache_retention", json!("24h")),
            ("safety_identifier", json!("s")),
            ("stream_options", json!(null)),
            ("stream_options", json!({"include_usage": true})),
            ("n", json!(1)),
            ("n", json!(null)),
            ("logprobs", json!(false)),
            ("top_logprobs", json!(null)),
            ("logit_bias", json!({})),
            ("audio", json!(null)),
            ("modalities", json!(["text"])),
            ("prediction", json!(null)),
            ("web_search_options", json!(null)),
            ("reasoning_effort", json!(null)),
            ("parallel_tool_calls", json!(false)),
            ("response_format", json!({"type": "text"})),
            ("wrapper", json!("chatml")),
            ("first_message", json!(true)),
            ("function_correction", json!(false)),
            ("max_completion_tokens", json!(16)),
        ] {
            assert!(
                check_fields(&with(field, value.clone())).is_ok(),
                "`{field}: {value}` was refused"
            );
        }
    }

    #[test]
    fn fields_that_cannot_be_honoured_are_refused_by_name() {
        for (field, value) in [
            ("logprobs", json!(true)),
            ("top_logprobs", json!(3)),
            ("logit_bias", json!({"50256": -100})),
            ("audio", json!({"voice": "alloy", "format": "wav"})),
            ("modalities", json!(["text", "audio"])),
            ("prediction", json!({"type": "content", "content": "x"})),
            ("web_search_options", json!({})),
            ("reasoning_effort", json!("low")),
            ("verbosity", json!("high")),
            ("n", json!(0)),
            ("max_tokens", json!(0)),
            ("max_completion_tokens", json!(0)),
        ] {
            let message = refusal(field, value);
            assert!(message.contains(&format!("`{field}`")), "{message}");
        }
        assert!(
            check_fields(&request(json!({"messages": [], "n": 5}))).is_ok(),
            "n > 1 is served"
        );
    }
}
