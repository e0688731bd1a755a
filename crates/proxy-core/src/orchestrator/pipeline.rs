//! The steps of one chat completion (SPEC §1, §7), in order: check the request, pick
//! the wrapper, build the grammar, render, count and check the context window, call the
//! backend, parse, correct, and build the response.
//!
//! [`PreparedCall`] holds everything up to the backend call and all the call and
//! the response need, so the plain call here and
//! the streamed one ([`super::stream`]) share every step but the call itself.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::call_policy::{
    call_policy, check_answer, offered_functions, CallCount, CallPolicy, SchemaValidators,
};
use super::client::ProxyClient;
use super::error::ProxyError;
use super::grammar_selection::PreparedConstraint;
use super::images::{announced_marker, prompt_images, remark};
use super::replicas::Replica;
use super::response::{build_response, ResponseHeader};
use super::response_format::JsonAnswer;
use super::target::{ResolvedTarget, TargetWrapper};
use super::token_counting::TokenCounting;
use super::validation::check_request;
use crate::backend::{
    BackendCompletion, BackendError, BackendFinishReason, BackendRequest, BackendStream, Endpoint,
    RegisteredBackend, SamplingOverrides, TokenCountRequest,
};
use crate::chat::{AssistantMessage, FunctionSchema};
use crate::completion::{ChatCompletionRequest, ChatCompletionResponse};
use crate::function_correction::{add_heartbeat, answers_user_message};
use crate::grammar::AnswerShape;
use crate::registry::wrapper_registry;
use crate::repair::count_repairs;
use crate::wrapper::{text_answer, AnswerMode, GrammarStyle, RenderRequest};
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

/// What one finished chat completion tells an operator beyond the response: how long
/// it took, whether the reply needed JSON repair, and which output constraint was sent.
///
/// proxy-core measures and returns these facts and records no metric itself: the
/// server labels them (with the configured model name, which the target does not
/// carry) and records them, so this library needs no metrics dependency and callers
/// that do not export metrics pay nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionReport {
    /// How long the whole call and the backend call(s) took.
    pub timings: CompletionTimings,
    /// Whether the answered reply's JSON was malformed and recovered by
    /// [`repair_json`](crate::repair_json) (any of its values, in any choice).
    pub json_repaired: bool,
    /// The backend constraint field sent with the request (`grammar`,
    /// `json_schema`, …; see [`ConstraintField::name`]), or `None` when the request
    /// was not constrained.
    ///
    /// [`ConstraintField::name`]: crate::backend::ConstraintField::name
    pub constraint: Option<&'static str>,
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
    /// The grammar or JSON Schema the reply is held to, if any.
    constraint: Option<PreparedConstraint>,
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
    /// What the model was asked to answer with.
    answer: AnswerMode,
    /// What the request lets the model answer with.
    policy: CallPolicy,
    /// One call per reply, or several (`parallel_tool_calls`).
    calls: CallCount,
    /// The functions the prompt offered (what a call is checked against).
    offered: Vec<FunctionSchema>,
    /// The client's compiled parameter schemas.
    validators: Arc<SchemaValidators>,
    /// The JSON the content must be (`response_format`), if any.
    json_answer: Option<JsonAnswer>,
    /// The request's images (base64), in the order of their markers in the prompt.
    images: Vec<String>,
    /// The image marker in the prompt, where the server announces its own and the
    /// model has several replicas (each call re-marks the prompt for its server).
    announced_marker: Option<String>,
}

impl PreparedCall {
    /// The backend serving this call.
    pub(super) fn backend(&self) -> &'static RegisteredBackend {
        self.target.backend()
    }

    /// The model's replicas.
    pub(super) fn replicas(&self) -> &super::replicas::ReplicaSet {
        self.target.replicas()
    }

    /// The server's base URL.
    pub(super) fn endpoint(&self) -> &Endpoint {
        self.target.endpoint()
    }

    /// The backend request for call `attempt` (0: the first call of the first choice):
    /// the seed (`base_seed`, else the request's) plus `attempt`, so a deterministic
    /// sampler neither repeats an answer that was refused nor gives two choices alike.
    fn backend_request_for<'a>(
        &'a self,
        replica: &'a Replica,
        attempt: u32,
        base_seed: Option<i64>,
    ) -> BackendRequest<'a> {
        let mut request = self.backend_request(replica);
        if base_seed.is_some() {
            request.overrides.seed = base_seed;
        }
        if attempt > 0 {
            if let Some(seed) = request.overrides.seed.as_mut() {
                *seed = seed.wrapping_add(i64::from(attempt));
            }
        }
        request
    }

    /// The prompt for `replica`: this one, re-marked with its server's image marker
    /// where that differs.
    async fn prompt_on<'a>(&'a self, replica: &Replica) -> Result<Cow<'a, str>, BackendError> {
        match &self.announced_marker {
            Some(used) => remark(&self.http, &self.target, replica, &self.prompt, used).await,
            None => Ok(Cow::Borrowed(&self.prompt)),
        }
    }

    /// Call `attempt` (see [`backend_request_for`](Self::backend_request_for)) on
    /// `replica`.
    async fn complete_on(
        &self,
        replica: &Replica,
        attempt: u32,
        base_seed: Option<i64>,
    ) -> Result<BackendCompletion, BackendError> {
        let prompt = self.prompt_on(replica).await?;
        let mut request = self.backend_request_for(replica, attempt, base_seed);
        request.prompt = &prompt;
        self.backend().backend.complete(&self.http, &request).await
    }

    /// The plain call on `replica` (the streamed call's stand-in where the backend
    /// cannot stream).
    pub(super) async fn complete_plain_on(
        &self,
        replica: &Replica,
    ) -> Result<BackendCompletion, BackendError> {
        self.complete_on(replica, 0, None).await
    }

    /// The streamed call on `replica`; `None` where the backend cannot stream.
    pub(super) async fn stream_on(
        &self,
        replica: &Replica,
    ) -> Result<Option<BackendStream>, BackendError> {
        let prompt = self.prompt_on(replica).await?;
        let mut request = self.backend_request(replica);
        request.prompt = &prompt;
        self.backend()
            .backend
            .complete_streaming(&self.http, &request)
            .await
    }

    /// The backend request for this prompt, to `replica`.
    pub(super) fn backend_request<'a>(&'a self, replica: &'a Replica) -> BackendRequest<'a> {
        BackendRequest {
            endpoint: replica.endpoint(),
            auth: replica.auth(),
            prompt: &self.prompt,
            context_window: self.target.context_window(),
            prompt_tokens: self
                .prompt_tokens
                .unwrap_or_else(|| token_bound(&self.prompt)),
            constraint: self
                .constraint
                .as_ref()
                .map(PreparedConstraint::as_constraint),
            model: self.backend_model.as_deref(),
            user: self.user.as_deref(),
            settings: &self.settings,
            overrides: self.overrides.clone(),
            images: &self.images,
        }
    }

    /// The model's text read as an answer of this call's mode: plain text as it is, a
    /// call parsed by the wrapper and checked against the policy and the offered
    /// functions ([`check_answer`]). A reply the backend cut at its token limit that
    /// does not read as a valid call is answered with what was produced, as text (the
    /// response's `finish_reason` is then `length`).
    fn answer_message(
        &self,
        completion: &BackendCompletion,
    ) -> Result<AssistantMessage, ProxyError> {
        let wrapper = self.wrapper.get();
        // The one parse whose repairs are reported (see `count_repairs`): the
        // partial parses of a stream are not counted.
        let checked = match (self.answer, &self.json_answer) {
            (AnswerMode::Text, None) => return Ok(wrapper.parse_text_output(&completion.text)),
            (AnswerMode::Text, Some(json_answer)) => {
                let mut message = wrapper.parse_text_output(&completion.text);
                json_answer
                    .check(&mut message, &completion.text)
                    .map(|()| message)
            }
            (AnswerMode::FunctionCall, _) => self
                .calls
                .parse(wrapper, &completion.text, self.first_message)
                .map_err(ProxyError::from)
                .and_then(|mut message| {
                    check_answer(
                        &mut message,
                        &self.policy,
                        &self.offered,
                        &self.validators,
                        &completion.text,
                    )?;
                    Ok(message)
                }),
        };
        match checked {
            Err(error) if completion.finish_reason == BackendFinishReason::Length => {
                tracing::info!(
                    "the reply was cut at the token limit before a valid answer ({error}); answering with the text produced"
                );
                Ok(text_answer(&completion.text, &[]))
            }
            other => other,
        }
    }

    /// Whether another attempt may follow this one's `error` (an answer that breaks
    /// the policy or the `response_format`, with retries left after `attempt`
    /// retries).
    pub(super) fn may_retry(&self, error: &ProxyError, attempt: u32) -> bool {
        matches!(
            error,
            ProxyError::InvalidToolCall { .. } | ProxyError::InvalidStructuredOutput { .. }
        ) && attempt < self.target.max_retries()
    }

    /// Whether a reply cut at the token limit is asked for again (with the next seed)
    /// instead of being answered: only when the call is constrained (a grammar or a
    /// JSON Schema whose thoughts and arguments are bounded to finish well inside the
    /// limit, so a cut means the model looped, and another sample usually finishes)
    /// and retries are left after `attempt` retries. The last attempt is answered as
    /// it is, cut or not ([`answer_message`](Self::answer_message)). A stream is never
    /// asked again: its text has already gone out.
    pub(super) fn may_retry_cut_off(&self, completion: &BackendCompletion, attempt: u32) -> bool {
        completion.finish_reason == BackendFinishReason::Length
            && self.constraint.is_some()
            && attempt < self.target.max_retries()
    }

    /// A partial reply (while streaming) as the final parse would read it (its
    /// content and reasoning are what the stream sends); `None` when it does not
    /// parse yet, and always for a `response_format` answer (its content is sent once
    /// checked).
    pub(super) fn partial_message(&self, raw: &str) -> Option<AssistantMessage> {
        let wrapper = self.wrapper.get();
        if self.json_answer.is_some() {
            return None;
        }
        match self.answer {
            AnswerMode::Text => Some(wrapper.parse_text_output(raw)),
            AnswerMode::FunctionCall => self.calls.parse(wrapper, raw, self.first_message).ok(),
        }
    }

    /// Parses the backend's text, applies the heartbeat correction and builds the
    /// response; logs the completion. A prompt that was not counted before the call
    /// and whose tokens the backend did not report is counted now, for `usage`.
    pub(super) async fn respond(
        &self,
        completion: &BackendCompletion,
        backend_time: Duration,
    ) -> Result<(ChatCompletionResponse, CompletionReport), ProxyError> {
        let (message, repairs) = count_repairs(|| self.answer_message(completion));
        let mut message = message?;
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
        let report = CompletionReport {
            timings,
            json_repaired: repairs > 0,
            constraint: self.constraint.as_ref().map(PreparedConstraint::field_name),
        };
        tracing::info!(
            endpoint_type = self.target.endpoint_type(),
            wrapper = self.wrapper.name(),
            prompt_tokens = response.usage.prompt_tokens,
            completion_tokens = response.usage.completion_tokens,
            backend_ms = timings.backend.as_secs_f64() * 1e3,
            total_ms = timings.total.as_secs_f64() * 1e3,
            json_repaired = report.json_repaired,
            "chat completion"
        );
        Ok((response, report))
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
    /// whole call and the backend call took (the difference is the proxy's own cost),
    /// whether the reply's JSON was repaired and the constraint sent
    /// ([`CompletionReport`]).
    pub async fn get_chat_completion_timed(
        &self,
        target: &ResolvedTarget,
        request: &ChatCompletionRequest,
    ) -> Result<(ChatCompletionResponse, CompletionReport), ProxyError> {
        let prepared = self.prepare(target, request).await?;
        let choices = request.n.unwrap_or(1);
        if choices <= 1 {
            return self.one_choice(&prepared, 0, None).await;
        }
        // `n` choices: one backend call each, run concurrently, each with its own
        // seed (the request's, else a random one, plus the choice's number).
        let base_seed = request
            .seed
            .unwrap_or_else(|| i64::from(uuid::Uuid::new_v4().as_fields().0 >> 1));
        let answers = futures::future::join_all(
            (0..choices).map(|choice| self.one_choice(&prepared, choice, Some(base_seed))),
        )
        .await;
        merge_choices(answers)
    }

    /// One choice: the backend call, the answer read and checked, asked for again while
    /// it breaks the policy and retries are left. `choice` numbers the choice (its seed
    /// offset, with the retries after it); `base_seed` replaces the request's seed.
    async fn one_choice(
        &self,
        prepared: &PreparedCall,
        choice: u32,
        base_seed: Option<i64>,
    ) -> Result<(ChatCompletionResponse, CompletionReport), ProxyError> {
        let mut backend_time = Duration::ZERO;
        let mut attempt = 0;
        loop {
            let backend_started = Instant::now();
            let offset = choice * (prepared.target.max_retries() + 1) + attempt;
            let (completion, _lease) =
                prepared
                    .replicas()
                    .call(|replica| async move {
                        prepared.complete_on(&replica, offset, base_seed).await
                    })
                    .await?;
            backend_time += backend_started.elapsed();
            if prepared.may_retry_cut_off(&completion, attempt) {
                attempt += 1;
                tracing::warn!(
                    "asking the model again (retry {attempt}): a constrained reply was cut at the token limit ({} completion tokens)",
                    completion.completion_tokens.map_or_else(|| "?".to_owned(), |n| n.to_string())
                );
                continue;
            }
            match prepared.respond(&completion, backend_time).await {
                Err(error) if prepared.may_retry(&error, attempt) => {
                    attempt += 1;
                    tracing::warn!("asking the model again (retry {attempt}): {error}");
                }
                result => return result,
            }
        }
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
        if let Some(n) = request.n.filter(|n| *n > target.max_choices()) {
            return Err(ProxyError::invalid(format!(
                "`n` is {n}, more than the {} choices this model serves per request; send fewer",
                target.max_choices()
            )));
        }
        let model = target.request_model(request.model.as_deref());
        let wrapper = select_wrapper(&self.http, target, request).await?;
        let wrapper_ref = wrapper.get();
        let all_functions = request.function_schemas();
        let policy = call_policy(request, &all_functions)?;
        let functions = offered_functions(&policy, all_functions);
        let json_answer =
            JsonAnswer::from_request(request.response_format.as_ref(), &policy, &self.validators)?;
        let answer = if policy == CallPolicy::Text && wrapper_ref.supports_text_answers() {
            AnswerMode::Text
        } else {
            AnswerMode::FunctionCall
        };
        if json_answer.is_some() && answer != AnswerMode::Text {
            return Err(ProxyError::invalid(format!(
                "`response_format` needs a plain answer, which the `{}` wrapper cannot give; pick another wrapper or leave out `response_format`",
                wrapper.name()
            )));
        }
        let first_message = request.first_message.unwrap_or(false)
            && wrapper_ref.supports_first_message()
            && answer == AnswerMode::FunctionCall;

        let style = match (answer, wrapper_ref.grammar_style()) {
            (AnswerMode::Text, _) => None,
            (_, Some(GrammarStyle::InnerThoughtsTopLevel)) if policy.requires_call() => {
                Some(GrammarStyle::InnerThoughtsTopLevelCallRequired)
            }
            // The model may answer in text unless a call is required.
            (_, Some(GrammarStyle::NativeCall(_))) if !policy.requires_call() => None,
            (_, style) => style,
        };
        let shape = style.map(|style| AnswerShape {
            style,
            max_thought_chars: target.max_thought_chars(),
            max_argument_chars: target.max_argument_chars(),
        });
        let constraint = self.grammars.constraint_for(
            target.constraint(),
            shape,
            &functions,
            json_answer.as_ref().map(JsonAnswer::schema),
        )?;
        let images = prompt_images(&self.http, target, &request.messages).await?;
        let messages = images
            .as_ref()
            .map_or(request.messages.as_slice(), |images| &images.messages);
        let instructed = json_answer
            .as_ref()
            .map(|json_answer| json_answer.instructed(messages));
        let messages = instructed.as_deref().unwrap_or(messages);
        let mut render = RenderRequest::new(messages, &functions);
        render.first_message = first_message;
        render.answer = answer;
        render.function_documentation = constraint
            .as_ref()
            .and_then(PreparedConstraint::documentation);
        let prompt = wrapper_ref.render_prompt(&render)?;
        if let Some(images) = &images {
            images.check_prompt(&prompt, target.endpoint_type(), wrapper.name())?;
        }

        let prompt_tokens =
            count_prompt(&self.http, target, model.backend.as_deref(), &prompt).await?;
        if let Some(prompt_tokens) = prompt_tokens.filter(|n| *n > target.context_window()) {
            return Err(ProxyError::ContextWindowExceeded {
                prompt_tokens,
                context_window: target.context_window(),
            });
        }
        let mut overrides = SamplingOverrides::from_chat_request(request).or_default_max_tokens(
            target.backend().backend.default_max_tokens(),
            target.context_window(),
        );
        // The token limit (the request's, else the backend's default), clamped to the
        // room after the prompt. A prompt not counted is counted now only if its byte
        // bound would lower the limit: a bound ~4x over the tokens must not shrink a
        // legitimate limit, nor an uncounted limit overflow the window (vLLM refuses
        // that).
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
        let calls = CallCount::of(request, &policy);
        calls.open_stop_list(&mut overrides);
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
            constraint,
            prompt,
            prompt_tokens,
            header: ResponseHeader::new(model.public),
            backend_model: model.backend,
            user: request.user.clone(),
            overrides,
            legacy: request.uses_legacy_functions(),
            heartbeat,
            answer,
            policy,
            calls,
            offered: functions,
            validators: Arc::clone(&self.validators),
            json_answer,
            wrapper,
            announced_marker: images
                .as_ref()
                .and_then(|images| announced_marker(target, images)),
            images: images.map(|images| images.images).unwrap_or_default(),
        })
    }
}

/// One response from the responses of several choices (of one prepared call, so
/// they share the id, creation time and model): their choices numbered in order,
/// the prompt's tokens once, the completion tokens summed; the timings of the
/// slowest; repaired if any choice was. Any choice's error is the request's.
fn merge_choices(
    answers: Vec<Result<(ChatCompletionResponse, CompletionReport), ProxyError>>,
) -> Result<(ChatCompletionResponse, CompletionReport), ProxyError> {
    let mut merged: Option<(ChatCompletionResponse, CompletionReport)> = None;
    for (index, answer) in answers.into_iter().enumerate() {
        let (response, report) = answer?;
        match merged.as_mut() {
            None => merged = Some((response, report)),
            Some((all, merged_report)) => {
                all.usage.completion_tokens += response.usage.completion_tokens;
                all.usage.total_tokens = all.usage.prompt_tokens + all.usage.completion_tokens;
                all.choices
                    .extend(response.choices.into_iter().map(|mut choice| {
                        choice.index = u32::try_from(index).unwrap_or(u32::MAX);
                        choice
                    }));
                let slowest = &mut merged_report.timings;
                slowest.total = slowest.total.max(report.timings.total);
                slowest.backend = slowest.backend.max(report.timings.backend);
                merged_report.json_repaired |= report.json_repaired;
            }
        }
    }
    merged.ok_or_else(|| ProxyError::invalid("`n` asks for no choices"))
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
        let replica = target.replicas().preferred();
        let request = TokenCountRequest {
            endpoint: replica.endpoint(),
            auth: replica.auth(),
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
async fn select_wrapper(
    http: &reqwest::Client,
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
        None => target.wrapper().wrapper(http, target).await,
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
