//! chat-completion-proxy grammar generator plugin: GBNF, the grammar format of
//! llama.cpp (and of koboldcpp and text-generation-webui, which accept the same text).
//!
//! [`GbnfGenerator`] turns a request's function JSON schemas into a grammar whose every
//! sentence is exactly one answer in the wrapper's shape
//! ([`GrammarStyle`](proxy_core::GrammarStyle); `inner_thoughts` at most
//! [`AnswerShape::max_thought_chars`](proxy_core::grammar::AnswerShape) characters):
//!
//! - `InnerThoughtsInParams`:
//!   `{"function": "<name>", "params": {"inner_thoughts": "…", …its params…}}`;
//! - `InnerThoughtsTopLevel` (`noforce`): `{"inner_thoughts": "…"}`, optionally followed
//!   by `"function": null` or by `"function": "<name>", "params": {…}`.
//!
//! Each function's name selects its own params rule, and the params follow its schema
//! (see the `schema` module for what is enforced). What a schema cannot say in GBNF
//! (`$ref`, `not`, `patternProperties`, …) becomes a generic JSON value for that field,
//! with a `tracing` warning: the grammar is always valid.
//!
//! Choices that matter to a real server:
//! - whitespace is bounded to 20 characters wherever it may appear (and at the start,
//!   where models usually emit a newline after the assistant header): unbounded
//!   whitespace lets small models loop until the token limit; digits are bounded too;
//! - only syntax every llama.cpp grammar parser accepts: literals with `\\`, `\"`,
//!   `\n`, `\r`, `\t`, `\xHH` escapes, character classes, `( )`, `|`, `*`, `?`; bounded
//!   repetition is written as nested optional groups rather than `{m,n}`, which
//!   llama.cpp only parses since 2024 (copies of older parsers live on in other servers);
//! - one rule a line, rule names made of lowercase letters, digits and `-` (derived
//!   from the function and parameter names, de-duplicated);
//! - no needless ambiguity (whitespace never twice in a row, repeated alternatives
//!   dropped), so the sampler tracks few parses;
//! - properties in the schema's order (the order the prompt lists them in), optional
//!   ones skippable, one comma between two present members.
//!
//! [`GbnfGenerator::value_gbnf`] builds the grammar of one JSON value of a schema, for
//! `response_format` answers (`json_object`, `json_schema`).
//!
//! The generator returns no function documentation: the wrapper's own function listing
//! stays in the prompt.
//!
//! Registered as `"gbnf"` with
//! [`register_grammar_generator!`](proxy_core::register_grammar_generator).

mod answer;
mod answer_schema;
mod names;
mod primitives;
mod schema;
mod syntax;
mod value;

#[cfg(test)]
mod gbnf_check;
#[cfg(test)]
mod tests;

use proxy_core::grammar::{AnswerShape, GeneratedGrammar, GrammarError, GrammarGenerator};
use proxy_core::FunctionSchema;

/// The GBNF grammar generator (registered as `"gbnf"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GbnfGenerator;

impl GbnfGenerator {
    /// The grammar text for `functions` in the answer shape `shape` (a
    /// [`GrammarStyle`](proxy_core::GrammarStyle) alone: thoughts of any length).
    ///
    /// Fails when `functions` is empty or a function's name is empty.
    pub fn gbnf(
        &self,
        functions: &[FunctionSchema],
        shape: impl Into<AnswerShape>,
    ) -> Result<String, GrammarError> {
        answer::grammar(functions, shape.into())
    }

    /// The JSON Schema whose instances are the answers of [`gbnf`](Self::gbnf)'s
    /// grammar for the same `functions` and `shape` (see the `answer_schema` module
    /// for the two differences: member order, and the keywords only a schema can
    /// enforce), for servers that constrain with a JSON Schema instead of a grammar.
    ///
    /// Fails when `functions` is empty or a function's name is empty.
    pub fn answer_schema(
        &self,
        functions: &[FunctionSchema],
        shape: impl Into<AnswerShape>,
    ) -> Result<serde_json::Value, GrammarError> {
        answer_schema::schema(functions, shape.into())
    }

    /// The grammar text whose sentences are the JSON values `schema` allows (a
    /// `response_format` answer; `{"type": "object"}` for JSON mode). Local `$ref`s
    /// are inlined.
    pub fn value_gbnf(&self, schema: &serde_json::Value) -> String {
        value::grammar(schema)
    }
}

impl GrammarGenerator for GbnfGenerator {
    fn generate(
        &self,
        functions: &[FunctionSchema],
        shape: AnswerShape,
    ) -> Result<GeneratedGrammar, GrammarError> {
        Ok(GeneratedGrammar {
            gbnf: self.gbnf(functions, shape)?,
            documentation: None,
        })
    }

    fn generate_schema(
        &self,
        functions: &[FunctionSchema],
        shape: AnswerShape,
    ) -> Result<Option<serde_json::Value>, GrammarError> {
        // A call wrapped in tags (Hermes' `<tool_call>`) is no JSON value.
        if let proxy_core::GrammarStyle::NativeCall(syntax) = shape.style {
            if !syntax.is_plain_json() {
                return Ok(None);
            }
        }
        self.answer_schema(functions, shape).map(Some)
    }

    fn generate_value(&self, schema: &serde_json::Value) -> Result<GeneratedGrammar, GrammarError> {
        Ok(GeneratedGrammar {
            gbnf: self.value_gbnf(schema),
            documentation: None,
        })
    }
}

proxy_core::register_grammar_generator! { name: "gbnf", build: || Box::new(GbnfGenerator) }
