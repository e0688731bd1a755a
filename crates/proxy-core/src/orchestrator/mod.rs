//! The `get_chat_completion` orchestrator: the whole pipeline from an OpenAI
//! chat-completion request to an OpenAI response, over a raw-completion backend.
//!
//! 0. once, before any request: resolve the [`ModelTarget`] into a [`ResolvedTarget`]
//!    (the registered backend, the checked endpoint, the wrapper — named, from a file,
//!    or `chatml`, warned once — and the model names);
//! 1. check the request (typed errors, no asserts);
//! 2. pick the wrapper: the request's `wrapper`, else the target's; MemGPT's
//!    summarizer prompt always gets `simple-summary`;
//! 3. for `-grammar` wrappers on backends that accept one, build a grammar with the
//!    [`GrammarGenerator`](crate::grammar::GrammarGenerator) (elsewhere: a warning);
//! 4. render the prompt;
//! 5. count its tokens — with the server's own tokenizer where the backend has one
//!    (llama.cpp, vLLM, koboldcpp), else cl100k_base (see [`TokenCounting`]) — and
//!    refuse it before sending when it exceeds the context window;
//! 6. call the backend (settings preset + user file + the request's sampling fields);
//! 7. parse the text with the wrapper (JSON repair included), apply MemGPT's
//!    heartbeat correction (on by default; the request's `function_correction` or
//!    [`ProxyClientBuilder::function_correction`] switch it);
//! 8. build the response: `chatcmpl-…` id, `tool_calls` with `call_…` ids (and
//!    `function_call` for legacy `functions` callers), `finish_reason`, and `usage`
//!    (the backend's counts where it reports them, else counted).

mod call_policy;
mod client;
mod error;
mod grammar_selection;
mod pipeline;
mod request_fields;
mod response;
mod stream;
mod target;
#[cfg(test)]
mod test_support;
mod token_counting;
mod validation;

use std::sync::OnceLock;

pub use client::{
    ProxyClient, ProxyClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use error::ProxyError;
pub use pipeline::CompletionTimings;
pub use response::{ResponseHeader, SYSTEM_FINGERPRINT};
pub use stream::{ChatCompletionEvent, ChatCompletionStream};
pub use target::{
    ModelTarget, ResolvedTarget, WrapperSelection, DEFAULT_MAX_CHOICES, DEFAULT_MAX_RETRIES,
};
pub use token_counting::TokenCounting;

use crate::completion::{ChatCompletionRequest, ChatCompletionResponse};

/// Runs one chat completion with a process-wide [`ProxyClient`] built with the defaults
/// (its connection pool is reused across calls), resolving `target` first. To serve
/// many requests, resolve the target once ([`ModelTarget::resolve`]) and build your
/// own client (to change timeouts or the grammar generator).
pub async fn get_chat_completion(
    target: &ModelTarget,
    request: &ChatCompletionRequest,
) -> Result<ChatCompletionResponse, ProxyError> {
    static CLIENT: OnceLock<ProxyClient> = OnceLock::new();
    let client = match CLIENT.get() {
        Some(client) => client,
        None => {
            let built = ProxyClient::new()?;
            CLIENT.get_or_init(|| built)
        }
    };
    client
        .get_chat_completion(&target.resolve()?, request)
        .await
}
