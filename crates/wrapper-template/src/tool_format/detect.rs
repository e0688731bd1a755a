//! Which tool-call format a chat template's text shows.

use super::ToolCallFormat;

/// What a template's text must hold to show one format; the first match wins.
struct Marks {
    /// The format shown.
    format: ToolCallFormat,
    /// Every one of these must appear.
    all: &'static [&'static str],
    /// At least one of these must appear (empty: none needed).
    any: &'static [&'static str],
}

/// The formats' marks, most specific first.
const MARKS: [Marks; 4] = [
    Marks {
        format: ToolCallFormat::Hermes,
        all: &["<tool_call>"],
        any: &[],
    },
    Marks {
        format: ToolCallFormat::Mistral,
        all: &["[TOOL_CALLS]"],
        any: &[],
    },
    Marks {
        format: ToolCallFormat::Llama3Json,
        all: &["\"parameters\""],
        any: &["<|python_tag|>", "ipython", "{\"name\""],
    },
    // Tool calls written as JSON in no syntax of their own.
    Marks {
        format: ToolCallFormat::Json,
        all: &["tool_calls"],
        any: &["{\"name\"", "\"arguments\"", "tojson"],
    },
];

/// See [`ToolCallFormat::detect`].
pub(super) fn detect(template_source: &str) -> Option<ToolCallFormat> {
    MARKS
        .iter()
        .find(|marks| {
            marks.all.iter().all(|mark| template_source.contains(mark))
                && (marks.any.is_empty()
                    || marks.any.iter().any(|mark| template_source.contains(mark)))
        })
        .map(|marks| marks.format)
}
