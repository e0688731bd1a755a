//! How a request is constrained: the grammar (for `-grammar` wrappers and
//! `response_format` answers on targets constrained by a grammar) or the answer's JSON
//! Schema (on targets constrained by one), each built once per function set and answer
//! shape and then reused.

use std::sync::Arc;

use super::error::ProxyError;
use crate::backend::{Constraint, ConstraintField, ConstraintLanguage, ConstraintText};
use crate::chat::FunctionSchema;
use crate::grammar::{
    registered_grammar_generator, AnswerShape, GeneratedGrammar, GrammarGenerator,
};

/// How many distinct grammars a client keeps (an agent uses one or a few function
/// sets; the least recently used beyond this are dropped).
const GRAMMAR_CACHE_CAPACITY: usize = 64;

/// What a cached grammar was built from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GrammarKey {
    /// A call answer: the shape and the function schemas' JSON text.
    Call(AnswerShape, String),
    /// A `response_format` answer: the schema's JSON text.
    Value(String),
}

/// Grammars by what they were built from.
type GrammarCache = quick_cache::sync::Cache<GrammarKey, Arc<GeneratedGrammar>>;

/// Answer JSON Schemas by what they were built from.
type SchemaCache = quick_cache::sync::Cache<GrammarKey, Arc<serde_json::Value>>;

/// One request's output constraint, built: the field it goes in and the grammar or
/// schema (shared with the cache), which the backend request borrows.
pub(super) struct PreparedConstraint {
    field: &'static ConstraintField,
    text: PreparedText,
}

/// The built text of a [`PreparedConstraint`].
enum PreparedText {
    Grammar(Arc<GeneratedGrammar>),
    Schema(Arc<serde_json::Value>),
}

impl PreparedConstraint {
    /// The name of the field it goes in (`grammar`, `json_schema`, …).
    pub(super) fn field_name(&self) -> &'static str {
        self.field.name
    }

    /// The constraint as the backend request carries it.
    pub(super) fn as_constraint(&self) -> Constraint<'_> {
        Constraint {
            field: self.field,
            text: match &self.text {
                PreparedText::Grammar(grammar) => ConstraintText::Gbnf(&grammar.gbnf),
                PreparedText::Schema(schema) => ConstraintText::JsonSchema(schema),
            },
        }
    }

    /// The grammar's description of the functions, for the prompt, if it has one.
    pub(super) fn documentation(&self) -> Option<&str> {
        match &self.text {
            PreparedText::Grammar(grammar) => grammar.documentation.as_deref(),
            PreparedText::Schema(_) => None,
        }
    }
}

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

    /// The constraint of one request on a target constrained by `field` (none: `None`):
    /// for a `response_format` answer (`value_schema`), the grammar of its values or the
    /// schema itself; for a call answer in `shape` (a `-grammar` wrapper's), the
    /// grammar or the answer's JSON Schema; `None` where there is nothing to constrain.
    pub(super) fn constraint_for(
        &self,
        field: Option<&'static ConstraintField>,
        shape: Option<AnswerShape>,
        functions: &[FunctionSchema],
        value_schema: Option<&serde_json::Value>,
    ) -> Result<Option<PreparedConstraint>, ProxyError> {
        let Some(field) = field else {
            if shape.is_some() || value_schema.is_some() {
                tracing::debug!(
                    "the target sends no output constraint; the answer is checked after the call"
                );
            }
            return Ok(None);
        };
        let text = match (field.language, value_schema) {
            (ConstraintLanguage::Gbnf, Some(schema)) => {
                self.value_grammar_for(schema)?.map(PreparedText::Grammar)
            }
            (ConstraintLanguage::Gbnf, None) => self
                .grammar_for(shape, functions)?
                .map(PreparedText::Grammar),
            // A `response_format` schema is its own constraint.
            (ConstraintLanguage::JsonSchema, Some(schema)) => {
                Some(PreparedText::Schema(Arc::new(schema.clone())))
            }
            (ConstraintLanguage::JsonSchema, None) => {
                self.schema_for(shape, functions)?.map(PreparedText::Schema)
            }
        };
        Ok(text.map(|text| PreparedConstraint { field, text }))
    }

    /// The grammar in answer shape `shape` (a `-grammar` wrapper's, adjusted to the
    /// request's tool choice), for a target whose constraint is a grammar, built once
    /// per function set and shape; `None` for no style or no functions, and (with a
    /// warning) when no generator is linked in.
    fn grammar_for(
        &self,
        shape: Option<AnswerShape>,
        functions: &[FunctionSchema],
    ) -> Result<Option<Arc<GeneratedGrammar>>, ProxyError> {
        let Some(shape) = shape else {
            return Ok(None);
        };
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
            Ok(text) => GrammarKey::Call(shape, text),
            // Not reachable for schemas that came from JSON; build without caching.
            Err(_) => return Ok(Some(Arc::new(generator.generate(functions, shape)?))),
        };
        if let Some(grammar) = self.cache.get(&key) {
            return Ok(Some(grammar));
        }
        let grammar = Arc::new(generator.generate(functions, shape)?);
        self.cache.insert(key, Arc::clone(&grammar));
        Ok(Some(grammar))
    }

    /// The answer's JSON Schema in shape `shape` (a `-grammar` wrapper's, adjusted to
    /// the request's tool choice), for a target whose constraint is a JSON Schema,
    /// built once per function set and shape; `None` for no style or no functions, and
    /// when the generator builds no schema.
    fn schema_for(
        &self,
        shape: Option<AnswerShape>,
        functions: &[FunctionSchema],
    ) -> Result<Option<Arc<serde_json::Value>>, ProxyError> {
        let Some(shape) = shape else {
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
        let key = serde_json::to_string(functions).map(|text| GrammarKey::Call(shape, text));
        if let Some(schema) = key.as_ref().ok().and_then(|key| self.schemas.get(key)) {
            return Ok(Some(schema));
        }
        let Some(schema) = generator.generate_schema(functions, shape)? else {
            return Ok(None);
        };
        let schema = Arc::new(schema);
        if let Ok(key) = key {
            self.schemas.insert(key, Arc::clone(&schema));
        }
        Ok(Some(schema))
    }

    /// The grammar of one JSON value of `schema` (a `response_format` answer), for a
    /// target whose constraint is a grammar, with a generator linked in; `None`
    /// otherwise (the answer is then checked after the call only).
    fn value_grammar_for(
        &self,
        schema: &serde_json::Value,
    ) -> Result<Option<Arc<GeneratedGrammar>>, ProxyError> {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::grammar::{GrammarError, GrammarGenerator};
    use crate::wrapper::GrammarStyle;

    /// Counts how often it is asked for a grammar.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl GrammarGenerator for Counting {
        fn generate(
            &self,
            functions: &[FunctionSchema],
            shape: AnswerShape,
        ) -> Result<GeneratedGrammar, GrammarError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(GeneratedGrammar {
                gbnf: format!("root ::= \"{}-{shape:?}\"", functions.len()),
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
                reasoning: None,
                function_calls: Vec::new(),
            })
        }
        fn grammar_style(&self) -> Option<GrammarStyle> {
            Some(self.0)
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
        let forced = GrammarWrapper(GrammarStyle::InnerThoughtsInParams);
        let optional = GrammarWrapper(GrammarStyle::InnerThoughtsTopLevel);
        let one = [function("a")];
        let two = [function("a"), function("b")];

        let first = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&forced).map(AnswerShape::from),
                &one,
            )
            .unwrap()
            .unwrap();
        let again = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&forced).map(AnswerShape::from),
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
                crate::wrapper::PromptWrapper::grammar_style(&forced).map(AnswerShape::from),
                &two,
            )
            .unwrap()
            .unwrap();
        let other_style = client
            .grammar_for(
                crate::wrapper::PromptWrapper::grammar_style(&optional).map(AnswerShape::from),
                &one,
            )
            .unwrap()
            .unwrap();
        assert_eq!(generator.0.load(Ordering::SeqCst), 3);
        assert_ne!(other_set.gbnf, first.gbnf);
        assert_ne!(other_style.gbnf, first.gbnf);
    }
}
