//! Hermes 2 Pro / Qwen calls: `<tool_call>{…}</tool_call>`, the tags repeated for
//! each call.

use prompt_kit::WrapperError;

use super::call::{read_call, Found};

/// The tag before each call.
const OPEN: &str = "<tool_call>";
/// The tag after each call.
const CLOSE: &str = "</tool_call>";

/// The calls in `answer` (`raw` is the whole reply, for errors); `None` when it has
/// no `<tool_call>`. Each tag's body runs to its `</tool_call>`, or to the end of the
/// text for a last tag left unclosed; text between calls is not read.
pub(super) fn find_calls<'a>(
    answer: &'a str,
    raw: &str,
) -> Result<Option<Found<'a>>, WrapperError> {
    let Some(first) = answer.find(OPEN) else {
        return Ok(None);
    };
    let mut calls = Vec::new();
    let mut rest = &answer[first..];
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let (body, next) = match after.find(CLOSE) {
            Some(end) => (&after[..end], &after[end + CLOSE.len()..]),
            None => (after, ""),
        };
        calls.push(read_call(body, raw)?);
        rest = next;
    }
    Ok(Some(Found {
        text_before: &answer[..first],
        calls,
    }))
}
