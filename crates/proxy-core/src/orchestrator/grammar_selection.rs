//! Which grammar a request gets: one for `-grammar` wrappers on backends that accept
//! grammars, built once per function set and answer shape and then reused.

use std::sync::Arc;

use super::error::ProxyError;
use crate::backend::{backend_registry, RegisteredBackend};
use crate::chat::FunctionSchema;
use crate::grammar::{registered_grammar_generator, GeneratedGrammar, GrammarGenerator};
use crate::wrapper::GrammarStyle;

/// How many distinct grammars a client keeps (an agent uses one or a few function
/// sets; the least recently used beyond this are dropped).
const GRAMMAR_CACHE_CAPACITY: usize = 64;

/// What a cached grammar was built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GrammarKey {
    /// A call answer: the shape and the function schemas' JSON text.
    Call(GrammarStyle, String),
    /// A `response_format` answer: the schema's JSON text.
    Value(String),
}

/// Grammars by what they were built from.
type GrammarCache = quick_cache::sync::Cache<GrammarKey, Arc<GeneratedGrammar>>;

/// Answer JSON Schemas by what they were built from.
type SchemaCache = quick_cache::sync::Cache<GrammarKey, Arc<serde_json::Value>>;

/// A client's grammar choice: its generator (given to the builder, else the
/// registered one) and the grammars it has built.
pub(super) struct GrammarSelector {
    given: Option<Arc<dyn GrammarGenerator>>,
    cache: GrammarCache,
    schemas: SchemaCache,
}

impl GrammarSelector {
    /// A selector using `given`, else the registered generator.
    pub(super) fn new(given: Option<Arc<dyn GrammarGenerator>>) -> Self {
        GrammarSelector {
            given,
            cache: GrammarCache::new(GRAMMAR_CACHE_CAPACITY),
            schemas: SchemaCache::new(GRAMMAR_CACHE_CAPACITY),
        }
    }

    /// Whether a generator was given to the builder (instead of the registered one).
    pub(super) fn has_given_generator(&self) -> bool {
        self.given.is_some()
    }

    /// The generator: the one given to the builder, else the registered one.
    pub(super) fn generator(&self) -> Option<&dyn GrammarGenerator> {
        match &self.given {
            Some(generator) => Some(generator.as_ref()),
            None => registered_grammar_generator(),
        }
    }

    /// The grammar in answer shape `style` (a `-grammar` wrapper's, adjusted to the
    /// request's tool choice) on a backend that accepts one; `None` (with a warning
    /// saying why) otherwise, and for no style.
    pub(super) fn grammar_for(
        &self,
        style: Option<GrammarStyle>,
        backend: &RegisteredBackend,
        functions: &[FunctionSchema],
    ) -> Result<Option<Arc<GeneratedGrammar>>, ProxyError> {
        let Some(style) = style else {
            return Ok(None);
        };
        let endpoint_type = backend.registration.name;
        if !backend.registration.capabilities.grammar
            && backend.registration.capabilities.json_schema
        {
            // The answer's JSON Schema constrains it instead (`schema_for`).
            return Ok(None);
        }
        if !backend.registration.capabilities.grammar {
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
        let Some(generator) = self.generator() else {
            tracing::warn!(
                "this build has no grammar generator (enable the `grammar-gbnf` feature); sending the prompt without a grammar"
            );
            return Ok(None);
        };
        let key = match serde_json::to_string(functions) {
            Ok(text) => GrammarKey::Call(style, text),
            // Not reachable for schemas that came from JSON; build without caching.
            Err(_) => return Ok(Some(Arc::new(generator.generate(functions, style)?))),
        };
        if let Some(grammar) = self.cache.get(&key) {
            return Ok(Some(grammar));
        }
        let grammar = Arc::new(generator.generate(functions, style)?);
        self.cache.insert(key, Arc::clone(&grammar));
        Ok(Some(grammar))
    }

    /// The answer's JSON Schema in shape `style` (a `-grammar` wrapper's, adjusted to
    /// the request's tool choice) on a backend that constrains with a JSON Schema and
    /// takes no grammar, built once per function set and shape; `None` otherwise, for
    /// no style or no functions, and when the generator builds no schema.
    pub(super) fn schema_for(
        &self,
        style: Option<GrammarStyle>,
        backend: &RegisteredBackend,
        functions: &[FunctionSchema],
    ) -> Result<Option<Arc<serde_json::Value>>, ProxyError> {
        let capabilities = &backend.registration.capabilities;
        let (Some(style), false, true) = (style, capabilities.grammar, capabilities.json_schema)
        else {
            return Ok(None);
        };
        if functions.is_empty() {
            return Ok(None);
        }
        let Some(generator) = self.generator() else {
            tracing::warn!(
                "this build has no grammar generator (enable the `grammar-gbnf` feature); sending the prompt without a JSON Schema"
            );
            return Ok(None);
        };
        let key = serde_json::to_string(functions).map(|text| GrammarKey::Call(style, text));
        if let Some(schema) = key.as_ref().ok().and_then(|key| self.schemas.get(key)) {
            return Ok(Some(schema));
        }
        let Some(schema) = generator.generate_schema(functions, style)? else {
            return Ok(None);
        };
        let schema = Arc::new(schema);
        if let Ok(key) = key {
            self.schemas.insert(key, Arc::clone(&schema));
        }
        Ok(Some(schema))
    }

    /// The grammar of one JSON value of `schema` (a `response_format` answer) on a
    /// backend that accepts grammars and with a generator linked in; `None` otherwise
    /// (the answer is then checked after the call only).
    pub(super) fn value_grammar_for(
        &self,
        backend: &RegisteredBackend,
        schema: &serde_json::Value,
    ) -> Result<Option<Arc<GeneratedGrammar>>, ProxyError> {
        if !backend.registration.capabilities.grammar {
            tracing::debug!(
                "the `{}` backend takes no grammar; the response_format answer is checked after the call",
                backend.registration.name
            );
            return Ok(None);
        }
        let Some(generator) = self.generator() else {
            tracing::debug!(
                "this build has no grammar generator; the response_format answer is checked after the call"
            );
            return Ok(None);
        };
        let key = GrammarKey::Value(schema.to_string());
        if let Some(grammar) = self.cache.get(&key) {
            return Ok(Some(grammar));
        }
        let grammar = Arc::new(generator.generate_value(schema)?);
        self.cache.insert(key, Arc::clone(&grammar));
        Ok(Some(grammar))
    }
}

/// The endpoint types whose backends accept a grammar.
fn grammar_backends() -> Vec<&'static str> {
    backend_registry()
        .iter()
        .filter(|(_, backend)| backend.registration.capabilities.grammar)
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::grammar::{GrammarError, GrammarGenerator};

    /// Counts how often it is asked for a grammar.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl GrammarGenerator for Counting {
        fn generate(
            &self,
            functions: &[FunctionSchema],
            style: GrammarStyle,
        ) -> Result<GeneratedGrammar, GrammarError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(GeneratedGrammar {
                gbnf: format!("root ::= \"{}-{style:?}\"", functions.len()),
                documentation: None,
            })
        }

        fn generate_value(
            &self,
            schema: &serde_json::Value,
        ) -> Result<GeneratedGrammar, GrammarError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(GeneratedGrammar {
                gbnf: format!("root ::= \"value {schema}\""),
                documentation: None,
            })
        }
    }

    struct GrammarWrapper(GrammarStyle);

    impl crate::wrapper::PromptWrapper for GrammarWrapper {
        fn render_prompt(
            &self,
            _: &crate::wrapper::RenderRequest<'_>,
        ) -> Result<String, crate::wrapper::WrapperError> {
            Ok(String::new())
        }
        fn parse_output(
            &self,
            _: &str,
            _: bool,
        ) -> Result<crate::chat::AssistantMessage, crate::wrapper::WrapperError> {
            Ok(crate::chat::AssistantMessage {
                content: None,
                function_calls: Vec::new(),
            })
        }
        fn grammar_style(&self) -> Option<GrammarStyle> {
            Some(self.0)
        }
    }

    /// A backend registration that accepts grammars (never called here).
    static GRAMMAR_BACKEND: crate::backend::BackendRegistration =
        crate::backend::BackendRegistration {
            plugin: "proxy-core",
            name: "grammar-test",
            description: "accepts grammars",
            default_endpoint: "http://localhost:1",
            capabilities: crate::backend::BackendCapabilities {
                grammar: true,
                json_schema: false,
                model_required: false,
                tokenizer: false,
                streaming: false,
                images: None,
            },
            build: || Box::new(Unused),
        };

    struct Unused;

    #[async_trait::async_trait]
    impl crate::backend::CompletionBackend for Unused {
        async fn complete(
            &self,
            _: &reqwest::Client,
            _: &crate::backend::BackendRequest<'_>,
        ) -> Result<crate::backend::BackendCompletion, crate::backend::BackendError> {
            Err(crate::backend::BackendError::InvalidRequest {
                backend: "grammar-test",
                reason: "not called".into(),
            })
        }
    }

    fn function(name: &str) -> FunctionSchema {
        serde_json::from_value(serde_json::json!({"name": name, "parameters": {"type": "object"}}))
            .unwrap()
    }

    #[test]
    fn one_grammar_per_function_set_and_style() {
        let generator = Arc::new(Counting::default());
        let client = GrammarSelector::new(Some(generator.clone()));
        let backend = RegisteredBackend {
            registration: &GRAMMAR_BACKEND,
            backend: (GRAMMAR_BACKEND.build)(),
        };
        let forced = GrammarWrapper(GrammarStyle::InnerThoughtsInParams);
        let optional = GrammarWrapper(GrammarStyle::InnerThoughtsTopLevel);
        let one = [function("a")];
        let two = [function("a"), function("b")];

        let first = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&forced),
                &backend,
                &one,
            )
            .unwrap()
            .unwrap();
        let again = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&forced),
                &backend,
                &one,
            )
            .unwrap()
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second request reuses the grammar"
        );
        assert_eq!(generator.0.load(Ordering::SeqCst), 1);

        let other_set = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&forced),
                &backend,
                &two,
            )
            .unwrap()
            .unwrap();
        let other_style = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&optional),
                &backend,
                &one,
            )
            .unwrap()
            .unwrap();
        assert_eq!(generator.0.load(Ordering::SeqCst), 3);
        assert_ne!(other_set.gbnf, first.gbnf);
        assert_ne!(other_style.gbnf, first.gbnf);
    }
}
