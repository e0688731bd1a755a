//! One test per case the chain recovers: each reference strategy (checked against
//! what the reference's `clean_json` returns for the same text), each extension,
//! and the order between them.

use serde_json::{json, Value};

use super::*;

fn repaired(text: &str) -> Option<Value> {
    repair_json(text).ok()
}

// The reference chain, strategy by strategy.

#[test]
fn plain_json_is_parsed_as_is() {
    assert_eq!(
        repaired("{\"a\": [1, 2.5, \"x\"]}"),
        Some(json!({"a": [1, 2.5, "x"]}))
    );
    assert_eq!(repaired(" [true, null] "), Some(json!([true, null])));
    assert_eq!(repaired("\"text\""), Some(json!("text")));
}

#[test]
fn raw_line_feeds_inside_strings_are_accepted() {
    assert_eq!(repaired("{\"a\": \"x\ny\"}"), Some(json!({"a": "x\ny"})));
}

#[test]
fn a_missing_closing_brace_is_added() {
    assert_eq!(repaired("{\"a\": {\"b\": 1}"), Some(json!({"a": {"b": 1}})));
}

#[test]
fn two_missing_closing_braces_are_added() {
    assert_eq!(repaired("{\"a\": {\"b\": 1"), Some(json!({"a": {"b": 1}})));
}

#[test]
fn a_missing_quote_and_two_braces_are_added() {
    assert_eq!(
        repaired("{\"a\": {\"b\": \"x"),
        Some(json!({"a": {"b": "x"}}))
    );
}

#[test]
fn trailing_whitespace_and_commas_are_stripped_before_closing() {
    assert_eq!(repaired("{\"a\": 1,\n"), Some(json!({"a": 1})));
    assert_eq!(
        repaired("{\"a\": {\"b\": 1,\n  "),
        Some(json!({"a": {"b": 1}}))
    );
}

#[test]
fn leading_python_whitespace_is_stripped_before_closing() {
    // A form feed is not JSON whitespace, so only the stripped variants parse.
    assert_eq!(
        repaired("\u{0c}{\"a\": {\"b\": \"x"),
        Some(json!({"a": {"b": "x"}}))
    );
}

#[test]
fn a_backslash_before_a_raw_line_feed_is_escaped() {
    assert_eq!(repaired("{\"a\": \"x\\\ny\"}"), Some(json!({"a": "x\\ny"})));
}

#[test]
fn a_broken_up_message_string_is_gathered() {
    let text =
        "{\"function\": \"send_message\", \"params\": {\"message\": \"Hi\" there \"friend\"}}";
    assert_eq!(
        repaired(text),
        Some(json!({"function": "send_message", "params": {"message": " Hi there friend"}}))
    );
}

#[test]
fn the_first_of_several_objects_is_taken() {
    assert_eq!(repaired("{\"a\": 1}\n{\"b\": 2}"), Some(json!({"a": 1})));
}

#[test]
fn trailing_garbage_and_end_of_turn_tokens_are_dropped() {
    assert_eq!(repaired("{\"a\": 1} <|im_end|>"), Some(json!({"a": 1})));
    assert_eq!(repaired("{\"a\": 1}\nGARBAGE }} {{"), Some(json!({"a": 1})));
    assert_eq!(repaired("{\"a\": 1}}"), Some(json!({"a": 1})));
}

#[test]
fn a_prefix_before_the_object_is_skipped() {
    assert_eq!(repaired("Sure: {\"a\": 1} ok"), Some(json!({"a": 1})));
}

#[test]
fn the_send_message_pattern_is_the_last_resort_before_underscores() {
    let text = "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"x\", \"message\": \"y\" z}";
    assert_eq!(
        repaired(text),
        Some(
            json!({"function": "send_message", "params": {"inner_thoughts": "x", "message": "y"}})
        )
    );
}

#[test]
fn escaped_underscores_are_unescaped() {
    assert_eq!(
        repaired("{\"function\": \"send\\_message\"}"),
        Some(json!({"function": "send_message"}))
    );
}

#[test]
fn escaped_underscores_with_trailing_text_are_unescaped() {
    assert_eq!(
        repaired("{\"function\": \"send\\_message\"} trailing"),
        Some(json!({"function": "send_message"}))
    );
}

// The order: when several strategies would work, the earliest wins, as in the
// reference.

#[test]
fn the_send_message_pattern_wins_over_unescaping_underscores() {
    // The pattern keeps the message's text as written, backslash included.
    let text = "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"x\", \"message\": \"y\\_z\"}}";
    assert_eq!(
        repaired(text),
        Some(
            json!({"function": "send_message", "params": {"inner_thoughts": "x", "message": "y\\_z"}})
        )
    );
}

#[test]
fn the_reference_chain_wins_over_the_extensions() {
    // Gathering the message drops the inner quotes, where the lenient parser would
    // keep them.
    assert_eq!(
        repaired("{\"message\": \"He said \"hi\" there\"}"),
        Some(json!({"message": " He said hi there"}))
    );
}

// The extensions, tried after the whole reference chain failed.

#[test]
fn a_code_fence_around_cut_off_json_is_removed() {
    let text = "```json\n{\"function\": \"send_message\", \"params\": {\"message\": \"hi\"\n```";
    assert_eq!(
        repaired(text),
        Some(json!({"function": "send_message", "params": {"message": "hi"}}))
    );
}

#[test]
fn python_literals_are_read() {
    assert_eq!(
        repaired("{\"a\": True, \"b\": False, \"c\": None}"),
        Some(json!({"a": true, "b": false, "c": null}))
    );
}

#[test]
fn trailing_commas_inside_are_dropped() {
    assert_eq!(repaired("{\"a\": [1, 2,],}"), Some(json!({"a": [1, 2]})));
}

#[test]
fn text_cut_off_inside_a_string_is_closed() {
    let text = "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"ok\", \"list\": [\"Hello wor";
    assert_eq!(
        repaired(text),
        Some(
            json!({"function": "send_message", "params": {"inner_thoughts": "ok", "list": ["Hello wor"]}})
        )
    );
}

#[test]
fn single_quoted_strings_are_read() {
    assert_eq!(
        repaired("{'a': 'b', 'c': ['d']}"),
        Some(json!({"a": "b", "c": ["d"]}))
    );
}

// Failures.

#[test]
fn empty_text_is_its_own_error() {
    assert_eq!(repair_json(""), Err(RepairError::Empty));
    assert_eq!(repair_json(" \n\t"), Err(RepairError::Empty));
}

#[test]
fn text_without_json_says_why_and_what_to_do() {
    let error = repair_json("I cannot help with that.");
    assert!(
        matches!(&error, Err(RepairError::NoJson { reason }) if reason.contains("line 1 column 1")),
        "{error:?}"
    );
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("-grammar"), "{message}");
}

#[test]
fn count_repairs_counts_only_repaired_values() {
    let (value, repairs) = count_repairs(|| repaired("{\"a\": 1}"));
    assert_eq!((value, repairs), (Some(json!({"a": 1})), 0));
    let (value, repairs) = count_repairs(|| repaired("{\"a\": 1"));
    assert_eq!((value, repairs), (Some(json!({"a": 1})), 1));
    let (value, repairs) = count_repairs(|| repaired("no json here"));
    assert_eq!((value, repairs), (None, 0));
    let (_, outer) = count_repairs(|| {
        let (_, inner) = count_repairs(|| repaired("[1, 2,"));
        assert_eq!(inner, 1);
        repaired("{\"b\": true")
    });
    assert_eq!(outer, 2, "an outer observer sees the nested repairs too");
}
