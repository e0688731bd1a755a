//! Pieces of GBNF text: quoted literals and bounded repetition, written in the subset
//! of the syntax that every llama.cpp grammar parser since the first one accepts
//! (also llama-cpp-python's and koboldcpp's copies): no `{m,n}`, and only the escapes
//! `\\`, `\"`, `\n`, `\r`, `\t` and `\xHH`.

use std::fmt::Write as _;

use serde_json::Value;

/// `text` as a GBNF string literal that matches exactly `text`.
pub(crate) fn literal(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len().saturating_add(2));
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(quoted, "\\x{:02X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A literal matching `value`'s compact JSON text (`"a"`, `1`, `true`, `[1,2]`, …).
pub(crate) fn json_literal(value: &Value) -> String {
    literal(&value.to_string())
}

/// A literal matching an object key and its colon: `"\"key\":"`.
pub(crate) fn key_literal(key: &str) -> String {
    literal(&format!("{}:", Value::String(key.to_owned())))
}

/// The alternation of `alternatives`, each once (a repeated alternative would make the
/// grammar ambiguous: the sampler would track both).
pub(crate) fn alternation(alternatives: Vec<String>) -> String {
    let mut distinct: Vec<String> = Vec::with_capacity(alternatives.len());
    for alternative in alternatives {
        if !distinct.contains(&alternative) {
            distinct.push(alternative);
        }
    }
    distinct.join(" | ")
}

/// `item` zero to `max` times, as nested optional groups `(item (item …)?)?`: the
/// same rules llama.cpp itself generates for `item{0,max}`, but readable by parsers
/// that predate `{m,n}`, and unambiguous (unlike `item? item? …`, which makes the
/// sampler track every way of skipping).
pub(crate) fn up_to(item: &str, max: usize) -> String {
    let mut text = String::new();
    for _ in 0..max {
        text.push_str("( ");
        text.push_str(item);
        text.push(' ');
    }
    for _ in 0..max {
        text.push_str(")? ");
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(literal("abc"), r#""abc""#);
        assert_eq!(literal(r#"say "hi"\"#), r#""say \"hi\"\\""#);
        assert_eq!(
            literal("a\nb\tc\rd\u{1}e\u{7f}"),
            r#""a\nb\tc\rd\x01e\x7F""#
        );
        assert_eq!(literal("é[]-"), "\"é[]-\"");
    }

    #[test]
    fn json_literals_quote_the_compact_json_text() {
        assert_eq!(
            json_literal(&json!("send_message")),
            r#""\"send_message\"""#
        );
        assert_eq!(json_literal(&json!("a\"b")), r#""\"a\\\"b\"""#);
        assert_eq!(json_literal(&json!(1.5)), r#""1.5""#);
        assert_eq!(json_literal(&json!(null)), r#""null""#);
        assert_eq!(key_literal("message"), r#""\"message\":""#);
    }

    #[test]
    fn alternations_drop_repeats() {
        let alternatives = ["string", "\"null\"", "string"].map(str::to_owned).to_vec();
        assert_eq!(alternation(alternatives), "string | \"null\"");
    }

    #[test]
    fn up_to_nests_optional_groups() {
        assert_eq!(up_to("x", 0), "");
        assert_eq!(up_to("x", 1), "( x )?");
        assert_eq!(up_to("[0-9]", 3), "( [0-9] ( [0-9] ( [0-9] )? )? )?");
    }
}
