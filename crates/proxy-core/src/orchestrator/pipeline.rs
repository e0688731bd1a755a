//! The steps of one chat completion (SPEC §1, §7), in order: check the request, pick
//! the wrapper, build the grammar, render, count and check the context window, call the
//! backend, parse, correct, and build the response.
//!
//! [`PreparedCall`] holds everything up to the backend call and all the call and
//! the response need, so the plain call here and
//! the streamed one ([`super::stream`]) share every step but the call itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::client::ProxyClient;
use super::error::ProxyError;
use super::response::{build_response, ResponseHeader};
use super::target::{ResolvedTarget, TargetWrapper};
use super::token_counting::TokenCounting;
use super::validation::check_request;
use crate::backend::{
    BackendCompletion, BackendError, BackendRequest, RegisteredBackend, SamplingOverrides,
    TokenCountRequest,
};
use crate::completion::{ChatCompletionRequest, ChatCompletionResponse};
use crate::function_correction::{add_heartbeat, answers_user_message};
use crate::grammar::GeneratedGrammar;
use crate::registry::wrapper_registry;
use crate::wrapper::RenderRequest;
use crate::wrapper_choice::{is_summarizer_request, SUMMARY_WRAPPER};

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

/// One request made ready for the backend, holding everything the call and the
/// response need (so nothing is passed back in): built by [`ProxyClient::prepare`].
pub(super) struct PreparedCall {
    started: Instant,
    http: reqwest::Client,
    settings: Arc<Map<String, Value>>,
    target: ResolvedTarget,
    pub(super) wrapper: TargetWrapper,
    pub(super) first_message: bool,
    grammar: Option<Arc<GeneratedGrammar>>,
    prompt: String,
    /// The prompt's tokens; `None` when the prompt clearly fits and was not counted.
    prompt_tokens: Option<u64>,
    pub(super) header: ResponseHeader,
    backend_model: Option<String>,
    user: Option<String>,
    /// The request's sampling fields, with the wrapper's stop strings added.
    overrides: SamplingOverrides,
    legacy: bool,
    /// Whether the heartbeat correction applies to the reply.
    heartbeat: bool,
}

impl PreparedCall {
    /// The backend serving this call.
    pub(super) fn backend(&self) -> &'static RegisteredBackend {
        self.target.backend()
    }

    /// The HTTP client.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The server's base URL.
    pub(super) fn endpoint(&self) -> &str {
        self.target.endpoint()
    }

    /// The backend request for this prompt.
    pub(super) fn backend_request(&self) -> BackendRequest<'_> {
        BackendRequest {
            endpoint: self.target.endpoint(),
            auth: self.target.auth(),
            prompt: &self.prompt,
            context_window: self.target.context_window(),
            prompt_tokens: self
                .prompt_tokens
                .unwrap_or_else(|| token_bound(&self.prompt)),
            grammar: self.grammar.as_ref().map(|g| g.gbnf.as_str()),
            model: self.backend_model.as_deref(),
            user: self.user.as_deref(),
            settings: &self.settings,
            overrides: self.overrides.clone(),
        }
    }

    /// Parses the backend's text, applies the heartbeat correction and builds the
    /// response; logs the completion. A prompt that was not counted before the call
    /// and whose tokens the backend did not report is counted now, for `usage`.
    pub(super) async fn respond(
        &self,
        completion: &BackendCompletion,
        backend_time: Duration,
    ) -> Result<(ChatCompletionResponse, CompletionTimings), ProxyError> {
        let mut message = self
            .wrapper
            .get()
            .parse_output(&completion.text, self.first_message)?;
        if self.heartbeat && add_heartbeat(&mut message) {
            tracing::debug!("function correction: set request_heartbeat on the call");
        }
        let counted_prompt_tokens = match (self.prompt_tokens, completion.prompt_tokens) {
            (Some(counted), _) => counted,
            (None, Some(reported)) => reported,
            (None, None) => count_tokens(
                &self.http,
                &self.target,
                self.backend_model.as_deref(),
                &self.prompt,
                true,
            )
            .await
            .unwrap_or_else(|_| crate::tokens::count_tokens(&self.prompt)),
        };
        let response = build_response(
            &self.header,
            self.legacy,
            &message,
            completion,
            counted_prompt_tokens,
        );
        let timings = CompletionTimings {
            total: self.started.elapsed(),
            backend: backend_time,
        };
        tracing::info!(
            endpoint_type = self.target.endpoint_type(),
            wrapper = self.wrapper.name(),
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
    /// call, against the model described by `target` (resolve it once with
    /// [`ModelTarget::resolve`](super::ModelTarget::resolve)).
    ///
    /// The request's MemGPT extras are honoured: `wrapper` (overrides the target's),
    /// `first_message`, and `function_correction` (default on). Errors are typed; see
    /// [`ProxyError::kind`].
    pub async fn get_chat_completion(
        &self,
        target: &ResolvedTarget,
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
        target: &ResolvedTarget,
        request: &ChatCompletionRequest,
    ) -> Result<(ChatCompletionResponse, CompletionTimings), ProxyError> {
        let prepared = self.prepare(target, request).await?;
        let backend_started = Instant::now();
        let completion = prepared
            .backend()
            .backend
            .complete(&self.http, &prepared.backend_request())
            .await?;
        prepared
            .respond(&completion, backend_started.elapsed())
            .await
    }

    /// The steps before the backend call: check, pick the wrapper, build the grammar,
    /// render, count and check the context window.
    pub(super) async fn prepare(
        &self,
        target: &ResolvedTarget,
        request: &ChatCompletionRequest,
    ) -> Result<PreparedCall, ProxyError> {
        let started = Instant::now();
        check_request(request)?;
        let model = target.request_model(request.model.as_deref());
        let wrapper = select_wrapper(target, request)?;
        let wrapper_ref = wrapper.get();
        let functions = request.function_schemas();
        let first_message =
            request.first_message.unwrap_or(false) && wrapper_ref.supports_first_message();

        let grammar = self
            .grammars
            .grammar_for(wrapper_ref, target.backend(), &functions)?;
        let mut render = RenderRequest::new(&request.messages, &functions);
        render.first_message = first_message;
        render.function_documentation = grammar.as_ref().and_then(|g| g.documentation.as_deref());
        let prompt = wrapper_ref.render_prompt(&render)?;

        let prompt_tokens =
            count_prompt(&self.http, target, model.backend.as_deref(), &prompt).await?;
        if let Some(prompt_tokens) = prompt_tokens.filter(|n| *n > target.context_window()) {
            return Err(ProxyError::ContextWindowExceeded {
                prompt_tokens,
                context_window: target.context_window(),
            });
        }
        let mut overrides = SamplingOverrides::from_chat_request(request);
        // The token limit, clamped to the room after the prompt. A prompt not counted
        // is counted now only if its byte bound would lower the limit: a bound ~4x
        // over the tokens must not shrink a legitimate limit, nor an uncounted limit
        // overflow the window (vLLM refuses that).
        let prompt_tokens = match prompt_tokens {
            None if overrides
                .max_tokens_exceed_room(target.context_window(), token_bound(&prompt)) =>
            {
                Some(
                    count_tokens(&self.http, target, model.backend.as_deref(), &prompt, true)
                        .await?,
                )
            }
            counted => counted,
        };
        if let Some(counted) = prompt_tokens {
            overrides.clamp_max_tokens(target.context_window(), counted);
        }
        overrides
            .stop
            .extend(wrapper_ref.stop_sequences().iter().cloned());
        let heartbeat = request
            .function_correction
            .unwrap_or(self.function_correction)
            && answers_user_message(&request.messages);
        Ok(PreparedCall {
            started,
            http: self.http.clone(),
            settings: self.settings_shared(target.settings_preset()),
            target: target.clone(),
            first_message,
            grammar,
            prompt,
            prompt_tokens,
            header: ResponseHeader::new(model.public),
            backend_model: model.backend,
            user: request.user.clone(),
            overrides,
            legacy: request.uses_legacy_functions(),
            heartbeat,
            wrapper,
        })
    }
}

/// Counts the prompt with the server's tokenizer where asked and available, else
/// with cl100k_base. A prompt whose byte length alone shows that it fits is not
/// sent to the server's tokenizer (`None`): the backends with a tokenizer report
/// the prompt's tokens in their reply.
async fn count_prompt(
    http: &reqwest::Client,
    target: &ResolvedTarget,
    model: Option<&str>,
    prompt: &str,
) -> Result<Option<u64>, ProxyError> {
    let server_count = target.token_counting() == TokenCounting::ServerWhereAvailable
        && target.backend().registration.capabilities.tokenizer;
    if server_count && fits_without_counting(prompt, target.context_window()) {
        return Ok(None);
    }
    count_tokens(http, target, model, prompt, server_count)
        .await
        .map(Some)
}

/// Counts with the server's tokenizer when `server_count` and it answers, else
/// with cl100k_base. Errors: the server cannot be reached.
async fn count_tokens(
    http: &reqwest::Client,
    target: &ResolvedTarget,
    model: Option<&str>,
    prompt: &str,
    server_count: bool,
) -> Result<u64, ProxyError> {
    if server_count {
        let request = TokenCountRequest {
            endpoint: target.endpoint(),
            auth: target.auth(),
            model,
            text: prompt,
        };
        match target.backend().backend.count_tokens(http, &request).await {
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

/// MemGPT's summarizer prompt gets the summary wrapper (where it is linked in); else
/// the request's `wrapper` wins, then the target's.
fn select_wrapper(
    target: &ResolvedTarget,
    request: &ChatCompletionRequest,
) -> Result<TargetWrapper, ProxyError> {
    if is_summarizer_request(&request.messages) {
        match target.summary_wrapper() {
            Some(summary) => return Ok(TargetWrapper::Registered(SUMMARY_WRAPPER, summary)),
            None => tracing::warn!(
                "summarizer request, but the `{SUMMARY_WRAPPER}` wrapper is not compiled in; using the requested wrapper"
            ),
        }
    }
    match request.wrapper.as_deref() {
        Some(name) => {
            let (name, entry) = wrapper_registry().resolve(name)?;
            Ok(TargetWrapper::Registered(name, entry.wrapper.as_ref()))
        }
        None => Ok(target.wrapper().clone()),
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
