//! Calls written as bare JSON objects: Llama 3.x (`{"name": …, "parameters": …}`,
//! maybe after `<|python_tag|>`, several separated by `;` or line feeds) and plain
//! JSON (an object or an array of them).

use prompt_kit::parallel_calls::answer_objects;
use prompt_kit::WrapperError;

use super::call::{json_value, missing, read_call, Found};

/// The token Llama 3.x writes before a tool call.
const PYTHON_TAG: &str = "<|python_tag|>";

/// The calls in `answer` (`raw` is the whole reply, for errors); `None` when it has
/// none. A call starts at `<|python_tag|>` (when `python_tag` is set: Llama 3), or at
/// a `{` whose first key is `"name"` (or that opens with `"type": "function"`), or at
/// a `[` holding one. From there, objects are read one after another as long as only
/// whitespace, `;`, `,` and brackets lie between them; what follows is not read.
pub(super) fn find_calls<'a>(
    answer: &'a str,
    python_tag: bool,
    raw: &str,
) -> Result<Option<Found<'a>>, WrapperError> {
    let tagged = python_tag.then(|| answer.find(PYTHON_TAG)).flatten();
    let object = call_start(answer);
    let (start, calls_text) = match (tagged, object) {
        (Some(tag), object) if object.is_none_or(|object| tag <= object) => {
            (tag, &answer[tag + PYTHON_TAG.len()..])
        }
        (_, Some(object)) => (object, &answer[object..]),
        _ => return Ok(None),
    };
    let mut calls = Vec::new();
    let mut end_of_last = 0;
    for object in answer_objects(calls_text) {
        let offset = object.as_ptr() as usize - calls_text.as_ptr() as usize;
        if !is_separator(&calls_text[end_of_last..offset]) {
            break;
        }
        calls.push(read_call(object, raw)?);
        end_of_last = offset + object.len();
    }
    if calls.is_empty() {
        // After `<|python_tag|>`: no object, or text that is no JSON.
        json_value(calls_text, raw)?;
        return Err(missing("name", raw));
    }
    Ok(Some(Found {
        text_before: &answer[..start],
        calls,
    }))
}

/// Whether `text` is only what may lie between call objects.
fn is_separator(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || matches!(c, ';' | ',' | '[' | ']'))
}

/// Where the first call object (or the array holding it) starts in `text`.
fn call_start(text: &str) -> Option<usize> {
    text.match_indices('{').find_map(|(at, _)| {
        let inside = text[at + 1..].trim_start();
        let is_call = inside.starts_with("\"name\"")
            || inside
                .strip_prefix("\"type\"")
                .map(|rest| rest.trim_start().trim_start_matches(':').trim_start())
                .is_some_and(|value| value.starts_with("\"function\""));
        is_call.then(|| array_start(text, at).unwrap_or(at))
    })
}

/// The `[` opening the array an object at `at` is the first element of, if any.
fn array_start(text: &str, at: usize) -> Option<usize> {
    let before = text[..at].trim_end();
    before.ends_with('[').then(|| before.len() - 1)
}
