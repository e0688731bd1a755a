//! Recovering the JSON value a model meant to write from its malformed output.
//!
//! [`repair_json`] first runs the reference's `clean_json` chain (MemGPT's
//! `local_llm/json_parser.py`) in its order, so that whenever the reference recovers
//! a value this returns the same one; only when the whole chain fails does it try
//! the extensions. Each strategy is one pass over the text (or one parse) and there
//! is a fixed number of them, so the whole is linear in the input; valid JSON costs
//! one parse and no copy.
//!
//! The reference chain, in order (the first that succeeds wins):
//! - the text as JSON (Python's `json.loads(strict=False)`, see
//!   [`crate::python_json::loads`]: raw line feeds inside strings are accepted);
//! - the text with `}`, then `}}`, then `"}}` appended;
//! - the same three after stripping surrounding whitespace, then trailing commas;
//! - line feeds inside strings escaped (`line_feeds.rs`);
//! - a broken-up `"message"` string gathered back (`broken_message.rs`);
//! - the first brace-balanced object, `}}` appended first (`first_object.rs`): a
//!   prefix, trailing garbage or end-of-turn tokens, several objects back to back;
//! - the `send_message` pattern fallback (`send_message_fallback.rs`);
//! - escaped underscores (`send\_message`) unescaped, then parsed as a whole, then
//!   as the first balanced object.
//!
//! The extensions (`lenient/`): markdown code fences, Python literals, trailing
//! commas, text cut off anywhere (inside a string too), single quotes, unquoted keys
//! and words.
//!
//! # Why not the `llm_json` crate
//!
//! `llm_json` 1.0.3 (a Rust port of Python's `json_repair`) was run on every case
//! the tests here check and on the reference parse fixtures. It recovers the
//! extension cases (fences, Python literals, trailing commas, cut-off strings, single
//! quotes) but not the reference's:
//! - raw line feeds inside strings (`{"a": "x⏎y"}`, very common in model output),
//!   and a backslash before one: an error;
//! - escaped underscores (`send\_message`): an error, so it fails all 106
//!   `escaped_underscores` fixture parses;
//! - a broken-up message, the `send_message` fallback and stray inner quotes: a
//!   different value (`{"message": "He said "hi" there"}` gives
//!   `{"message": "He said ", "hi\" there\"": ""}`);
//! - empty text gives `{}` and plain prose gives a JSON string, where an error is
//!   wanted;
//! - with its default options (`ensure_ascii`), characters outside the Basic
//!   Multilingual Plane are corrupted in repaired text (🌞 becomes `ἱe`): 140 more
//!   fixture parses fail.
//!
//! It passed 636 of the 742 fixture parses at best (496 with default options), it
//! cannot follow the reference's order, and it brings `clap` in as a library
//! dependency; so the chain is written here.

mod broken_message;
mod first_object;
mod lenient;
mod line_feeds;
mod python_text;
mod send_message_fallback;

use std::cell::Cell;

use serde_json::Value;

use crate::python_json;

thread_local! {
    /// How many values [`repair_json`] has recovered by repairing (not by a plain
    /// parse) on this thread; only ever increases (see [`count_repairs`]).
    static REPAIRS: Cell<u64> = const { Cell::new(0) };
}

/// Runs `parse` (synchronous: a wrapper's parse) and says how many JSON values it
/// recovered by repairing malformed text with [`repair_json`] (0: all of them parsed
/// as they were, or none was read).
///
/// Why a counter around the call rather than a flag in each parse result: repair
/// happens deep inside every wrapper's parse (`reply_json`, the native call
/// formats, `response_format` answers), and the parsed message is a plain struct
/// every wrapper builds; a per-thread counter read before and after the one
/// synchronous call needs no change to any wrapper. Nested calls are counted by
/// each observer.
pub fn count_repairs<T>(parse: impl FnOnce() -> T) -> (T, u64) {
    let before = REPAIRS.get();
    let value = parse();
    (value, REPAIRS.get().wrapping_sub(before))
}

/// Why no JSON value could be recovered from a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// Every strategy failed.
    #[error(
        "no JSON value could be recovered from the text (as plain JSON: {reason}); check that \
         the prompt wrapper matches the model's format, or use a `-grammar` wrapper so the \
         backend constrains the output"
    )]
    NoJson {
        /// Why the text is not valid JSON as it stands.
        reason: String,
    },
    /// The text is empty or only whitespace.
    #[error(
        "the text is empty, so it holds no JSON; check the backend's stop sequences and \
         token limit"
    )]
    Empty,
}

/// One way of recovering a value from the text.
struct Strategy {
    /// What it does, for the trace log.
    name: &'static str,
    /// The value, or `None` when this way does not work for the text.
    attempt: fn(&str) -> Option<Value>,
}

/// The reference's `clean_json` strategies after the plain parse, in its order.
const REFERENCE_CHAIN: [Strategy; 12] = [
    Strategy {
        name: "append }",
        attempt: |text| loads_with_suffix(text, "}"),
    },
    Strategy {
        name: "append }}",
        attempt: |text| loads_with_suffix(text, "}}"),
    },
    Strategy {
        name: "append \"}}",
        attempt: |text| loads_with_suffix(text, "\"}}"),
    },
    Strategy {
        name: "strip, drop trailing commas, append }",
        attempt: |text| loads_with_suffix(python_text::strip_then_trailing_commas(text), "}"),
    },
    Strategy {
        name: "strip, drop trailing commas, append }}",
        attempt: |text| loads_with_suffix(python_text::strip_then_trailing_commas(text), "}}"),
    },
    Strategy {
        name: "strip, drop trailing commas, append \"}}",
        attempt: |text| loads_with_suffix(python_text::strip_then_trailing_commas(text), "\"}}"),
    },
    Strategy {
        name: "escape line feeds inside strings",
        attempt: |text| {
            let escaped = line_feeds::escape_line_feeds_in_strings(text)?;
            python_json::loads_ok(&escaped)
        },
    },
    Strategy {
        name: "gather a broken-up message string",
        attempt: |text| python_json::loads_ok(&broken_message::gather_broken_message(text)),
    },
    Strategy {
        name: "first balanced object",
        attempt: |text| first_object::first_balanced_object(text, "}}"),
    },
    Strategy {
        name: "send_message pattern",
        attempt: send_message_fallback::extract_send_message_call,
    },
    Strategy {
        name: "unescape underscores",
        attempt: |text| python_json::loads_ok(&unescape_underscores(text)?),
    },
    Strategy {
        name: "unescape underscores, first balanced object",
        attempt: |text| first_object::first_balanced_object(&unescape_underscores(text)?, "}}"),
    },
];

/// What is tried when the whole reference chain failed.
const EXTENSIONS: [Strategy; 1] = [Strategy {
    name: "lenient parse",
    attempt: lenient::parse_leniently,
}];

/// Recovers the JSON value a model meant to write (see the [module docs](self) for
/// the strategies, in the order they are tried).
pub fn repair_json(text: &str) -> Result<Value, RepairError> {
    let plain_error = match python_json::loads(text) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    if text.trim().is_empty() {
        return Err(RepairError::Empty);
    }
    REFERENCE_CHAIN
        .iter()
        .chain(EXTENSIONS.iter())
        .find_map(|strategy| {
            let value = (strategy.attempt)(text)?;
            tracing::debug!(strategy = strategy.name, "repaired malformed JSON");
            REPAIRS.set(REPAIRS.get().wrapping_add(1));
            Some(value)
        })
        .ok_or_else(|| RepairError::NoJson {
            reason: plain_error.to_string(),
        })
}

/// `json.loads(text + suffix)`.
fn loads_with_suffix(text: &str, suffix: &str) -> Option<Value> {
    let mut extended = String::with_capacity(text.len() + suffix.len());
    extended.push_str(text);
    extended.push_str(suffix);
    python_json::loads_ok(&extended)
}

/// `text.replace("\\_", "_")`; `None` when there is no `\_` (the text would be
/// unchanged, and the strategies using it would repeat ones that already failed).
fn unescape_underscores(text: &str) -> Option<String> {
    text.contains("\\_").then(|| text.replace("\\_", "_"))
}

#[cfg(test)]
pub(crate) mod properties;
#[cfg(test)]
mod tests;
