//! [`ModelTarget`]: where one model is served and how its prompts are formatted, as a
//! user describes it; [`ResolvedTarget`]: the same, resolved once against the
//! registries, ready for any number of requests.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::ProxyError;
use super::replicas::{FaultPolicy, ReplicaConfig, ReplicaSet};
use super::served_template::ServedTemplate;
use super::token_counting::TokenCounting;
use crate::backend::{
    backend_registry, BackendAuth, ConstraintChoice, ConstraintField, Endpoint, RegisteredBackend,
};
use crate::chat_template_plugin::{build_chat_template_wrapper, chat_template_plugins};
use crate::chat_template_source::{load_local, TemplateSource};
use crate::registry::{find_wrapper, load_wrapper_file, wrapper_registry};
use crate::settings::SettingsPreset;
use crate::wrapper::PromptWrapper;
use crate::wrapper_choice::{choose_wrapper, SUMMARY_WRAPPER};

/// Which wrapper formats the prompts of a [`ModelTarget`].
#[derive(Clone, Default)]
pub enum WrapperSelection {
    /// [`DEFAULT_WRAPPER`](crate::DEFAULT_WRAPPER), with a warning logged once (the
    /// request's `wrapper` field still wins).
    #[default]
    Default,
    /// A registered wrapper by name (the request's `wrapper` field still wins).
    Named(String),
    /// A user's wrapper definition file, built with the linked-in loader
    /// ([`load_wrapper_file`]).
    File(PathBuf),
    /// The model's own chat template (from a file, a `tokenizer_config.json`, a GGUF
    /// file's metadata, or the backend), built with the linked-in chat-template plugin
    /// ([`build_chat_template_wrapper`](crate::chat_template_plugin::build_chat_template_wrapper)).
    /// A local template is read when the target is resolved; the backend's on the
    /// first request (the request's `wrapper` field still wins).
    Template {
        /// Where the template comes from.
        source: TemplateSource,
        /// The model's tool-call format (`hermes`, `llama3-json`, `mistral`, `json`);
        /// `None`: read off the template.
        tool_call_format: Option<String>,
    },
    /// A wrapper object the caller built.
    Custom {
        /// A name for logs and errors.
        name: String,
        /// The wrapper.
        wrapper: Arc<dyn PromptWrapper>,
    },
}

impl fmt::Debug for WrapperSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrapperSelection::Default => f.write_str("Default"),
            WrapperSelection::Named(name) => f.debug_tuple("Named").field(name).finish(),
            WrapperSelection::File(path) => f.debug_tuple("File").field(path).finish(),
            WrapperSelection::Template {
                source,
                tool_call_format,
            } => f
                .debug_struct("Template")
                .field("source", source)
                .field("tool_call_format", tool_call_format)
                .finish(),
            WrapperSelection::Custom { name, .. } => f.debug_tuple("Custom").field(name).finish(),
        }
    }
}

/// One model behind one inference server, as a user describes it (a server config
/// entry, the CLI's flags, code). [`resolve`](Self::resolve) checks it against the
/// registries once; requests then run on the [`ResolvedTarget`].
#[derive(Debug, Clone)]
pub struct ModelTarget {
    /// The endpoint type (`llamacpp`, `ollama`, …; see
    /// [`available_backends`](crate::backend::available_backends)).
    pub endpoint_type: String,
    /// The server's base URL (`http://localhost:8080`); `None`: the endpoint type's
    /// usual address (unless [`replicas`](Self::replicas) are given).
    pub endpoint: Option<String>,
    /// Several servers of the same model, spread by load (see
    /// [`ReplicaSet`]); empty: the one [`endpoint`](Self::endpoint). Not with an
    /// `endpoint`.
    pub replicas: Vec<ReplicaConfig>,
    /// How replicas are ejected, probed, queued and retried.
    pub faults: FaultPolicy,
    /// The model's name in logs and metrics (a server's entry name); `None`: the
    /// public name, else the backend's model name, else the endpoint type.
    pub name: Option<String>,
    /// The model's context window, in tokens; a longer prompt is refused before sending.
    pub context_window: u64,
    /// The name responses carry (a server's public model name). `None`: the
    /// request's `model`, else the backend's model name, else the endpoint type.
    pub public_name: Option<String>,
    /// The backend's model name (required by ollama, vLLM and Groq). `None`: the
    /// public name, else the request's `model`.
    pub model: Option<String>,
    /// Credentials for the backend. Never logged.
    pub auth: Option<BackendAuth>,
    /// The prompt format.
    pub wrapper: WrapperSelection,
    /// The completion settings preset (the user's settings file goes on top).
    pub settings_preset: SettingsPreset,
    /// How prompts are counted.
    pub token_counting: TokenCounting,
    /// How many times an answer that is not a call the request allows (a function not
    /// offered, arguments that fail its schema, no call where one is required) is asked
    /// for again before the request fails with `invalid_tool_call`
    /// ([`DEFAULT_MAX_RETRIES`] by default).
    pub max_retries: u32,
    /// The largest `n` (choices per request, each its own backend call, run
    /// concurrently) a request may ask for ([`DEFAULT_MAX_CHOICES`] by default).
    pub max_choices: u32,
    /// Which of the backend's output constraints answers are held to (a grammar, a
    /// JSON Schema; see `chat-completion-proxy backends`): its default unless set.
    pub constraint: ConstraintChoice,
    /// The most characters a constrained answer's `inner_thoughts` may have (both
    /// constraint languages say so), so a reply finishes its JSON before `max_tokens`;
    /// `None`: no bound. [`DEFAULT_MAX_THOUGHT_CHARS`] unless set.
    pub max_thought_chars: Option<u32>,
    /// The most characters each free-text string argument of a constrained call may
    /// have (see [`AnswerShape::max_argument_chars`](crate::grammar::AnswerShape)), so
    /// a model that repeats itself inside an argument still closes its JSON before
    /// `max_tokens`; `None` (the default): no bound, as a long argument may be meant.
    pub max_argument_chars: Option<u32>,
}

/// [`ModelTarget::max_thought_chars`] unless set: MemGPT's system prompt asks for inner
/// monologue "under 50 words", about 300 characters; 400 leaves room for that and
/// stays near 100 tokens, well inside the smallest default token limit.
pub const DEFAULT_MAX_THOUGHT_CHARS: u32 = 400;

/// [`ModelTarget::max_retries`] unless set.
pub const DEFAULT_MAX_RETRIES: u32 = 1;

/// [`ModelTarget::max_choices`] unless set.
pub const DEFAULT_MAX_CHOICES: u32 = 8;

impl ModelTarget {
    /// A target at `endpoint` with no model name, no auth, the default wrapper, the
    /// `simple` settings preset and the default token counting.
    pub fn new(
        endpoint_type: impl Into<String>,
        endpoint: impl Into<String>,
        context_window: u64,
    ) -> Self {
        let mut target = ModelTarget::at_default_endpoint(endpoint_type, context_window);
        target.endpoint = Some(endpoint.into());
        target
    }

    /// [`new`](Self::new) at the endpoint type's usual address.
    pub fn at_default_endpoint(endpoint_type: impl Into<String>, context_window: u64) -> Self {
        ModelTarget {
            endpoint_type: endpoint_type.into(),
            endpoint: None,
            replicas: Vec::new(),
            faults: FaultPolicy::default(),
            name: None,
            context_window,
            public_name: None,
            model: None,
            auth: None,
            wrapper: WrapperSelection::Default,
            settings_preset: SettingsPreset::Simple,
            token_counting: TokenCounting::default(),
            max_retries: DEFAULT_MAX_RETRIES,
            max_choices: DEFAULT_MAX_CHOICES,
            constraint: ConstraintChoice::Default,
            max_thought_chars: Some(DEFAULT_MAX_THOUGHT_CHARS),
            max_argument_chars: None,
        }
    }

    /// Checks the target and resolves it: the registered backend, the endpoint, the
    /// wrapper (a registered one, a loaded file, or the default), the summary wrapper
    /// for MemGPT's summarizer, the model names.
    ///
    /// Errors ([`ProxyError::InvalidRequest`] / [`ProxyError::UnknownPlugin`] /
    /// [`ProxyError::Wrapper`]): no or an unknown endpoint type, an endpoint that is
    /// not an `http(s)://` URL, a zero context window, an unknown wrapper, a wrapper
    /// file that cannot be loaded.
    pub fn resolve(&self) -> Result<ResolvedTarget, ProxyError> {
        if self.endpoint_type.trim().is_empty() {
            return Err(ProxyError::invalid(
                "no endpoint type given; set it to the kind of server (e.g. `llamacpp`, `ollama`)",
            ));
        }
        let (_, backend) = backend_registry().resolve(&self.endpoint_type)?;
        let replicas = ReplicaSet::for_target(self, backend)?;
        if self.context_window == 0 {
            return Err(ProxyError::invalid(
                "no context window given; set it to the model's context length in tokens (e.g. 8192)",
            ));
        }
        let wrapper = match &self.wrapper {
            WrapperSelection::Default => {
                let chosen = choose_wrapper(&[], None)?;
                TargetWrapper::Registered(chosen.name, chosen.wrapper).into()
            }
            WrapperSelection::Named(name) => {
                let (name, entry) = wrapper_registry().resolve(name)?;
                TargetWrapper::Registered(name, entry.wrapper.as_ref()).into()
            }
            WrapperSelection::File(path) => TargetWrapper::Custom(
                Arc::from(path.display().to_string()),
                Arc::from(load_wrapper_file(path)?),
            )
            .into(),
            WrapperSelection::Template {
                source,
                tool_call_format,
            } => template_wrapper(backend, source, tool_call_format.as_deref())?,
            WrapperSelection::Custom { name, wrapper } => {
                TargetWrapper::Custom(Arc::from(name.as_str()), Arc::clone(wrapper)).into()
            }
        };
        let constraint = backend
            .registration
            .capabilities
            .constraints
            .resolve(&self.constraint, backend.registration.name)
            .map_err(ProxyError::invalid)?;
        if constraint.is_none() && wrapper.constrains() {
            tracing::warn!(
                "the `{}` backend is sent no output constraint ({}); answers of the `{}` wrapper are checked after the call and asked for again when invalid",
                backend.registration.name,
                backend.registration.capabilities.constraints.summary(),
                wrapper.name()
            );
        }
        if self.token_counting == TokenCounting::Cl100k
            || !backend.registration.capabilities.tokenizer
        {
            // Requests to this target count with cl100k_base: build it at start-up.
            crate::tokens::load_encoding();
        }
        Ok(ResolvedTarget(Arc::new(Resolved {
            backend,
            replicas,
            context_window: self.context_window,
            wrapper,
            summary: find_wrapper(SUMMARY_WRAPPER).ok(),
            public_name: self.public_name.clone(),
            backend_model: self.model.clone().or_else(|| self.public_name.clone()),
            settings_preset: self.settings_preset,
            token_counting: self.token_counting,
            max_retries: self.max_retries,
            max_choices: self.max_choices,
            constraint,
            max_thought_chars: self.max_thought_chars,
            max_argument_chars: self.max_argument_chars,
        })))
    }
}

/// A local template's wrapper, built now; or the backend's, fetched at the first
/// request (refused now when the backend serves none, or no chat-template plugin is
/// linked in).
fn template_wrapper(
    backend: &RegisteredBackend,
    source: &TemplateSource,
    tool_call_format: Option<&str>,
) -> Result<WrapperSource, ProxyError> {
    if source.is_local() {
        let spec = load_local(source, tool_call_format)?;
        let wrapper = build_chat_template_wrapper(&spec)?;
        return Ok(TargetWrapper::Custom(
            Arc::from(format!("chat-template({})", source.describe())),
            Arc::from(wrapper),
        )
        .into());
    }
    if backend.registration.capabilities.chat_template.is_none() {
        return Err(ProxyError::invalid(format!(
            "the `{}` backend does not serve a chat template; name the template's file \
             (chat_template_file), tokenizer_config.json (tokenizer_config) or GGUF file \
             (chat_template_gguf) instead",
            backend.registration.name
        )));
    }
    if chat_template_plugins().is_empty() {
        return Err(ProxyError::invalid(
            "a chat template is configured, but this build links no chat-template plugin; \
             build with the `wrapper-template` feature",
        ));
    }
    Ok(WrapperSource::Served(Arc::new(ServedTemplate::new(
        backend.registration.name,
        tool_call_format.map(str::to_owned),
    ))))
}

/// Where a target's wrapper comes from: ready at start-up, or the backend's template.
#[derive(Clone)]
pub(super) enum WrapperSource {
    /// Resolved when the target was.
    Ready(TargetWrapper),
    /// The backend's chat template, fetched at the first request.
    Served(Arc<ServedTemplate>),
}

impl From<TargetWrapper> for WrapperSource {
    fn from(wrapper: TargetWrapper) -> Self {
        WrapperSource::Ready(wrapper)
    }
}

impl WrapperSource {
    /// Its name or label.
    pub(super) fn name(&self) -> &str {
        match self {
            WrapperSource::Ready(wrapper) => wrapper.name(),
            WrapperSource::Served(served) => served.label(),
        }
    }

    /// Whether its answers are constrained (chat templates' native calls are).
    fn constrains(&self) -> bool {
        match self {
            WrapperSource::Ready(wrapper) => wrapper.get().grammar_style().is_some(),
            WrapperSource::Served(_) => true,
        }
    }

    /// The wrapper, fetching the backend's template the first time.
    pub(super) async fn wrapper(
        &self,
        http: &reqwest::Client,
        target: &ResolvedTarget,
    ) -> Result<TargetWrapper, ProxyError> {
        match self {
            WrapperSource::Ready(wrapper) => Ok(wrapper.clone()),
            WrapperSource::Served(served) => served.wrapper(http, target).await,
        }
    }
}

/// The wrapper a request is served with: a registered one or one the user built.
#[derive(Clone)]
pub(super) enum TargetWrapper {
    /// A registered wrapper, under its registered name.
    Registered(&'static str, &'static dyn PromptWrapper),
    /// A wrapper from a file or built by the caller, under its label.
    Custom(Arc<str>, Arc<dyn PromptWrapper>),
}

impl TargetWrapper {
    /// The wrapper.
    pub(super) fn get(&self) -> &dyn PromptWrapper {
        match self {
            TargetWrapper::Registered(_, wrapper) => *wrapper,
            TargetWrapper::Custom(_, wrapper) => wrapper.as_ref(),
        }
    }

    /// Its registered name or label.
    pub(super) fn name(&self) -> &str {
        match self {
            TargetWrapper::Registered(name, _) => name,
            TargetWrapper::Custom(name, _) => name,
        }
    }
}

/// A [`ModelTarget`] resolved once ([`ModelTarget::resolve`]): the registered
/// backend, the checked endpoint, the wrapper, the model names and the token
/// counting, ready for every request. Cheap to clone.
#[derive(Clone)]
pub struct ResolvedTarget(Arc<Resolved>);

struct Resolved {
    backend: &'static RegisteredBackend,
    replicas: ReplicaSet,
    context_window: u64,
    wrapper: WrapperSource,
    summary: Option<&'static dyn PromptWrapper>,
    public_name: Option<String>,
    backend_model: Option<String>,
    settings_preset: SettingsPreset,
    token_counting: TokenCounting,
    max_retries: u32,
    max_choices: u32,
    constraint: Option<&'static ConstraintField>,
    max_thought_chars: Option<u32>,
    max_argument_chars: Option<u32>,
}

impl fmt::Debug for ResolvedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedTarget")
            .field("endpoint_type", &self.endpoint_type())
            .field("replicas", &self.0.replicas)
            .field("context_window", &self.0.context_window)
            .field("wrapper", &self.wrapper_name())
            .field("public_name", &self.0.public_name)
            .field("backend_model", &self.0.backend_model)
            .field("settings_preset", &self.0.settings_preset)
            .field("token_counting", &self.0.token_counting)
            .field("max_retries", &self.0.max_retries)
            .field("max_choices", &self.0.max_choices)
            .field("constraint", &self.constraint().map(|field| field.name))
            .field("max_thought_chars", &self.0.max_thought_chars)
            .field("max_argument_chars", &self.0.max_argument_chars)
            .finish()
    }
}

/// The model names of one request: what the response says, what the backend is sent.
pub(super) struct RequestModel {
    /// The response's `model`.
    pub(super) public: String,
    /// The backend's model name, if any.
    pub(super) backend: Option<String>,
}

impl ResolvedTarget {
    /// The registered endpoint type (`llamacpp`, …).
    pub fn endpoint_type(&self) -> &'static str {
        self.0.backend.registration.name
    }

    /// The server's base URL, checked and parsed (the first replica's).
    pub fn endpoint(&self) -> &Endpoint {
        self.0.replicas.first().endpoint()
    }

    /// The model's replicas and their state (one for a single endpoint).
    pub fn replicas(&self) -> &ReplicaSet {
        &self.0.replicas
    }

    /// The model's context window, in tokens.
    pub fn context_window(&self) -> u64 {
        self.0.context_window
    }

    /// The configured wrapper's registered name or label (a file's path).
    pub fn wrapper_name(&self) -> &str {
        self.0.wrapper.name()
    }

    /// The backend's model name, when fixed by the target.
    pub fn backend_model(&self) -> Option<&str> {
        self.0.backend_model.as_deref()
    }

    /// How prompts are counted.
    pub fn token_counting(&self) -> TokenCounting {
        self.0.token_counting
    }

    /// How many times an answer that breaks the request's tool choice is asked for again.
    pub fn max_retries(&self) -> u32 {
        self.0.max_retries
    }

    /// The largest `n` a request may ask for.
    pub fn max_choices(&self) -> u32 {
        self.0.max_choices
    }

    /// The output constraint requests are sent with; `None`: none (answers are checked
    /// after the call only).
    pub fn constraint(&self) -> Option<&'static ConstraintField> {
        self.0.constraint
    }

    /// The bound on a constrained answer's `inner_thoughts`, in characters.
    pub fn max_thought_chars(&self) -> Option<u32> {
        self.0.max_thought_chars
    }

    /// The bound on each free-text string argument of a constrained call, in
    /// characters.
    pub fn max_argument_chars(&self) -> Option<u32> {
        self.0.max_argument_chars
    }

    pub(super) fn backend(&self) -> &'static RegisteredBackend {
        self.0.backend
    }

    pub(super) fn settings_preset(&self) -> SettingsPreset {
        self.0.settings_preset
    }

    pub(super) fn wrapper(&self) -> &WrapperSource {
        &self.0.wrapper
    }

    pub(super) fn summary_wrapper(&self) -> Option<&'static dyn PromptWrapper> {
        self.0.summary
    }

    /// The one place the model names are worked out: the response carries the public
    /// name, else the request's `model`, else the backend's model name, else the
    /// endpoint type; the backend gets the target's model name, else the request's.
    pub(super) fn request_model(&self, requested: Option<&str>) -> RequestModel {
        let backend = self
            .0
            .backend_model
            .as_deref()
            .or(requested)
            .map(str::to_owned);
        let public = self
            .0
            .public_name
            .as_deref()
            .or(requested)
            .or(backend.as_deref())
            .unwrap_or(self.endpoint_type())
            .to_owned();
        RequestModel { public, backend }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrator::test_support::{target, TEST_ENDPOINT_TYPE};
    use crate::ErrorKind;

    fn refusal(target: &ModelTarget) -> String {
        match target.resolve() {
            Ok(resolved) => panic!("resolved: {resolved:?}"),
            Err(error) => {
                assert!(
                    matches!(
                        error.kind(),
                        ErrorKind::InvalidRequest | ErrorKind::InvalidEndpoint
                    ),
                    "{error}"
                );
                error.to_string()
            }
        }
    }

    #[test]
    fn resolving_fills_the_default_endpoint_and_the_model_names() {
        let resolved = target().resolve().unwrap();
        assert_eq!(resolved.endpoint_type(), TEST_ENDPOINT_TYPE);
        assert_eq!(resolved.endpoint().as_str(), "http://localhost:9");
        assert_eq!(resolved.wrapper_name(), "blank");
        let names = resolved.request_model(Some("asked"));
        assert_eq!(
            (names.public.as_str(), names.backend.as_deref()),
            ("asked", Some("asked"))
        );
        let names = resolved.request_model(None);
        assert_eq!(
            (names.public.as_str(), names.backend),
            (TEST_ENDPOINT_TYPE, None)
        );

        let mut served = target();
        served.public_name = Some("public".into());
        let resolved = served.resolve().unwrap();
        let names = resolved.request_model(Some("asked"));
        assert_eq!(
            (names.public.as_str(), names.backend.as_deref()),
            ("public", Some("public")),
            "a served model's backend name defaults to its public name"
        );
        served.model = Some("backend-name".into());
        let names = served.resolve().unwrap().request_model(Some("asked"));
        assert_eq!(
            (names.public.as_str(), names.backend.as_deref()),
            ("public", Some("backend-name"))
        );
    }

    #[test]
    fn a_target_missing_what_it_needs_is_refused_once_with_the_field_named() {
        let mut no_window = target();
        no_window.context_window = 0;
        assert!(refusal(&no_window).contains("context window"));
        let mut blank_endpoint = target();
        blank_endpoint.endpoint = Some(" ".into());
        assert!(refusal(&blank_endpoint).contains("endpoint"));
        let mut bad_endpoint = target();
        bad_endpoint.endpoint = Some("localhost:8080".into());
        assert!(refusal(&bad_endpoint).contains("http://"));
        let mut no_type = target();
        no_type.endpoint_type.clear();
        assert!(refusal(&no_type).contains("endpoint type"));
        let mut unknown_type = target();
        unknown_type.endpoint_type = "no-such-server".into();
        let message = refusal(&unknown_type);
        assert!(
            message.contains("no-such-server") && message.contains(TEST_ENDPOINT_TYPE),
            "{message}"
        );
        let mut unknown_wrapper = target();
        unknown_wrapper.wrapper = WrapperSelection::Named("no-such-wrapper".into());
        assert!(refusal(&unknown_wrapper).contains("no-such-wrapper"));
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let mut target = ModelTarget::new("llamacpp", "http://localhost:8080", 4096);
        target.auth = Some(BackendAuth::BearerToken("sekrit-key".into()));
        let shown = format!("{target:?}");
        assert!(!shown.contains("sekrit-key"), "{shown}");
        assert!(shown.contains("BearerToken(***)"), "{shown}");
    }
}
