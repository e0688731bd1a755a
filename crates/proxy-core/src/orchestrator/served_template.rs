//! A chat template the backend serves (llama.cpp's `/props`): fetched on the first
//! request that needs it, built into a wrapper once, and kept for the model's
//! lifetime. A failed fetch is not kept, so a server that comes up later is used.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::error::ProxyError;
use super::target::{ResolvedTarget, TargetWrapper};
use crate::wrapper::PromptWrapper;

/// The wrapper for the template a model's backend serves, once fetched.
pub(super) struct ServedTemplate {
    /// The label responses' logs and errors name the wrapper by.
    label: Arc<str>,
    /// The tool-call format the config names, if any.
    tool_call_format: Option<String>,
    wrapper: OnceCell<Arc<dyn PromptWrapper>>,
}

impl ServedTemplate {
    /// A template to fetch from `endpoint_type`'s server at the first request.
    pub(super) fn new(endpoint_type: &str, tool_call_format: Option<String>) -> Self {
        ServedTemplate {
            label: Arc::from(format!("chat-template({endpoint_type} backend)")),
            tool_call_format,
            wrapper: OnceCell::new(),
        }
    }

    /// Its label.
    pub(super) fn label(&self) -> &str {
        &self.label
    }

    /// The wrapper: built from the backend's template on the first call, the same one
    /// after that.
    pub(super) async fn wrapper(
        &self,
        http: &reqwest::Client,
        target: &ResolvedTarget,
    ) -> Result<TargetWrapper, ProxyError> {
        let wrapper = self
            .wrapper
            .get_or_try_init(|| async {
                let backend = target.backend();
                let replica = target.replicas().preferred();
                let mut spec = backend
                    .backend
                    .chat_template(http, replica.endpoint(), replica.auth())
                    .await?;
                spec.tool_call_format.clone_from(&self.tool_call_format);
                let wrapper = crate::chat_template_plugin::build_chat_template_wrapper(&spec)?;
                tracing::info!(
                    "model served by {}: using the chat template from {}",
                    replica.endpoint(),
                    spec.origin
                );
                Ok::<_, ProxyError>(Arc::from(wrapper))
            })
            .await?;
        Ok(TargetWrapper::Custom(
            Arc::clone(&self.label),
            Arc::clone(wrapper),
        ))
    }
}
