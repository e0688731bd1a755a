//! Recovery beyond the reference chain, tried only after every reference strategy
//! failed: a forgiving parser for the JSON-like text models write.
//!
//! It handles, in one pass each:
//! - a markdown code fence around the JSON (its body is read first),
//! - any text before the first `{` (or, without one, the first `[`) and after the
//!   value that opens there,
//! - Python literals `True`, `False`, `None` (and `NaN`/`Infinity`, read as `null`),
//! - trailing or doubled commas, a missing comma before a quoted key,
//! - single-quoted strings, unquoted keys and unquoted words,
//! - unknown escapes such as `\_`, raw control characters, quotes inside a string
//!   that are followed by more words,
//! - text cut off anywhere: the open string, objects and arrays are closed, and a
//!   key left without a value is dropped.

mod parser;
mod scalars;

use serde_json::Value;

use parser::parse_from;

/// The markdown fence that models put around code.
const FENCE: &str = "```";

/// Recovers the first object (else array) in `text`, reading a fenced block's body
/// first when there is one. `None` when nothing was recovered.
pub(super) fn parse_leniently(text: &str) -> Option<Value> {
    fenced_body(text)
        .and_then(parse_first_container)
        .or_else(|| parse_first_container(text))
}

/// The body of the first fenced block: from the line after the opening fence (which
/// may name a language) to the closing fence, or to the end when it is missing.
fn fenced_body(text: &str) -> Option<&str> {
    let after_fence = &text[text.find(FENCE)? + FENCE.len()..];
    let body = &after_fence[after_fence.find('\n')? + 1..];
    Some(body.find(FENCE).map_or(body, |end| &body[..end]))
}

/// The value starting at the first `{`, or else at the first `[`.
fn parse_first_container(text: &str) -> Option<Value> {
    text.find('{')
        .and_then(|start| parse_from(text, start))
        .or_else(|| parse_from(text, text.find('[')?))
}

#[cfg(test)]
mod tests;
