//! Reasoning written apart from the answer: `<think>…</think>` (DeepSeek R1, Qwen 3,
//! QwQ and their distillations).

/// The tag that opens the reasoning.
const OPEN: &str = "<think>";
/// The tag that closes it.
const CLOSE: &str = "</think>";

/// Splits a reply into its reasoning (trimmed; `None` when there is none or it is
/// empty) and the rest. Read as reasoning: a `<think>…</think>` block at the start
/// (whitespace before it allowed); an unclosed `<think>` at the start (all of the
/// rest is reasoning, the model stopped while thinking); or, in a reply with no
/// `<think>` before its first `</think>`, the text before that `</think>` (the
/// template opened the block in the prompt, so the reply starts inside thoughts).
/// Anything else is all answer.
pub fn split_reasoning(raw: &str) -> (Option<String>, &str) {
    if let Some(inside) = raw.trim_start().strip_prefix(OPEN) {
        return match inside.find(CLOSE) {
            Some(end) => (non_empty(&inside[..end]), &inside[end + CLOSE.len()..]),
            None => (non_empty(inside), ""),
        };
    }
    match raw.find(CLOSE) {
        Some(end) if !raw[..end].contains(OPEN) => {
            (non_empty(&raw[..end]), &raw[end + CLOSE.len()..])
        }
        _ => (None, raw),
    }
}

/// The text trimmed, or `None` when nothing is left.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_think_block_at_the_start_is_split_off() {
        assert_eq!(
            split_reasoning("\n<think>\nStep 1.\n</think>\n\nAnswer."),
            (Some("Step 1.".to_owned()), "\n\nAnswer.")
        );
    }

    #[test]
    fn an_unclosed_think_is_all_reasoning() {
        assert_eq!(
            split_reasoning("<think>I was cut off"),
            (Some("I was cut off".to_owned()), "")
        );
    }

    #[test]
    fn a_lone_closing_tag_ends_reasoning_begun_in_the_prompt() {
        assert_eq!(
            split_reasoning("Thinking here.\n</think>\nAnswer."),
            (Some("Thinking here.".to_owned()), "\nAnswer.")
        );
    }

    #[test]
    fn an_empty_block_is_no_reasoning() {
        assert_eq!(split_reasoning("<think>\n\n</think>\nHi"), (None, "\nHi"));
    }

    #[test]
    fn text_without_tags_or_with_a_think_later_is_all_answer() {
        assert_eq!(split_reasoning("Just text."), (None, "Just text."));
        let later = "Hello <think>x</think> bye";
        assert_eq!(split_reasoning(later), (None, later));
    }
}
