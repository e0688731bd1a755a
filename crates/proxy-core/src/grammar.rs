//! The grammar extension point: turning a request's function schemas into a grammar
//! that constrains the model's output (constrained decoding).
//!
//! The orchestrator asks for a grammar only for wrappers with a
//! [`GrammarStyle`] (the `-grammar` variants) and only
//! sends it to backends that accept one
//! ([`BackendCapabilities::grammar`](crate::backend::BackendCapabilities));
//! elsewhere it logs a warning and sends the prompt unconstrained. A generator plugin
//! registers itself with [`register_grammar_generator!`](crate::register_grammar_generator);
//! a [`ProxyClient`](crate::orchestrator::ProxyClient) can also be given one directly.

use std::sync::OnceLock;

use crate::chat::FunctionSchema;
use crate::registry::Registry;
use crate::wrapper::GrammarStyle;

/// What one call answer must look like: the wrapper's answer shape and the bound on
/// its inner thoughts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnswerShape {
    /// Where the thoughts go and whether the call is optional.
    pub style: GrammarStyle,
    /// The most characters `inner_thoughts` may have (a JSON escape counts as one);
    /// `None`: any number.
    pub max_thought_chars: Option<u32>,
    /// The most characters each free-text string argument may have (a string
    /// parameter, at any depth, whose schema narrows it with none of `minLength`,
    /// `maxLength`, `pattern` or `format`; a JSON escape counts as one); `None`: any
    /// number.
    pub max_argument_chars: Option<u32>,
}

impl From<GrammarStyle> for AnswerShape {
    /// The shape with thoughts of any length.
    fn from(style: GrammarStyle) -> Self {
        AnswerShape {
            style,
            max_thought_chars: None,
            max_argument_chars: None,
        }
    }
}

/// A generated grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedGrammar {
    /// The grammar text in the backend's format (GBNF for llama.cpp and friends).
    pub gbnf: String,
    /// A description of the functions matching the grammar, for the prompt in place of
    /// the wrapper's own function listing; `None` keeps the wrapper's listing.
    pub documentation: Option<String>,
}

/// Why a grammar could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// The request offers no function, so no call can be constrained.
    #[error(
        "cannot build a grammar from the function schemas: no functions were given; send at \
         least one function (`functions` or `tools`) or use a wrapper without `-grammar`"
    )]
    NoFunctions,
    /// A function has an empty name, which no answer could call.
    #[error(
        "cannot build a grammar from the function schemas: function {index} has an empty \
         name; give every function a name"
    )]
    UnnamedFunction {
        /// The function's position in the request's list.
        index: usize,
    },
}

/// Builds a grammar whose every sentence is one answer in a wrapper's answer shape.
pub trait GrammarGenerator: Send + Sync {
    /// The grammar for `functions` in the answer shape `shape`.
    fn generate(
        &self,
        functions: &[FunctionSchema],
        shape: AnswerShape,
    ) -> Result<GeneratedGrammar, GrammarError>;

    /// The grammar whose sentences are the JSON values `schema` allows (whitespace may
    /// come first): a `response_format` answer, `{"type": "object"}` for JSON mode.
    fn generate_value(&self, schema: &serde_json::Value) -> Result<GeneratedGrammar, GrammarError>;

    /// The JSON Schema of the answers [`generate`](Self::generate) admits, for
    /// backends that constrain with a JSON Schema instead of a grammar; `Ok(None)`
    /// (the default) when this generator builds none.
    fn generate_schema(
        &self,
        functions: &[FunctionSchema],
        shape: AnswerShape,
    ) -> Result<Option<serde_json::Value>, GrammarError> {
        let _ = (functions, shape);
        Ok(None)
    }
}

/// A grammar generator plugin's registration, submitted with
/// [`register_grammar_generator!`](crate::register_grammar_generator).
#[derive(Debug)]
pub struct GrammarGeneratorRegistration {
    /// The package that registered it (filled in by
    /// [`register_grammar_generator!`](crate::register_grammar_generator)): the plugin
    /// crate, whose facade feature has the same name.
    pub plugin: &'static str,
    /// The generator's name (`"gbnf"`).
    pub name: &'static str,
    /// Builds the generator; called once per process.
    pub build: fn() -> Box<dyn GrammarGenerator>,
}

inventory::collect!(GrammarGeneratorRegistration);

/// The registered grammar generators by name, built once (through the shared
/// [`Registry`], so a name registered twice is refused, not picked at random).
pub fn grammar_registry() -> &'static Registry<Box<dyn GrammarGenerator>> {
    static REGISTRY: OnceLock<Registry<Box<dyn GrammarGenerator>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::build(
            "grammar generator",
            inventory::iter::<GrammarGeneratorRegistration>()
                .map(|registration| (registration.name, (registration.build)())),
        )
    })
}

/// The linked-in grammar generator, if a plugin registered one (the first by name when
/// several did).
pub fn registered_grammar_generator() -> Option<&'static dyn GrammarGenerator> {
    grammar_registry()
        .iter()
        .next()
        .map(|(_, generator)| generator.as_ref())
}

/// Registers a grammar generator plugin.
///
/// ```
/// use proxy_core::grammar::{AnswerShape, GeneratedGrammar, GrammarError, GrammarGenerator};
/// use proxy_core::{FunctionSchema, GrammarStyle};
///
/// struct AnyJson;
///
/// impl GrammarGenerator for AnyJson {
///     fn generate(&self, _: &[FunctionSchema], _: AnswerShape) -> Result<GeneratedGrammar, GrammarError> {
///         Ok(GeneratedGrammar { gbnf: "root ::= \"{}\"".to_owned(), documentation: None })
///     }
///     fn generate_value(&self, _: &serde_json::Value) -> Result<GeneratedGrammar, GrammarError> {
///         Ok(GeneratedGrammar { gbnf: "root ::= \"{}\"".to_owned(), documentation: None })
///     }
/// }
///
/// proxy_core::register_grammar_generator! { name: "any-json", build: || Box::new(AnyJson) }
///
/// let generator = proxy_core::grammar::registered_grammar_generator();
/// let grammar = generator.map(|g| g.generate(&[], GrammarStyle::InnerThoughtsInParams.into()));
/// assert_eq!(grammar.and_then(Result::ok).map(|g| g.gbnf), Some("root ::= \"{}\"".to_owned()));
/// ```
#[macro_export]
macro_rules! register_grammar_generator {
    (name: $name:expr, build: $build:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::grammar::GrammarGeneratorRegistration {
                plugin: ::core::env!("CARGO_PKG_NAME"),
                name: $name,
                build: $build,
            }
        }
    };
}
