//! The steps of one chat completion (SPEC §1, §7), in order: check the request, pick
//! the wrapper, build the grammar, render, count and check the context window, call the
//! backend, parse, correct, and build the response.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::client::{ProxyClient, TokenCounting};
use super::error::ProxyError;
use super::target::{ModelTarget, WrapperSelection};
use super::validation::check_request;
use crate::backend::{
    backend_registry, BackendCompletion, BackendError, BackendFinishReason, BackendRequest,
    RegisteredBackend, SamplingOverrides, TokenCountRequest,
};
use crate::chat::{AssistantMessage, FunctionSchema};
use crate::completion::{
    ChatCompletionRequest, ChatCompletionResponse, Choice, FinishReason, Usage,
};
use crate::function_correction::correct_heartbeat;
use crate::wrapper::{PromptWrapper, RenderRequest};
use crate::wrapper_choice::{choose_wrapper, is_summarizer_request};

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
enum SelectedWrapper {
    Registered(&'static dyn PromptWrapper),
    Custom(Arc<dyn PromptWrapper>),
}

impl SelectedWrapper {
    fn get(&self) -> &dyn PromptWrapper {
        match self {
            SelectedWrapper::Registered(wrapper) => *wrapper,
            SelectedWrapper::Custom(wrapper) => wrapper.as_ref(),
        }
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
        let started = Instant::now();
        check_request(target, request)?;
        let (_, backend) = backend_registry().resolve(&target.endpoint_type)?;
        let (wrapper_name, wrapper) = select_wrapper(target, request)?;
        let wrapper = wrapper.get();
        let functions = request.function_schemas();
        let first_message =
            request.first_message.unwrap_or(false) && wrapper.supports_first_message();

        let grammar = self.grammar_for(wrapper, backend, &functions)?;
        let mut render = RenderRequest::new(&request.messages, &functions);
        render.first_message = first_message;
        render.function_documentation = grammar.as_ref().and_then(|g| g.documentation.as_deref());
        let prompt = wrapper.render_prompt(&render)?;

        let model = target.model.as_deref().or(request.model.as_deref());
        let prompt_tokens = self.count_prompt(target, backend, model, &prompt).await?;
        if prompt_tokens > target.context_window {
            return Err(ProxyError::ContextWindowExceeded {
                prompt_tokens,
                context_window: target.context_window,
            });
        }

        let mut overrides = SamplingOverrides::from_chat_request(request);
        overrides
            .stop
            .extend(wrapper.stop_sequences().iter().cloned());
        let backend_request = BackendRequest {
            endpoint: &target.endpoint,
            auth: target.auth.as_ref(),
            prompt: &prompt,
            context_window: target.context_window,
            prompt_tokens,
            grammar: grammar.as_ref().map(|g| g.gbnf.as_str()),
            model,
            user: request.user.as_deref(),
            settings: self.settings(target.settings_preset),
            overrides,
        };
        let backend_started = Instant::now();
        let completion = backend
            .backend
            .complete(&self.http, &backend_request)
            .await?;
        let backend_time = backend_started.elapsed();

        let mut message = wrapper.parse_output(&completion.text, first_message)?;
        if request
            .function_correction
            .unwrap_or(self.function_correction)
            && correct_heartbeat(&request.messages, &mut message)
        {
            tracing::debug!("function correction: set request_heartbeat on the call");
        }
        let response = build_response(request, target, &message, &completion, prompt_tokens);
        tracing::info!(
            endpoint_type = %target.endpoint_type,
            wrapper = wrapper_name.as_str(),
            prompt_tokens = response.usage.prompt_tokens,
            completion_tokens = response.usage.completion_tokens,
            backend_ms = backend_time.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "chat completion"
        );
        let timings = CompletionTimings {
            total: started.elapsed(),
            backend: backend_time,
        };
        Ok((response, timings))
    }

    /// The grammar for a `-grammar` wrapper on a backend that accepts one; `None` (with a
    /// warning saying why) otherwise.
    fn grammar_for(
        &self,
        wrapper: &dyn PromptWrapper,
        backend: &RegisteredBackend,
        functions: &[FunctionSchema],
    ) -> Result<Option<crate::grammar::GeneratedGrammar>, ProxyError> {
        let Some(style) = wrapper.grammar_style() else {
            return Ok(None);
        };
        let endpoint_type = backend.registration.name;
        if !backend.registration.supports_grammar {
            tracing::warn!(
                "grammars are not supported by the `{endpoint_type}` backend (supported: {}); sending the prompt without one",
                grammar_backends().join(", ")
            );
            return Ok(None);
        }
        if functions.is_empty() {
            tracing::debug!("grammar wrapper but no functions in the request; no grammar");
            return Ok(None);
        }
        match self.grammar_generator() {
            Some(generator) => Ok(Some(generator.generate(functions, style)?)),
            None => {
                tracing::warn!(
                    "this build has no grammar generator (enable the `grammar-gbnf` feature); sending the prompt without a grammar"
                );
                Ok(None)
            }
        }
    }

    /// Counts the prompt with the server's tokenizer where asked and available, else
    /// with cl100k_base.
    async fn count_prompt(
        &self,
        target: &ModelTarget,
        backend: &RegisteredBackend,
        model: Option<&str>,
        prompt: &str,
    ) -> Result<u64, ProxyError> {
        if self.token_counting == TokenCounting::ServerWhereAvailable
            && backend.registration.supports_tokenize
        {
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

/// The endpoint types whose backends accept a grammar.
fn grammar_backends() -> Vec<&'static str> {
    backend_registry()
        .iter()
        .filter(|(_, backend)| backend.registration.supports_grammar)
        .map(|(name, _)| name)
        .collect()
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

/// The OpenAI response for a parsed message.
fn build_response(
    request: &ChatCompletionRequest,
    target: &ModelTarget,
    message: &AssistantMessage,
    completion: &BackendCompletion,
    counted_prompt_tokens: u64,
) -> ChatCompletionResponse {
    let legacy = request.uses_legacy_functions();
    let prompt_tokens = crate::backend::completion::nonzero(completion.prompt_tokens)
        .unwrap_or(counted_prompt_tokens);
    let completion_tokens = completion
        .completion_tokens
        .unwrap_or_else(|| crate::tokens::count_tokens(&completion.text));
    ChatCompletionResponse {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        object: "chat.completion".to_owned(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default(),
        model: request
            .model
            .clone()
            .or_else(|| target.model.clone())
            .unwrap_or_else(|| target.endpoint_type.clone()),
        choices: vec![Choice {
            index: 0,
            message: message.to_response_message(legacy),
            finish_reason: finish_reason(message, legacy, completion.finish_reason),
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        },
    }
}

/// `length` when the backend hit its token limit (a call cut off there was repaired, not
/// finished), else `tool_calls`/`function_call` when a call came back, else `stop`.
fn finish_reason(
    message: &AssistantMessage,
    legacy: bool,
    backend: BackendFinishReason,
) -> FinishReason {
    match (backend, &message.function_call, legacy) {
        (BackendFinishReason::Length, _, _) => FinishReason::Length,
        (_, Some(_), true) => FinishReason::FunctionCall,
        (_, Some(_), false) => FinishReason::ToolCalls,
        (_, None, _) => backend.to_openai(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ParsedFunctionCall;
    use crate::orchestrator::test_support::{request, target};
    use serde_json::json;

    #[test]
    fn finish_reasons() {
        let call = AssistantMessage {
            content: Some("thinking".into()),
            function_call: Some(ParsedFunctionCall {
                name: "send_message".into(),
                arguments: json!({}),
            }),
        };
        let text = AssistantMessage {
            content: Some("hello".into()),
            function_call: None,
        };
        use BackendFinishReason as B;
        assert_eq!(
            finish_reason(&call, false, B::Stop),
            FinishReason::ToolCalls
        );
        assert_eq!(
            finish_reason(&call, true, B::Stop),
            FinishReason::FunctionCall
        );
        assert_eq!(
            finish_reason(&call, false, B::Length),
            FinishReason::Length,
            "a call cut off at the token limit was repaired, not finished"
        );
        assert_eq!(finish_reason(&text, false, B::Length), FinishReason::Length);
        assert_eq!(finish_reason(&text, false, B::Stop), FinishReason::Stop);
        assert_eq!(finish_reason(&text, true, B::Unknown), FinishReason::Stop);
    }

    #[test]
    fn usage_prefers_the_backend_counts_and_falls_back_to_counting() {
        let req = request(json!({"messages": [{"role": "system", "content": "hi"}], "model": "m"}));
        let message = AssistantMessage {
            content: Some("x".into()),
            function_call: None,
        };
        let reported = BackendCompletion {
            text: "hello world".into(),
            completion_tokens: Some(7),
            prompt_tokens: Some(40),
            finish_reason: BackendFinishReason::Stop,
        };
        let response = build_response(&req, &target(), &message, &reported, 30);
        assert_eq!(
            response.usage,
            Usage {
                prompt_tokens: 40,
                completion_tokens: 7,
                total_tokens: 47
            }
        );
        assert!(response.id.starts_with("chatcmpl-"));
        assert_eq!(response.model, "m");
        let unreported = BackendCompletion {
            completion_tokens: None,
            prompt_tokens: Some(0),
            ..reported
        };
        let response = build_response(&req, &target(), &message, &unreported, 30);
        let counted = crate::tokens::count_tokens("hello world");
        assert_eq!(
            response.usage,
            Usage {
                prompt_tokens: 30,
                completion_tokens: counted,
                total_tokens: 30 + counted
            }
        );
    }
}
