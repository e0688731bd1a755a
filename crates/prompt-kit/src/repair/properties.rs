//! Properties over arbitrary input: repair never panics, leaves valid JSON as it is,
//! and finishes on large inputs.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::repair_json;

/// JSON values with numbers that survive a text round trip exactly.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000, 0u32..12).prop_map(|(mantissa, shift)| Value::from(
            f64::from(mantissa) / f64::from(1u32 << shift)
        )),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Text built from the characters the strategies react to.
pub(crate) fn json_like_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        "'",
        ":",
        ",",
        "\\",
        "\\_",
        "\\u",
        "\\ud83c",
        "\n",
        " ",
        "\"message\":",
        "\"function\":",
        "\"send_message\"",
        "\"inner_thoughts\":",
        "True",
        "None",
        "tru",
        "-",
        "1.",
        "e",
        "```",
        "```json\n",
        "<|im_end|>",
        "é",
        "🌞",
        "\u{1c}",
        "\u{0c}",
        "a",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn arbitrary_text_repairs_to_a_stable_value_or_says_why(text in any::<String>()) {
        // No panic, and: what it recovers is a fixed point (valid JSON of the recovered
        // value repairs to the same value); what it cannot recover it explains.
        match repair_json(&text) {
            Ok(value) => {
                let again = serde_json::to_string(&value).unwrap_or_default();
                prop_assert_eq!(repair_json(&again), Ok(value));
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn json_like_text_never_panics(text in json_like_text()) {
        if let Err(error) = repair_json(&text) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn valid_json_repairs_to_itself(value in json_value()) {
        let compact = serde_json::to_string(&value).unwrap_or_default();
        prop_assert_eq!(repair_json(&compact), Ok(value.clone()));
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        prop_assert_eq!(repair_json(&pretty), Ok(value));
    }

    #[test]
    fn cut_off_json_never_panics(value in json_value(), cut in any::<prop::sample::Index>()) {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        let boundaries: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
        let end = if boundaries.is_empty() { 0 } else { boundaries[cut.index(boundaries.len())] };
        if let Err(error) = repair_json(&text[..end]) {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}

/// About a megabyte of `piece` repeated.
fn megabyte_of(piece: &str) -> String {
    piece.repeat((1 << 20) / piece.len())
}

#[test]
fn a_megabyte_of_unclosed_nesting_returns() {
    assert!(repair_json(&megabyte_of("{\"a\": [")).is_err());
    assert!(repair_json(&megabyte_of("{")).is_err());
}

#[test]
fn a_megabyte_of_unterminated_string_returns() {
    let text = format!("{{\"message\": \"{}", megabyte_of("word \\\" "));
    let value = repair_json(&text);
    assert!(matches!(&value, Ok(Value::Object(members)) if members.contains_key("message")));
}

#[test]
fn a_megabyte_of_structure_characters_returns() {
    let pieces = [
        "}",
        "\"",
        "\"message\": ",
        "[1, ",
        "\\_",
        "\"function\": \"send_message\" ",
        "{\"a\": 1 'x': 1 'x': ",
        "[1 ",
        "\"a\"   ",
    ];
    for piece in pieces {
        let text = megabyte_of(piece);
        let outcome = repair_json(&text);
        assert!(outcome.is_ok() || outcome.is_err(), "{piece:?}");
    }
}
