//! Builders shared by the orchestrator's unit tests, and a backend registered only in
//! proxy-core's own test binary (which links no plugin).

use std::sync::Arc;

use serde_json::Value;

use super::target::{ModelTarget, WrapperSelection};
use crate::backend::{BackendCompletion, BackendError, BackendRequest, CompletionBackend};
use crate::chat::AssistantMessage;
use crate::completion::ChatCompletionRequest;
use crate::wrapper::{PromptWrapper, RenderRequest, WrapperError};

/// The endpoint type registered for these tests.
pub(super) const TEST_ENDPOINT_TYPE: &str = "unit-test-server";

/// A backend that is never called.
struct Unreachable;

#[async_trait::async_trait]
impl CompletionBackend for Unreachable {
    async fn complete(
        &self,
        _: &reqwest::Client,
        _: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        Err(BackendError::InvalidRequest {
            backend: TEST_ENDPOINT_TYPE,
            reason: "not called in unit tests".into(),
        })
    }
}

crate::register_backend! {
    name: TEST_ENDPOINT_TYPE,
    description: "proxy-core's unit tests only",
    default_endpoint: "http://localhost:9",
    capabilities: crate::backend::BackendCapabilities {
        constraints: crate::backend::BackendConstraints::NONE,
        model_required: false,
        tokenizer: false,
        streaming: false,
        images: None,
        chat_template: None,
        health: None,
    },
    build: || Box::new(Unreachable),
}

/// A wrapper that renders nothing and parses nothing.
struct Blank;

impl PromptWrapper for Blank {
    fn render_prompt(&self, _: &RenderRequest<'_>) -> Result<String, WrapperError> {
        Ok(String::new())
    }

    fn parse_output(&self, _: &str, _: bool) -> Result<AssistantMessage, WrapperError> {
        Ok(AssistantMessage {
            content: None,
            reasoning: None,
            function_calls: Vec::new(),
        })
    }
}

/// A request from its JSON form.
pub(super) fn request(value: Value) -> ChatCompletionRequest {
    serde_json::from_value(value).unwrap()
}

/// A target on the test backend at its default endpoint, with a 4096-token window
/// and a wrapper of its own (no wrapper is registered in these tests).
pub(super) fn target() -> ModelTarget {
    let mut target = ModelTarget::at_default_endpoint(TEST_ENDPOINT_TYPE, 4096);
    target.wrapper = WrapperSelection::Custom {
        name: "blank".into(),
        wrapper: Arc::new(Blank),
    };
    target
}
