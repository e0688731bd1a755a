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
//!    for a `response_format` answer, the grammar of the schema's values on every
//!    backend that takes a grammar (`response_format.rs`);
//! 4. render the prompt (a `response_format` answer: a plain turn, the JSON
//!    instruction added to the system turn); image parts become the backend's image
//!    markers first, their data goes to the body (`images.rs`; refused by name where
//!    the backend's capabilities take no images);
//! 5. count its tokens — with the server's own tokenizer where the backend has one
//!    (llama.cpp, vLLM, koboldcpp), else cl100k_base (see [`TokenCounting`]) — and
//!    refuse it before sending when it exceeds the context window;
//! 6. call the backend (settings preset + user file + the request's sampling fields);
//! 7. parse the text with the wrapper (JSON repair included), check the call or the
//!    `response_format` answer (asked again up to `max_retries`), apply MemGPT's
//!    heartbeat correction (on by default; the request's `function_correction` or
//!    [`ProxyClientBuilder::function_correction`] switch it);
//! 8. build the response: `chatcmpl-…` id, `tool_calls` with `call_…` ids (and
//!    `function_call` for legacy `functions` callers), `finish_reason`, and `usage`
//!    (the backend's counts where it reports them, else counted).

mod call_policy;
mod client;
mod error;
mod grammar_selection;
mod images;
mod pipeline;
mod replicas;
mod request_fields;
mod response;
mod response_format;
mod served_template;
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
pub use pipeline::{CompletionReport, CompletionTimings};
pub use replicas::metric_names as replica_metrics;
pub use replicas::{
    FaultPolicy, HealthChecks, ReplicaConfig, ReplicaSet, ReplicaStatus, DEFAULT_COOLDOWN,
    DEFAULT_EJECT_AFTER, DEFAULT_MAX_QUEUE, DEFAULT_PROBE_INTERVAL, DEFAULT_RETRY_MIN_PER_SEC,
    DEFAULT_RETRY_RATIO,
};
pub use response::{ResponseHeader, SYSTEM_FINGERPRINT};
pub use stream::{ChatCompletionEvent, ChatCompletionStream};
pub use target::{
    ModelTarget, ResolvedTarget, WrapperSelection, DEFAULT_MAX_CHOICES, DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_THOUGHT_CHARS,
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
