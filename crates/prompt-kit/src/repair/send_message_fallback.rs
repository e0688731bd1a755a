//! The reference's `clean_and_interpret_send_message_json`: when nothing parses,
//! pick the pieces of a `send_message` call out of the text by pattern.
//!
//! After dropping every non-ASCII character, the reference looks for
//! `"function":\s*"send_message"`, `"inner_thoughts":\s*"([^"]+)"` and
//! `"message":\s*"([^"]+)"` (first match of each) and, when all three are there,
//! builds the call from the captured texts as they stand (escapes are not decoded).
//! The searches here are the same patterns written as plain scans, each one pass.

use serde_json::{json, Value};

use super::python_text::is_python_space;

/// Builds `{"function": "send_message", "params": {"inner_thoughts", "message"}}`
/// from the patterns, or `None` when one of them is missing.
pub(super) fn extract_send_message_call(text: &str) -> Option<Value> {
    let ascii: String = text.chars().filter(char::is_ascii).collect();
    if !has_send_message_function(&ascii) {
        return None;
    }
    let inner_thoughts = first_string_after(&ascii, "\"inner_thoughts\":")?;
    let message = first_string_after(&ascii, "\"message\":")?;
    Some(json!({
        "function": "send_message",
        "params": {
            "inner_thoughts": inner_thoughts,
            "message": message,
        },
    }))
}

/// `\s*` in the reference's patterns (the text is ASCII by then).
fn skip_spaces(text: &str) -> &str {
    text.trim_start_matches(is_python_space)
}

/// `re.search(r'"function":\s*"send_message"', text)`.
fn has_send_message_function(text: &str) -> bool {
    const KEY: &str = "\"function\":";
    text.match_indices(KEY)
        .any(|(at, _)| skip_spaces(&text[at + KEY.len()..]).starts_with("\"send_message\""))
}

/// `re.search(KEY + r'\s*"([^"]+)"', text).group(1)`: the first place where `key`
/// is followed by optional whitespace and a non-empty, closed string.
fn first_string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.match_indices(key).find_map(|(at, _)| {
        let rest = skip_spaces(&text[at + key.len()..]).strip_prefix('"')?;
        let end = rest.find('"')?;
        (end > 0).then(|| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_call_out_of_broken_json() {
        let text = "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"Greet.\", \
                    \"message\": \"Hi there\" oops \"more\" ]";
        assert_eq!(
            extract_send_message_call(text),
            Some(json!({
                "function": "send_message",
                "params": {"inner_thoughts": "Greet.", "message": "Hi there"},
            }))
        );
    }

    #[test]
    fn non_ascii_is_dropped_and_escapes_stay_as_written() {
        let text = "\"function\":\n\"send_message\" \"inner_thoughts\": \"caf\u{e9} \\n ok\" \
                    \"message\":\"\u{1f31e}sun\"";
        assert_eq!(
            extract_send_message_call(text),
            Some(json!({
                "function": "send_message",
                "params": {"inner_thoughts": "caf \\n ok", "message": "sun"},
            }))
        );
    }

    #[test]
    fn an_empty_string_is_skipped_for_a_later_match() {
        let text = "\"function\": \"send_message\" \"inner_thoughts\": \"\" \
                    \"inner_thoughts\": \"second\" \"message\": \"m\"";
        let call = extract_send_message_call(text);
        assert_eq!(
            call.as_ref().map(|c| &c["params"]["inner_thoughts"]),
            Some(&json!("second"))
        );
    }

    #[test]
    fn another_function_or_a_missing_piece_is_no_match() {
        let other =
            "\"function\": \"archival_memory_search\" \"inner_thoughts\": \"a\" \"message\": \"b\"";
        assert_eq!(extract_send_message_call(other), None);
        let unclosed = "\"function\": \"send_message\" \"inner_thoughts\": \"a\" \"message\": \"b";
        assert_eq!(extract_send_message_call(unclosed), None);
    }
}
