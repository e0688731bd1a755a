//! Answers the model started over after the prompt's pre-seeded opening.
//!
//! A pre-seeded prompt ends with the opening of the answer (`{\n  "inner_thoughts":`
//! for the `noforce` formats, `{\n  "function":` for the forced ones), and the model
//! is meant to continue it. Two ways a model fails to, and how each is read back:
//!
//! - **It repeats the opening**: it writes a whole answer object where the seed wants
//!   the thoughts' value, so seed and reply read
//!   `{"inner_thoughts": {"inner_thoughts": "…", "function": …}`.
//!   [`restarted_answer`] finds the answer object inside (the JSON step, run by
//!   [`optional_call`](super::optional_call); a forced answer's nested call is
//!   already unwrapped by [`forced_call`](super::forced_call)). When seed and reply
//!   do not repair as one object (text after the repeat, say), the reply is read on
//!   its own ([`repeated_reply`], the text step, run by [`read_seeded_reply`]).
//! - **It opens a markdown code fence** right after the seed, then writes a whole
//!   answer or the rest of the seeded one. [`unfenced_reply`] takes the fence away
//!   (the text step, run by [`read_seeded_reply`]).
//!
//! Both apply only where the text as written holds no answer of the right shape (an
//! object where the thoughts' string belongs; a backtick where a JSON value
//! belongs), so a reply that is an answer, whatever its thoughts say, is read as
//! before, and so is every reply the reference reads.

use serde_json::{Map, Value};

use super::bodies::INNER_THOUGHTS_KWARG;
use super::parse::attach_prefix;
use crate::json_strings::StringScan;
use crate::wrapper::WrapperError;

/// A markdown code fence.
const FENCE: &str = "```";

/// The answer object a `noforce` answer holds in its `inner_thoughts` when the model
/// repeated the seeded opening (the innermost one, if it repeated it more than once);
/// `None` when the answer is not such a repeat.
///
/// The answer format's thoughts are a string, so an object there is not an answer
/// of the right shape; it is read as a restarted answer when the outer object has no
/// call of its own and the inner object is empty or its first key is
/// `inner_thoughts` (or the start of it: a restart cut off, as a streamed reply is
/// while it is written, whose reading is then the missing-field error, not the
/// object's text as content). Any other object-valued thoughts are left as they are.
pub fn restarted_answer(json: &Value) -> Option<&Value> {
    let mut answer = None;
    let mut current = json;
    while let Some(inner) = repeated_opening(current) {
        answer = Some(inner);
        current = inner;
    }
    answer
}

/// The object in `json`'s `inner_thoughts`, when it is one level of a repeated opening.
fn repeated_opening(json: &Value) -> Option<&Value> {
    let object = json.as_object()?;
    let inner = object.get(INNER_THOUGHTS_KWARG)?;
    let restarts = match inner.as_object()?.keys().next() {
        None => true,
        Some(key) => INNER_THOUGHTS_KWARG.starts_with(key.as_str()),
    };
    (restarts && !has_call(object)).then_some(inner)
}

/// Whether a top-level answer names a function (not absent, `null` or `"none"`).
fn has_call(object: &Map<String, Value>) -> bool {
    match object.get("function") {
        None | Some(Value::Null) => false,
        Some(Value::String(name)) => name.trim().to_lowercase() != "none",
        Some(_) => true,
    }
}

/// The reply without the markdown code fence the model opened right after the seed
/// (`prefix`), as an answer to read: `None` when the reply (after the seed, if it
/// repeats it, and any whitespace) does not open a fence (one or two backticks, all
/// the reply holds, are a fence being written).
///
/// The fence's language tag (`json`, or none) and line feed are dropped, and so is
/// everything from the closing fence on (a fence inside a JSON string does not close
/// it); without a closing fence the answer runs to the end. When what the fence holds
/// starts with `{`, the model wrote a whole answer, which is the text to read;
/// otherwise it continued the seeded one, and the text is the seed, a space, and what
/// the fence holds (`None` when there is no seed to continue).
pub fn unfenced_reply(raw_output: &str, prefix: &str) -> Option<String> {
    let after_seed = raw_output
        .strip_prefix(prefix)
        .unwrap_or(raw_output)
        .trim_start();
    let fenced = match after_seed.strip_prefix(FENCE) {
        Some(fenced) => fenced,
        // A fence still being written (a streamed reply): nothing inside it yet.
        None if !after_seed.is_empty() && FENCE.starts_with(after_seed) => "",
        None => return None,
    };
    let tag_end = fenced
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_+-.".contains(c)))
        .unwrap_or(fenced.len());
    let body = fenced.get(tag_end..)?;
    let body = body
        .get(..closing_fence(body).unwrap_or(body.len()))?
        .trim();
    if body.starts_with('{') {
        Some(body.to_owned())
    } else if prefix.is_empty() {
        None
    } else {
        Some(format!("{prefix} {body}"))
    }
}

/// Where the first code fence outside a JSON string starts in `text` (a string runs
/// from `"` to the next `"` not escaped with `\`).
fn closing_fence(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut strings = StringScan::default();
    for (index, &byte) in bytes.iter().enumerate() {
        if strings.inside(byte) {
            continue;
        }
        if byte == b'"' {
            strings.open();
        } else if bytes.get(index..)?.starts_with(FENCE.as_bytes()) {
            return Some(index);
        }
    }
    None
}

/// The reply after the seed (`prefix`), when the model started a whole answer object
/// there instead of continuing the seeded one: the text from its `{` on. `None` when
/// there is no seed, or the reply (after the seed, if it repeats it, and any
/// whitespace) does not open an object.
pub fn repeated_reply<'a>(raw_output: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return None;
    }
    let after_seed = raw_output.strip_prefix(prefix).unwrap_or(raw_output);
    let answer = after_seed.trim_start();
    answer.starts_with('{').then_some(answer)
}

/// Reads a reply that continues a prompt ending with `prefix` with `read` (a format's
/// reading: the end token, the JSON repair, the answer).
///
/// Normally that is `read` of the reply with the prefix put back ([`attach_prefix`]).
/// Two replies are read otherwise:
/// - When the model opened a code fence right after the seed (or is writing one: a
///   reply of one or two backticks), the answer is read from inside the fence only
///   ([`unfenced_reply`]). The text as written holds no answer there (no JSON value
///   starts with a backtick), and what the repair would make of the seed and the
///   fence is a guess (the fence's first word as the thoughts, or a `send_message`
///   pattern). An error carries the whole text, seed included.
/// - When the normal reading fails and the model started a whole answer object after
///   the seed ([`repeated_reply`]; the repeat whose seed and reply repair as one
///   object is read by [`restarted_answer`] instead), that object is read on its own;
///   if that fails too, the error is the normal reading's.
///
/// A reply that opens neither a fence nor an object is read exactly as before.
pub fn read_seeded_reply<T>(
    raw_output: &str,
    prefix: &str,
    read: impl Fn(&str) -> Result<T, WrapperError>,
) -> Result<T, WrapperError> {
    let prefixed = attach_prefix(raw_output, prefix);
    if let Some(unfenced) = unfenced_reply(raw_output, prefix) {
        tracing::debug!("reading the answer inside the code fence the model opened");
        return read(&unfenced).map_err(|error| with_raw_output(error, &prefixed));
    }
    let error = match read(&prefixed) {
        Ok(answer) => return Ok(answer),
        Err(error) => error,
    };
    let Some(repeated) = repeated_reply(raw_output, prefix) else {
        return Err(error);
    };
    let answer = read(repeated).map_err(|_| error)?;
    tracing::debug!("read the answer the model started over after the seed");
    Ok(answer)
}

/// `error` with `text` as the raw output it carries, where it carries one.
fn with_raw_output(error: WrapperError, text: &str) -> WrapperError {
    match error {
        WrapperError::UnparseableOutput { source, .. } => WrapperError::UnparseableOutput {
            source,
            raw_output: text.to_owned(),
        },
        WrapperError::MissingField { field, .. } => WrapperError::MissingField {
            field,
            raw_output: text.to_owned(),
        },
        other => other,
    }
}

#[cfg(test)]
#[path = "restart_tests.rs"]
mod tests;
