//! The steps of one chat completion (SPEC §1, §7), in order: check the request, pick
//! the wrapper, build the grammar, render, count and check the context window, call the
//! backend, parse, correct, and build the response.
//!
//! [`Prepared`] holds everything up to the backend call, so the plain call here and
//! the streamed one ([`super::stream`]) share every step but the call itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{ProxyClient, TokenCounting};
use super::error::ProxyError;
use super::response::{build_response, ResponseHeader};
use super::target::{ModelTarget, WrapperSelection};
use super::validation::check_request;
use crate::backend::{
    backend_registry, BackendCompletion, BackendError, BackendRequest, RegisteredBackend,
    SamplingOverrides, TokenCountRequest,
};
use crate::completion::{ChatCompletionRequest, ChatCompletionResponse};
use crate::function_correction::correct_heartbeat;
use crate::grammar::GeneratedGrammar;
use crate::wrapper::{PromptWrapper, RenderRequest};
use crate::wrapper_choice::{choose_wrapper, is_summarizer_request};

/// Room left for special tokens (BOS, a SentencePiece space) when a prompt's byte
/// length bounds its token count; see [`fits_without_counting`].
const SPECIAL_TOKEN_ALLOWANCE: u64 = 16;

/// How long one chat completion took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionTimings {
    /// The whole call, from the request to the response.
    pub total: Duration,
    /// The backend call alone (the server's generation time plus the HTTP round trip).
    pub backend: Duration,
}

impl CompletionTimings {
    /// The proxy's own time: everything but the backend call (includes the
    /// server-tokenizer request when one is made).
    pub fn proxy_overhead(&self) -> Duration {
        self.total.saturating_sub(self.backend)
    }
}

/// The wrapper serving one request.
pub(super) enum SelectedWrapper {
    Registered(&'static dyn PromptWrapper),
    Custom(Arc<dyn PromptWrapper>),
}

impl SelectedWrapper {
    pub(super) fn get(&self) -> &dyn PromptWrapper {
        match self {
            SelectedWrapper::Registered(wrapper) => *wrapper,
            SelectedWrapper::Custom(wrapper) => wrapper.as_ref(),
        }
    }
}

/// A request made ready for the backend: the steps before the backend call.
pub(super) struct Prepared {
    pub(super) started: Instant,
    pub(super) backend: &'static RegisteredBackend,
    pub(super) wrapper_name: String,
    pub(super) wrapper: SelectedWrapper,
    pub(super) first_message: bool,
    pub(super) grammar: Option<Arc<GeneratedGrammar>>,
    pub(super) prompt: String,
    /// The prompt's tokens; `None` when the prompt clearly fits and was not counted.
    pub(super) prompt_tokens: Option<u64>,
    pub(super) header: ResponseHeader,
}

impl Prepared {
    /// The backend request for this prompt.
    pub(super) fn backend_request<'a>(
        &'a self,
        client: &'a ProxyClient,
        target: &'a ModelTarget,
        request: &'a ChatCompletionRequest,
    ) -> BackendRequest<'a> {
        let mut overrides = SamplingOverrides::from_chat_request(request);
        overrides
            .stop
            .extend(self.wrapper.get().stop_sequences().iter().cloned());
        BackendRequest {
            endpoint: &target.endpoint,
            auth: target.auth.as_ref(),
            prompt: &self.prompt,
            context_window: target.context_window,
            prompt_tokens: self
                .prompt_tokens
                .unwrap_or_else(|| token_bound(&self.prompt)),
            grammar: self.grammar.as_ref().map(|g| g.gbnf.as_str()),
            model: target.model.as_deref().or(request.model.as_deref()),
            user: request.user.as_deref(),
            settings: client.settings(target.settings_preset),
            overrides,
        }
    }

    /// Parses the backend's text, applies the heartbeat correction and builds the
    /// response; logs the completion. A prompt that was not counted before the call
    /// and whose tokens the backend did not report is counted now, for `usage`.
    pub(super) async fn respond(
        &self,
        client: &ProxyClient,
        target: &ModelTarget,
        request: &ChatCompletionRequest,
        completion: &BackendCompletion,
        backend_time: Duration,
    ) -> Result<(ChatCompletionResponse, CompletionTimings), ProxyError> {
        let mut message = self
            .wrapper
            .get()
            .parse_output(&completion.text, self.first_message)?;
        if request
            .function_correction
            .unwrap_or(client.function_correction)
            && correct_heartbeat(&request.messages, &mut message)
        {
            tracing::debug!("function correction: set request_heartbeat on the call");
        }
        let counted_prompt_tokens = match (self.prompt_tokens, completion.prompt_tokens) {
            (Some(counted), _) => counted,
            (None, Some(reported)) => reported,
            (None, None) => {
                client
                    .count_prompt_exactly(target, self.backend, request, &self.prompt)
                    .await
            }
        };
        let response = build_response(
            &self.header,
            request.uses_legacy_functions(),
            &message,
            completion,
            counted_prompt_tokens,
        );
        let timings = CompletionTimings {
            total: self.started.elapsed(),
            backend: backend_time,
        };
        tracing::info!(
            endpoint_type = %target.endpoint_type,
            wrapper = self.wrapper_name.as_str(),
            prompt_tokens = response.usage.prompt_tokens,
            completion_tokens = response.usage.completion_tokens,
            backend_ms = timings.backend.as_secs_f64() * 1e3,
            total_ms = timings.total.as_secs_f64() * 1e3,
            "chat completion"
        );
        Ok((response, timings))
    }
}

impl ProxyClient {
    /// Runs one chat completion: the drop-in replacement for OpenAI's ChatCompletion
    /// call, against the model described by `target`.
    ///
    /// The request's MemGPT extras are honoured: `wrapper` (overrides the target's),
    /// `first_message`, and `function_correction` (default on). Errors are typed; see
    /// [`ProxyError::kind`].
    pub async fn get_chat_completion(
        &self,
        target: &ModelTarget,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse, ProxyError> {
        self.get_chat_completion_timed(target, request)
            .await
            .map(|(response, _)| response)
    }

    /// [`get_chat_completion`](Self::get_chat_completion), also returning how long the
    /// whole call and the backend call took (the difference is the proxy's own cost).
    pub async fn get_chat_completion_timed(
        &self,
        target: &ModelTarget,
        request: &ChatCompletionRequest,
    ) -> Result<(ChatCompletionResponse, CompletionTimings), ProxyError> {
        let prepared = self.prepare(target, request).await?;
        let backend_request = prepared.backend_request(self, target, request);
        let backend_started = Instant::now();
        let completion = prepared
            .backend
            .backend
            .complete(&self.http, &backend_request)
            .await?;
        let backend_time = backend_started.elapsed();
        prepared
            .respond(self, target, request, &completion, backend_time)
            .await
    }

    /// The steps before the backend call: check, pick the wrapper, build the grammar,
    /// render, count and check the context window.
    pub(super) async fn prepare(
        &self,
        target: &ModelTarget,
        request: &ChatCompletionRequest,
    ) -> Result<Prepared, ProxyError> {
        let started = Instant::now();
        check_request(target, request)?;
        let (_, backend) = backend_registry().resolve(&target.endpoint_type)?;
        let (wrapper_name, wrapper) = select_wrapper(target, request)?;
        let wrapper_ref = wrapper.get();
        let functions = request.function_schemas();
        let first_message =
            request.first_message.unwrap_or(false) && wrapper_ref.supports_first_message();

        let grammar = self
            .grammars
            .grammar_for(wrapper_ref, backend, &functions)?;
        let mut render = RenderRequest::new(&request.messages, &functions);
        render.first_message = first_message;
        render.function_documentation = grammar.as_ref().and_then(|g| g.documentation.as_deref());
        let prompt = wrapper_ref.render_prompt(&render)?;

        let model = target.model.as_deref().or(request.model.as_deref());
        let prompt_tokens = self.count_prompt(target, backend, model, &prompt).await?;
        if let Some(prompt_tokens) = prompt_tokens.filter(|n| *n > target.context_window) {
            return Err(ProxyError::ContextWindowExceeded {
                prompt_tokens,
                context_window: target.context_window,
            });
        }
        Ok(Prepared {
            started,
            backend,
            wrapper_name,
            wrapper,
            first_message,
            grammar,
            prompt,
            prompt_tokens,
            header: ResponseHeader::new(request, target),
        })
    }

    /// Counts the prompt with the server's tokenizer where asked and available, else
    /// with cl100k_base. A prompt whose byte length alone shows that it fits is not
    /// sent to the server's tokenizer (`None`): the backends with a tokenizer report
    /// the prompt's tokens in their reply.
    async fn count_prompt(
        &self,
        target: &ModelTarget,
        backend: &RegisteredBackend,
        model: Option<&str>,
        prompt: &str,
    ) -> Result<Option<u64>, ProxyError> {
        let server_count = self.token_counting == TokenCounting::ServerWhereAvailable
            && backend.registration.supports_tokenize;
        if server_count && fits_without_counting(prompt, target.context_window) {
            return Ok(None);
        }
        self.count_prompt_with(server_count, target, backend, model, prompt)
            .await
            .map(Some)
    }

    /// The prompt's tokens after a backend call that did not report them, for
    /// `usage`: the server's tokenizer, else cl100k_base (any error falls back).
    async fn count_prompt_exactly(
        &self,
        target: &ModelTarget,
        backend: &RegisteredBackend,
        request: &ChatCompletionRequest,
        prompt: &str,
    ) -> u64 {
        let model = target.model.as_deref().or(request.model.as_deref());
        self.count_prompt_with(true, target, backend, model, prompt)
            .await
            .unwrap_or_else(|_| crate::tokens::count_tokens(prompt))
    }

    /// Counts with the server's tokenizer when `server_count` and it answers, else
    /// with cl100k_base. Errors: the server cannot be reached.
    async fn count_prompt_with(
        &self,
        server_count: bool,
        target: &ModelTarget,
        backend: &RegisteredBackend,
        model: Option<&str>,
        prompt: &str,
    ) -> Result<u64, ProxyError> {
        if server_count {
            let request = TokenCountRequest {
                endpoint: &target.endpoint,
                auth: target.auth.as_ref(),
                model,
                text: prompt,
            };
            match backend.backend.count_tokens(&self.http, &request).await {
                Ok(Some(count)) => return Ok(count),
                Ok(None) => {}
                Err(error @ (BackendError::Connection { .. } | BackendError::Timeout { .. }
                | BackendError::InvalidEndpoint { .. } | BackendError::InvalidAuth { .. })) => {
                    return Err(error.into())
                }
                Err(error) => tracing::warn!(
                    "the server's tokenizer failed ({error}); counting the prompt with cl100k_base instead"
                ),
            }
        }
        Ok(crate::tokens::count_tokens(prompt))
    }
}

/// An upper bound on the prompt's tokens in any byte-level or byte-fallback tokenizer
/// (BPE, SentencePiece): every token covers at least one byte, plus a few special
/// tokens the server adds.
fn token_bound(prompt: &str) -> u64 {
    u64::try_from(prompt.len())
        .unwrap_or(u64::MAX)
        .saturating_add(SPECIAL_TOKEN_ALLOWANCE)
}

/// Whether the prompt fits the window whatever the tokenizer (see [`token_bound`]).
fn fits_without_counting(prompt: &str, context_window: u64) -> bool {
    token_bound(prompt) <= context_window
}

/// The request's `wrapper` wins, then the target's choice; MemGPT's summarizer prompt
/// always gets the summary wrapper.
fn select_wrapper(
    target: &ModelTarget,
    request: &ChatCompletionRequest,
) -> Result<(String, SelectedWrapper), ProxyError> {
    let messages = &request.messages;
    let registered = |requested: Option<&str>| -> Result<(String, SelectedWrapper), ProxyError> {
        let chosen = choose_wrapper(messages, requested)?;
        Ok((
            chosen.name.to_owned(),
            SelectedWrapper::Registered(chosen.wrapper),
        ))
    };
    if let Some(name) = request.wrapper.as_deref() {
        return registered(Some(name));
    }
    match &target.wrapper {
        WrapperSelection::Default => registered(None),
        WrapperSelection::Named(name) => registered(Some(name)),
        WrapperSelection::Custom { name, wrapper } => {
            if is_summarizer_request(messages) {
                if let Ok(summary) = registered(Some(name)) {
                    if summary.0 == crate::SUMMARY_WRAPPER {
                        return Ok(summary);
                    }
                }
            }
            Ok((name.clone(), SelectedWrapper::Custom(Arc::clone(wrapper))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prompts_that_surely_fit_skip_counting() {
        assert!(fits_without_counting("hello", 21));
        assert!(!fits_without_counting("hello", 20));
        assert!(!fits_without_counting(&"x".repeat(5000), 4096));
        assert_eq!(token_bound(""), SPECIAL_TOKEN_ALLOWANCE);
    }
}
