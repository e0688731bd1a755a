//! The reference's `extract_first_json`: the first brace-balanced `{…}` in the text,
//! for a prefix before the JSON, trailing text after it, or several objects back to
//! back.
//!
//! Like the reference, the braces are counted without regard to strings, and only
//! the first balanced span is tried: if it does not parse, the strategy fails rather
//! than looking further (which keeps it one pass).

use serde_json::Value;

use crate::python_json;

/// Parses the first brace-balanced span of `text` followed by `suffix` (the
/// reference appends `"}}"` before scanning, so that a text missing its last braces
/// still closes). `None` when no span closes or the span is not valid JSON.
pub(super) fn first_balanced_object(text: &str, suffix: &str) -> Option<Value> {
    let mut depth: isize = 0;
    let mut start = None;
    let bytes = text.bytes().chain(suffix.bytes());
    for (index, byte) in bytes.enumerate() {
        match byte {
            b'{' => {
                if depth == 0 {
                    start = Some(index);
                }
                depth += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    if let Some(start) = start {
                        return parse_span(text, suffix, start, index + 1);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses bytes `start..end` of `text + suffix`.
fn parse_span(text: &str, suffix: &str, start: usize, end: usize) -> Option<Value> {
    if end <= text.len() {
        return python_json::loads_ok(text.get(start..end)?);
    }
    let mut span = String::with_capacity(end - start);
    span.push_str(text.get(start..)?);
    span.push_str(suffix.get(..end - text.len())?);
    python_json::loads_ok(&span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn takes_the_first_of_two_objects() {
        let text = "{\"a\": 1}\n{\"b\": 2}";
        assert_eq!(first_balanced_object(text, "}}"), Some(json!({"a": 1})));
    }

    #[test]
    fn skips_a_prefix_and_trailing_text() {
        let text = "Sure! {\"a\": {\"b\": [1]}} <|im_end|> }} {{";
        assert_eq!(
            first_balanced_object(text, "}}"),
            Some(json!({"a": {"b": [1]}}))
        );
    }

    #[test]
    fn the_suffix_closes_missing_braces() {
        let text = "{\"a\": {\"b\": 2";
        assert_eq!(
            first_balanced_object(text, "}}"),
            Some(json!({"a": {"b": 2}}))
        );
    }

    #[test]
    fn braces_inside_strings_count_as_the_reference_counts_them() {
        // The `}` inside the string closes the span early, so the strategy fails.
        assert_eq!(first_balanced_object("{\"a\": \"}\"}", ""), None);
    }

    #[test]
    fn a_first_span_that_does_not_parse_fails_without_looking_further() {
        assert_eq!(first_balanced_object("{oops} {\"a\": 1}", ""), None);
    }

    #[test]
    fn a_stray_closing_brace_first_unbalances_the_count() {
        // depth goes to -1, so `{"a": 1}` only returns it to 0 and nothing closes.
        assert_eq!(first_balanced_object("} {\"a\": 1}", ""), None);
    }

    #[test]
    fn no_brace_is_no_object() {
        assert_eq!(first_balanced_object("plain text", "}}"), None);
    }
}
