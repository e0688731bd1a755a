//! Mistral calls: `[TOOL_CALLS]` followed by a JSON array of calls (tokenizers before
//! v11), or by `name[ARGS]{…}` / `name{…}` with the token repeated for each call
//! (v11 and later, with an optional `[CALL_ID]id` before `[ARGS]`).

use prompt_kit::parallel_calls::answer_objects;
use prompt_kit::WrapperError;

use super::call::{arguments_object, json_value, missing, read_call, Found};

/// The token before the calls.
const OPEN: &str = "[TOOL_CALLS]";
/// The token between a v11 call's name and its arguments.
const ARGS: &str = "[ARGS]";
/// The token before a v11 call's id.
const CALL_ID: &str = "[CALL_ID]";

/// The calls in `answer` (`raw` is the whole reply, for errors); `None` when it has
/// no `[TOOL_CALLS]`.
pub(super) fn find_calls<'a>(
    answer: &'a str,
    raw: &str,
) -> Result<Option<Found<'a>>, WrapperError> {
    let Some(first) = answer.find(OPEN) else {
        return Ok(None);
    };
    let mut calls = Vec::new();
    for segment in answer[first + OPEN.len()..].split(OPEN) {
        let segment = segment.trim();
        if segment.starts_with(['[', '{']) {
            let objects = answer_objects(segment);
            if objects.is_empty() {
                // `[]` or the like: JSON, but no call in it.
                json_value(segment, raw)?;
                return Err(missing("name", raw));
            }
            for object in objects {
                calls.push(read_call(object, raw)?);
            }
        } else {
            calls.push(named_call(segment, raw)?);
        }
    }
    Ok(Some(Found {
        text_before: &answer[..first],
        calls,
    }))
}

/// A v11 call, `name[ARGS]{…}`, `name[CALL_ID]id[ARGS]{…}` or `name{…}`.
fn named_call(segment: &str, raw: &str) -> Result<prompt_kit::ParsedFunctionCall, WrapperError> {
    let (name, arguments) = match segment.find(ARGS) {
        Some(at) => (&segment[..at], &segment[at + ARGS.len()..]),
        None => match segment.find('{') {
            Some(at) => segment.split_at(at),
            None => (segment, ""),
        },
    };
    let name = name.split(CALL_ID).next().unwrap_or_default().trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(missing("name", raw));
    }
    let arguments = match arguments.trim() {
        "" => None,
        text => Some(json_value(text, raw)?),
    };
    Ok(prompt_kit::ParsedFunctionCall {
        name: name.to_owned(),
        arguments: arguments_object(arguments, raw)?,
    })
}
