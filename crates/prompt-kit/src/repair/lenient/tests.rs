use serde_json::json;

use super::parser::MAX_DEPTH;
use super::*;

#[test]
fn reads_the_body_of_a_code_fence_even_when_cut_off() {
    let text = "Here it is:\n```json\n{\"function\": \"send_message\", \"params\": {\"message\": \"hi\"\n```\nDone.";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"function": "send_message", "params": {"message": "hi"}}))
    );
}

#[test]
fn a_fence_without_json_falls_back_to_the_whole_text() {
    let text = "```\nnothing here\n``` then {\"a\": 1,}";
    assert_eq!(parse_leniently(text), Some(json!({"a": 1})));
}

#[test]
fn python_literals_become_json_literals() {
    let text = "{\"a\": True, \"b\": False, \"c\": None, \"d\": [NaN, true]}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"a": true, "b": false, "c": null, "d": [null, true]}))
    );
}

#[test]
fn trailing_and_doubled_commas_are_ignored() {
    let text = "{\"a\": [1, 2,], , \"b\": {\"c\": 3,},}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"a": [1, 2], "b": {"c": 3}}))
    );
}

#[test]
fn text_cut_inside_a_string_closes_the_string_and_every_open_value() {
    let text = "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"ok\", \"list\": [{\"message\": \"Hello wor";
    assert_eq!(
        parse_leniently(text),
        Some(json!({
            "function": "send_message",
            "params": {"inner_thoughts": "ok", "list": [{"message": "Hello wor"}]}
        }))
    );
}

#[test]
fn a_key_cut_off_before_its_value_is_dropped() {
    for text in [
        "{\"a\": 1, \"b",
        "{\"a\": 1, \"b\"",
        "{\"a\": 1, \"b\":",
        "{\"a\": 1, \"b\": ",
    ] {
        assert_eq!(parse_leniently(text), Some(json!({"a": 1})), "{text:?}");
    }
}

#[test]
fn a_literal_or_number_cut_off_is_completed() {
    assert_eq!(parse_leniently("{\"a\": tr"), Some(json!({"a": true})));
    assert_eq!(
        parse_leniently("{\"a\": [1, 2."),
        Some(json!({"a": [1, 2]}))
    );
}

#[test]
fn single_quoted_strings_and_unquoted_keys() {
    let text = "{'function': 'send_message', params: {'message': 'it's here'}}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"function": "send_message", "params": {"message": "it's here"}}))
    );
}

#[test]
fn unquoted_words_become_strings() {
    let text = "{\"function\": send_message, \"params\": {}}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"function": "send_message", "params": {}}))
    );
}

#[test]
fn inner_quotes_followed_by_words_stay_in_the_string() {
    let text = "{\"message\": \"He said \"hi\" to me.\", \"x\": 1,}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"message": "He said \"hi\" to me.", "x": 1}))
    );
}

#[test]
fn a_missing_comma_before_a_key_or_element_is_assumed() {
    let text = "{\"a\": \"x\"\n \"b\": [{\"c\": 1} {\"d\": 2}],}";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"a": "x", "b": [{"c": 1}, {"d": 2}]}))
    );
}

#[test]
fn a_mismatched_bracket_closes_the_inner_value() {
    assert_eq!(
        parse_leniently("{\"a\": [1, 2}, \"b\": 3,}"),
        Some(json!({"a": [1, 2], "b": 3}))
    );
}

#[test]
fn text_before_and_after_the_value_is_ignored() {
    let text = "Sure! {\"a\": \"b\", \"c\": [1,],}<|im_end|> {\"second\": 1}";
    assert_eq!(parse_leniently(text), Some(json!({"a": "b", "c": [1]})));
}

#[test]
fn garbage_inside_the_value_cuts_it_there() {
    let text = "{\"function\": \"f\", \"params\": {\"x\": \"y\"} <|im_end|>\nUSER: next";
    assert_eq!(
        parse_leniently(text),
        Some(json!({"function": "f", "params": {"x": "y"}}))
    );
}

#[test]
fn a_missing_value_drops_its_key() {
    assert_eq!(
        parse_leniently("{\"a\": , \"b\": 2,}"),
        Some(json!({"b": 2}))
    );
    assert_eq!(
        parse_leniently("{\"a\": 1, \"b\": }"),
        Some(json!({"a": 1}))
    );
}

#[test]
fn an_array_is_read_when_there_is_no_object() {
    assert_eq!(
        parse_leniently("values: [1, 'two', None,"),
        Some(json!([1, "two", null]))
    );
}

#[test]
fn nothing_recovered_is_no_value() {
    for text in ["", "no json here", "Hello {there}", "{", "[ , ,", "{: 1}"] {
        assert_eq!(parse_leniently(text), None, "{text:?}");
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let deep = "[".repeat(MAX_DEPTH + 1);
    assert_eq!(parse_leniently(&deep), None);
    let shallow = format!("{}1", "[".repeat(MAX_DEPTH));
    assert!(parse_leniently(&shallow).is_some());
}
