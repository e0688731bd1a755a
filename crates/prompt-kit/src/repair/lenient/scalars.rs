//! Strings, numbers and bare words as the lenient parser reads them.

use serde_json::{Number, Value};

/// A string literal read by [`read_string`].
pub(super) struct StringLiteral {
    /// The decoded text.
    pub(super) text: String,
    /// Byte position just after the literal (the end of input when it was cut off).
    pub(super) end: usize,
}

/// Reads a string opened by `quote` (`"` or `'`) whose content starts at `start`.
///
/// Leniencies: a string cut off by the end of the text ends there; an unknown escape
/// such as `\_` stands for the character itself; a lone surrogate escape becomes
/// U+FFFD; and a quote that is directly followed (after spaces) by a letter, a digit
/// or `.!?;` is taken as part of the text (`"He said "hi" twice"`), since a closing
/// quote is followed by `,`, `:`, `}`, `]`, a line break or the end.
pub(super) fn read_string(text: &str, start: usize, quote: u8) -> StringLiteral {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut pos = start;
    loop {
        let Some(offset) = bytes[pos..].iter().position(|&b| b == quote || b == b'\\') else {
            out.push_str(&text[pos..]);
            return StringLiteral {
                text: out,
                end: text.len(),
            };
        };
        let special = pos + offset;
        out.push_str(&text[pos..special]);
        if bytes[special] == b'\\' {
            pos = read_escape(text, special + 1, &mut out);
        } else if quote_continues_text(text, special + 1) {
            out.push(char::from(quote));
            pos = special + 1;
        } else {
            return StringLiteral {
                text: out,
                end: special + 1,
            };
        }
    }
}

/// Whether the quote ending just before `after` is text rather than the string's end.
fn quote_continues_text(text: &str, after: usize) -> bool {
    let rest = text[after..].trim_start_matches([' ', '\t']);
    match rest.chars().next() {
        Some(ch) => ch.is_alphanumeric() || matches!(ch, '.' | '!' | '?' | ';'),
        None => false,
    }
}

/// Decodes the escape whose letter is at `pos` into `out`; returns where the text
/// goes on.
fn read_escape(text: &str, pos: usize, out: &mut String) -> usize {
    let Some(letter) = text[pos..].chars().next() else {
        return pos;
    };
    let after = pos + letter.len_utf8();
    let decoded = match letter {
        'b' => '\u{08}',
        'f' => '\u{0c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'u' => return read_unicode_escape(text, after, out),
        other => other,
    };
    out.push(decoded);
    after
}

/// Decodes `\uXXXX` (and a following low surrogate) whose hex digits start at `pos`.
/// Without four hex digits the text `\u` is kept as written.
fn read_unicode_escape(text: &str, pos: usize, out: &mut String) -> usize {
    let Some(unit) = hex4(text, pos) else {
        out.push_str("\\u");
        return pos;
    };
    let after = pos + 4;
    if (0xD800..0xDC00).contains(&unit) {
        if let Some(low) = text[after..]
            .strip_prefix("\\u")
            .and_then(|_| hex4(text, after + 2))
            .filter(|low| (0xDC00..0xE000).contains(low))
        {
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return after + 6;
        }
    }
    out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
    after
}

/// Four hex digits at `pos`, as a number.
fn hex4(text: &str, pos: usize) -> Option<u32> {
    let digits = text.get(pos..pos + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A value written without quotes, read by [`read_bare_value`].
pub(super) struct BareValue {
    /// The value it stands for.
    pub(super) value: Value,
    /// Byte position just after what was read.
    pub(super) end: usize,
}

/// Reads a value written without quotes, starting at the non-blank byte `start`: a
/// JSON or Python literal, a number, or else the words up to the next `,`, `}`, `]`,
/// `"` or line break, as a string.
///
/// A literal or number followed on the same line by something else (`true <|im_end|>`)
/// is read alone, leaving the rest to the parser. A literal or number cut off by the
/// end of the text is completed (`tru` is `true`, `1.` is `1`).
pub(super) fn read_bare_value(text: &str, start: usize) -> Option<BareValue> {
    let rest = &text[start..];
    // The first word alone is looked at first, so that a literal followed by more
    // text costs only its own length (the rest is read once, by the caller).
    let first_length = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']' | '"'))
        .unwrap_or(rest.len());
    let first_at_end = first_length == rest.len();
    if let Some(value) = literal_or_number(&rest[..first_length], first_at_end) {
        return Some(BareValue {
            value,
            end: start + first_length,
        });
    }
    let words_length = rest
        .find([',', '}', ']', '"', '\n', '\r'])
        .unwrap_or(rest.len());
    let words = rest[..words_length].trim_end();
    if words.is_empty() {
        return None;
    }
    Some(BareValue {
        value: Value::String(words.to_owned()),
        end: start + words_length,
    })
}

/// A literal or number; `at_end` allows completing one that the text cut off.
fn literal_or_number(word: &str, at_end: bool) -> Option<Value> {
    if let Some(value) = literal(word) {
        return Some(value);
    }
    if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        if let Some(number) = number(word) {
            return Some(number);
        }
        if at_end {
            if let Some(number) = number(word.trim_end_matches(['.', 'e', 'E', '+', '-'])) {
                return Some(number);
            }
        }
    }
    if at_end && !word.is_empty() {
        const LITERALS: [&str; 6] = ["true", "True", "false", "False", "null", "None"];
        if let Some(full) = LITERALS.iter().find(|full| full.starts_with(word)) {
            return literal(full);
        }
    }
    None
}

/// JSON's and Python's literals; NaN and the infinities, which JSON cannot hold,
/// become `null` (as serializing such a float does).
fn literal(word: &str) -> Option<Value> {
    match word {
        "true" | "True" => Some(Value::Bool(true)),
        "false" | "False" => Some(Value::Bool(false)),
        "null" | "None" | "NaN" | "Infinity" | "-Infinity" => Some(Value::Null),
        _ => None,
    }
}

/// A JSON number.
fn number(word: &str) -> Option<Value> {
    serde_json::from_str::<Number>(word).ok().map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn string(text: &str) -> (String, usize) {
        let quote = text.as_bytes()[0];
        let literal = read_string(text, 1, quote);
        (literal.text, literal.end)
    }

    #[test]
    fn reads_a_plain_string_and_stops_after_its_quote() {
        assert_eq!(string("\"abc\", 1"), ("abc".to_owned(), 5));
    }

    #[test]
    fn decodes_escapes_and_keeps_unknown_ones_as_the_character() {
        assert_eq!(
            string(r#""a\"b\\c\/d\n\t\u00e9\ud83c\udf1e\_e\q""#).0,
            "a\"b\\c/d\n\té\u{1f31e}_eq"
        );
    }

    #[test]
    fn a_lone_surrogate_or_bad_unicode_escape_does_not_fail() {
        assert_eq!(string(r#""\ud800x""#).0, "\u{fffd}x");
        assert_eq!(string(r#""\uzz""#).0, "\\uzz");
        assert_eq!(string(r#""\u12"#).0, "\\u12");
    }

    #[test]
    fn a_cut_off_string_ends_at_the_end_of_the_text() {
        assert_eq!(string("\"abc"), ("abc".to_owned(), 4));
        assert_eq!(string("\"abc\\"), ("abc".to_owned(), 5));
    }

    #[test]
    fn single_quoted_strings_and_apostrophes() {
        assert_eq!(string("'it's fine', 1").0, "it's fine");
        assert_eq!(string("'say \"hi\"'").0, "say \"hi\"");
    }

    #[test]
    fn an_inner_quote_followed_by_words_is_text() {
        assert_eq!(
            string("\"He said \"hi\" twice.\"}").0,
            "He said \"hi\" twice."
        );
        assert_eq!(string("\"x\"<|im_end|>").0, "x");
    }

    fn bare(text: &str) -> Option<(Value, usize)> {
        read_bare_value(text, 0).map(|bare| (bare.value, bare.end))
    }

    #[test]
    fn bare_words_become_literals_numbers_or_strings() {
        assert_eq!(bare("True}"), Some((json!(true), 4)));
        assert_eq!(bare("None ,"), Some((json!(null), 4)));
        assert_eq!(bare("NaN"), Some((json!(null), 3)));
        assert_eq!(bare("-12.5e3,"), Some((json!(-12500.0), 7)));
        assert_eq!(bare("send_message, x"), Some((json!("send_message"), 12)));
        assert_eq!(bare("12:30 pm }"), Some((json!("12:30 pm"), 9)));
        assert_eq!(bare("hello world\n"), Some((json!("hello world"), 11)));
    }

    #[test]
    fn a_literal_followed_by_other_text_is_read_alone() {
        assert_eq!(bare("true <|im_end|>"), Some((json!(true), 4)));
        assert_eq!(bare("12 \"b\": 2"), Some((json!(12), 2)));
    }

    #[test]
    fn cut_off_literals_and_numbers_are_completed_at_the_end() {
        assert_eq!(bare("tru"), Some((json!(true), 3)));
        assert_eq!(bare("Fa"), Some((json!(false), 2)));
        assert_eq!(bare("12."), Some((json!(12), 3)));
        assert_eq!(bare("1e-"), Some((json!(1), 3)));
        assert_eq!(bare("tru}"), Some((json!("tru"), 3)));
    }

    #[test]
    fn nothing_before_structure_is_no_value() {
        assert_eq!(bare(",x"), None);
    }
}
