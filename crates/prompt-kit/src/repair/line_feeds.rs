//! The reference's `repair_json_string`: line feeds written raw inside string
//! literals become the escape `\n`.
//!
//! The parser already accepts raw line feeds inside strings (Python's `strict=False`),
//! so this only changes the outcome where a backslash stands right before the line
//! feed: `\` + line feed is an invalid escape, while `\` + `\n` is an escaped
//! backslash followed by the letter `n`.

/// Replaces each line feed that the reference's quote tracking puts inside a string
/// with the two characters `\n`. Returns `None` when the text has no line feed (the
/// result would be the text itself).
pub(super) fn escape_line_feeds_in_strings(text: &str) -> Option<String> {
    if !text.contains('\n') {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escape = false;
    for ch in text.chars() {
        if ch == '"' && !escape {
            in_string = !in_string;
        }
        escape = ch == '\\' && !escape;
        if ch == '\n' && in_string {
            out.push_str("\\n");
        } else {
            out.push(ch);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_line_feeds_inside_strings_only() {
        let text = "{\n\"a\": \"one\ntwo\"\n}";
        assert_eq!(
            escape_line_feeds_in_strings(text).as_deref(),
            Some("{\n\"a\": \"one\\ntwo\"\n}")
        );
    }

    #[test]
    fn an_escaped_quote_does_not_end_the_string() {
        let text = "\"say \\\"hi\n\\\" now\"";
        assert_eq!(
            escape_line_feeds_in_strings(text).as_deref(),
            Some("\"say \\\"hi\\n\\\" now\"")
        );
    }

    #[test]
    fn a_backslash_before_a_line_feed_becomes_an_escaped_backslash() {
        let text = "{\"a\": \"x\\\ny\"}";
        let repaired = escape_line_feeds_in_strings(text);
        assert_eq!(repaired.as_deref(), Some("{\"a\": \"x\\\\ny\"}"));
    }

    #[test]
    fn text_without_line_feeds_is_left_alone() {
        assert_eq!(escape_line_feeds_in_strings("{\"a\": 1}"), None);
    }
}
