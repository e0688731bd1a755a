//! The fixed rules every grammar draws on: whitespace, JSON strings and numbers, and a
//! generic JSON value for what a schema cannot express.

use std::collections::BTreeSet;

use crate::syntax::up_to;

/// The most whitespace characters allowed between two tokens (and before the answer).
///
/// Unbounded whitespace (`ws ::= [ \t\n]*`) lets small models emit newlines until the
/// token limit; 20 covers a newline plus the indentation of an answer nested several
/// levels deep in the prompt's two-space style. llama.cpp's own `json.gbnf` bounds it
/// the same way.
pub(crate) const MAX_WHITESPACE: usize = 20;

/// The most digits in an integer part or a fraction (JSON numbers beyond that lose
/// precision anyway), bounded for the same reason as whitespace.
const MAX_DIGITS: usize = 16;

/// The most digits in an exponent.
const MAX_EXPONENT_DIGITS: usize = 3;

/// A fixed rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Primitive {
    /// Any JSON value.
    Value,
    /// Any JSON object.
    Object,
    /// Any JSON array.
    Array,
    /// A JSON string with its escapes.
    String,
    /// One character of a JSON string (an escape counts as one).
    Char,
    /// A JSON number.
    Number,
    /// A JSON number without fraction or exponent.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Bounded optional whitespace.
    Ws,
}

impl Primitive {
    /// Every fixed rule, in the order they are written out.
    const ALL: [Primitive; 9] = [
        Primitive::Value,
        Primitive::Object,
        Primitive::Array,
        Primitive::String,
        Primitive::Char,
        Primitive::Number,
        Primitive::Integer,
        Primitive::Boolean,
        Primitive::Ws,
    ];

    /// The rule's name in the grammar.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Primitive::Value => "value",
            Primitive::Object => "object",
            Primitive::Array => "array",
            Primitive::String => "string",
            Primitive::Char => "char",
            Primitive::Number => "number",
            Primitive::Integer => "integer",
            Primitive::Boolean => "boolean",
            Primitive::Ws => "ws",
        }
    }

    /// Every fixed rule's name (reserved: no derived rule may take one).
    pub(crate) fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|primitive| primitive.name()).collect()
    }

    /// The rules this one refers to.
    fn needs(self) -> &'static [Primitive] {
        match self {
            Primitive::Value => &[
                Primitive::Object,
                Primitive::Array,
                Primitive::String,
                Primitive::Number,
                Primitive::Boolean,
            ],
            Primitive::Object => &[Primitive::Ws, Primitive::String, Primitive::Value],
            Primitive::Array => &[Primitive::Ws, Primitive::Value],
            Primitive::Number => &[Primitive::Integer],
            Primitive::String
            | Primitive::Char
            | Primitive::Integer
            | Primitive::Boolean
            | Primitive::Ws => &[],
        }
    }

    /// The rule's body.
    fn body(self) -> String {
        match self {
            Primitive::Value => r#"object | array | string | number | boolean | "null""#.to_owned(),
            Primitive::Object => {
                r#""{" ws ( string ":" ws value ( "," ws string ":" ws value )* ws )? "}""#
                    .to_owned()
            }
            Primitive::Array => r#""[" ws ( value ( "," ws value )* ws )? "]""#.to_owned(),
            Primitive::String => concat!(
                r#""\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" "#,
                r#"[0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] ) )* "\"""#
            )
            .to_owned(),
            Primitive::Char => concat!(
                r#"[^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" "#,
                r#"[0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] )"#
            )
            .to_owned(),
            Primitive::Number => format!(
                r#"integer ( "." [0-9] {} )? ( [eE] [-+]? [0-9] {} )?"#,
                up_to("[0-9]", MAX_DIGITS.saturating_sub(1)),
                up_to("[0-9]", MAX_EXPONENT_DIGITS.saturating_sub(1)),
            ),
            Primitive::Integer => format!(
                r#""-"? ( "0" | [1-9] {} )"#,
                up_to("[0-9]", MAX_DIGITS.saturating_sub(1))
            ),
            Primitive::Boolean => r#""true" | "false""#.to_owned(),
            Primitive::Ws => up_to(r"[ \t\n]", MAX_WHITESPACE),
        }
    }
}

/// The definitions of the `used` fixed rules and of every rule they refer to, as
/// `(name, body)` pairs in a stable order.
pub(crate) fn definitions(used: &BTreeSet<Primitive>) -> Vec<(&'static str, String)> {
    let mut needed = used.clone();
    let mut todo: Vec<Primitive> = used.iter().copied().collect();
    while let Some(primitive) = todo.pop() {
        for &dependency in primitive.needs() {
            if needed.insert(dependency) {
                todo.push(dependency);
            }
        }
    }
    Primitive::ALL
        .iter()
        .filter(|primitive| needed.contains(primitive))
        .map(|primitive| (primitive.name(), primitive.body()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_pull_in_what_a_rule_refers_to() {
        let used = BTreeSet::from([Primitive::Number]);
        let names: Vec<_> = definitions(&used)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["number", "integer"]);
        let used = BTreeSet::from([Primitive::Value]);
        let names: Vec<_> = definitions(&used)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            names,
            ["value", "object", "array", "string", "number", "integer", "boolean", "ws"]
        );
    }

    #[test]
    fn whitespace_is_bounded_and_nested() {
        let ws = Primitive::Ws.body();
        assert_eq!(ws.matches("[ \\t\\n]").count(), MAX_WHITESPACE);
        assert!(ws.starts_with("( [ \\t\\n] ( [ \\t\\n]"));
        assert!(ws.ends_with(")?"));
    }
}
