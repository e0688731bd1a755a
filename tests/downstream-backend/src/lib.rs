//! A backend plugin as a downstream user writes one: one crate that depends on
//! `proxy-core` only and registers itself with `register_backend!`.
//!
//! `downstream-echo` is an in-process "server": it answers every prompt with a
//! `send_message` call (in the `downstream-plain` wrapper's `call NAME {json}` form)
//! whose message says how many bytes of prompt it read, so a test can see that the
//! prompt the server rendered reached the backend.

use proxy_core::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, CompletionBackend,
};

/// The endpoint type this crate registers.
pub const ENDPOINT_TYPE: &str = "downstream-echo";

/// Answers every prompt with a `send_message` call naming the prompt's length.
pub struct EchoBackend;

#[async_trait::async_trait]
impl CompletionBackend for EchoBackend {
    async fn complete(
        &self,
        _http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        Ok(BackendCompletion {
            text: format!(
                " Echoing.\ncall send_message {{\"message\": \"read {} bytes\"}}",
                request.prompt.len()
            ),
            completion_tokens: Some(7),
            prompt_tokens: None,
            finish_reason: BackendFinishReason::Stop,
        })
    }
}

proxy_core::register_backend! {
    name: ENDPOINT_TYPE,
    description: "an in-process echo server (a downstream plugin)",
    default_endpoint: "http://localhost:9",
    supports_grammar: false,
    supports_tokenize: false,
    build: || Box::new(EchoBackend),
}
