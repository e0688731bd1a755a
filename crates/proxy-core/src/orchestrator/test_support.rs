//! Builders shared by the orchestrator's unit tests.

use serde_json::Value;

use super::target::ModelTarget;
use crate::completion::ChatCompletionRequest;

/// A request from its JSON form.
pub(super) fn request(value: Value) -> ChatCompletionRequest {
    serde_json::from_value(value).unwrap()
}

/// A llama.cpp target on the default port with a 4096-token window.
pub(super) fn target() -> ModelTarget {
    ModelTarget::new("llamacpp", "http://localhost:8080", 4096)
}
