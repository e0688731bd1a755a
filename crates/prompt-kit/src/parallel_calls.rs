//! Replies that hold several answers one after another (OpenAI's parallel tool calls):
//! [`answer_objects`] finds the answer objects in a reply, [`parse_answers`] reads each
//! with a format's one-answer reader and merges them into one message.
//!
//! A reply the reference reads as one answer is read here exactly as the reference
//! reads it: only a reply with two or more complete objects is split, and even then a
//! first object that does not read on its own falls back to the one-answer reading of
//! the whole text.

use crate::chat::AssistantMessage;
use crate::json_strings::StringScan;
use crate::wrapper::WrapperError;

/// The brace-balanced top-level JSON objects of `text`, in order, as slices of it; the
/// last one may be cut off (then it runs from its `{` to the end of the text). Braces
/// inside strings are not counted (a string runs from `"` to the next `"` not escaped
/// with `\`). What lies between and around the objects — whitespace, commas, an
/// array's brackets, an end-of-turn token, prose — belongs to none, so a JSON array
/// of objects gives its objects. A `}` with no object open is skipped.
pub fn answer_objects(text: &str) -> Vec<&str> {
    let mut objects = Vec::new();
    let mut depth = 0_usize;
    let mut start = 0;
    let mut strings = StringScan::default();
    for (index, byte) in text.bytes().enumerate() {
        if strings.inside(byte) {
            continue;
        }
        match byte {
            b'"' if depth > 0 => strings.open(),
            b'{' => {
                if depth == 0 {
                    start = index;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    objects.push(&text[start..=index]);
                }
            }
            _ => {}
        }
    }
    if depth > 0 {
        objects.push(&text[start..]);
    }
    objects
}

/// Reads a reply that may hold several answers, each with `read_one` (a format's
/// reading of one answer, given the text of one object: repair, the call, the inner
/// thoughts), and merges them ([`AssistantMessage::merged`]: the calls in order, the
/// thoughts joined with a line feed).
///
/// Fewer than two objects ([`answer_objects`]): `read_one(text)`, the one-answer
/// reading of the whole text. A first object that does not read: the same (the
/// whole text's reading, and its error). A later object that does not read as an
/// answer (a cut-off call, an object that is no call) is left out.
pub fn parse_answers(
    text: &str,
    read_one: impl Fn(&str) -> Result<AssistantMessage, WrapperError>,
) -> Result<AssistantMessage, WrapperError> {
    let objects = answer_objects(text);
    let Some((first, rest)) = objects.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return read_one(text);
    };
    let Ok(first) = read_one(first) else {
        return read_one(text);
    };
    let mut answers = vec![first];
    for (number, object) in rest.iter().enumerate() {
        match read_one(object) {
            Ok(answer) => answers.push(answer),
            Err(error) => tracing::debug!(
                "answer object {} of the reply is left out: {error}",
                number + 2
            ),
        }
    }
    Ok(AssistantMessage::merged(answers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ParsedFunctionCall;
    use crate::repair::repair_json;
    use serde_json::{json, Value};

    #[test]
    fn objects_are_found_in_order_whatever_lies_between() {
        assert_eq!(
            answer_objects("{\"a\": 1}\n{\"b\": {\"c\": 2}} ,{\"d\": 3}"),
            ["{\"a\": 1}", "{\"b\": {\"c\": 2}}", "{\"d\": 3}"]
        );
        assert_eq!(
            answer_objects("[{\"a\": 1}, {\"b\": 2}]"),
            ["{\"a\": 1}", "{\"b\": 2}"]
        );
        assert_eq!(
            answer_objects("Sure: {\"a\": 1} <|im_end|> }"),
            ["{\"a\": 1}"]
        );
        assert!(answer_objects("no json here").is_empty());
    }

    #[test]
    fn braces_and_quotes_inside_strings_do_not_count() {
        assert_eq!(
            answer_objects(r#"{"m": "a } and \" { quote"} {"n": "x"}"#),
            [r#"{"m": "a } and \" { quote"}"#, r#"{"n": "x"}"#]
        );
        assert_eq!(
            answer_objects(r#"{"m": "ends in a backslash \\"} {"n": 1}"#),
            [r#"{"m": "ends in a backslash \\"}"#, r#"{"n": 1}"#]
        );
    }

    #[test]
    fn a_cut_off_last_object_runs_to_the_end() {
        assert_eq!(
            answer_objects("{\"a\": 1}\n{\"b\": {\"c\": \"unfinished"),
            ["{\"a\": 1}", "{\"b\": {\"c\": \"unfinished"]
        );
    }

    /// A reader of `{"call": name}` objects (repaired), for the merge tests.
    fn read(text: &str) -> Result<AssistantMessage, WrapperError> {
        let json = repair_json(text).map_err(|source| WrapperError::UnparseableOutput {
            source,
            raw_output: text.to_owned(),
        })?;
        match json.get("call").and_then(Value::as_str) {
            Some(name) => Ok(AssistantMessage::with_call(
                json.get("why").and_then(Value::as_str).map(str::to_owned),
                ParsedFunctionCall {
                    name: name.to_owned(),
                    arguments: json!({}),
                },
            )),
            None => Err(WrapperError::MissingField {
                field: "call".into(),
                raw_output: text.to_owned(),
            }),
        }
    }

    fn names(message: &AssistantMessage) -> Vec<&str> {
        message
            .function_calls
            .iter()
            .map(|call| call.name.as_str())
            .collect()
    }

    #[test]
    fn several_answers_are_merged_in_order() {
        let message = parse_answers(
            "{\"call\": \"a\", \"why\": \"one\"}\n{\"call\": \"b\", \"why\": \"two\"}",
            read,
        )
        .unwrap();
        assert_eq!(names(&message), ["a", "b"]);
        assert_eq!(message.content.as_deref(), Some("one\ntwo"));
    }

    #[test]
    fn one_answer_is_read_from_the_whole_text() {
        // The whole text (prefix and trailing text included) goes to the reader, as
        // the one-answer parse would give it.
        let message = parse_answers("Sure! {\"call\": \"a\"} bye", read).unwrap();
        assert_eq!(names(&message), ["a"]);
        let message = parse_answers("{\"call\": \"a\"", read).unwrap();
        assert_eq!(names(&message), ["a"], "a cut-off object is repaired");
    }

    #[test]
    fn later_objects_that_are_no_answer_are_left_out() {
        let message = parse_answers(
            "{\"call\": \"a\"}\n{\"note\": 1}\n{\"call\": \"b\"}\n{\"call\": ",
            read,
        )
        .unwrap();
        assert_eq!(names(&message), ["a", "b"]);
    }

    #[test]
    fn an_unreadable_first_object_falls_back_to_the_whole_text() {
        let error = parse_answers("{\"note\": 1}\n{\"call\": \"b\"}", read).err();
        assert!(
            matches!(error, Some(WrapperError::MissingField { ref raw_output, .. }) if raw_output.contains("note") && raw_output.contains("\"b\"")),
            "{error:?}"
        );
    }
}
