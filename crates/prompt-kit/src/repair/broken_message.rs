//! The reference's `repair_even_worse_json`: a `"message"` value broken into pieces
//! (stray quotes, words outside any string) is gathered back into one string.
//!
//! After the text `"message":`, every character up to the next `}` is either kept
//! as message text (anything inside the reference's idea of a string, and letters,
//! digits, whitespace and `.',;:!` outside one) or dropped (quotes and other
//! structure); at that `}` the gathered text is written back as one quoted string
//! with its line feeds turned into spaces. Backslashes are copied through as they
//! come, even in the middle of the message, as the reference does.

use std::collections::VecDeque;

use super::python_text::{is_python_alnum, is_python_space};

/// The marker that switches on message gathering.
const MESSAGE_KEY: &str = "\"message\":";

/// How many output pieces the reference looks back over for [`MESSAGE_KEY`].
const LOOK_BACK_PIECES: usize = 10;

/// Rewrites `text` the way the reference's `repair_even_worse_json` does.
pub(super) fn gather_broken_message(text: &str) -> String {
    let mut out = PieceWriter::with_capacity(text.len() + 16);
    let mut in_message = false;
    let mut in_string = false;
    let mut escape = false;
    let mut message = String::new();
    for ch in text.chars() {
        if ch == '"' && !escape {
            in_string = !in_string;
            if !in_message {
                out.push_char(ch);
            }
        } else if ch == '\\' && !escape {
            escape = true;
            out.push_char(ch);
        } else {
            escape = false;
            if in_message {
                if ch == '}' {
                    let gathered: String = message
                        .chars()
                        .map(|c| if c == '\n' { ' ' } else { c })
                        .collect();
                    out.push_piece(&format!("\"{gathered}\""));
                    out.push_char(ch);
                    in_message = false;
                } else if in_string
                    || is_python_alnum(ch)
                    || is_python_space(ch)
                    || ".',;:!".contains(ch)
                {
                    message.push(ch);
                }
            } else {
                out.push_char(ch);
                if out.recent_pieces().contains(MESSAGE_KEY) {
                    in_message = true;
                    message.clear();
                }
            }
        }
    }
    out.text
}

/// The output text, remembering where its last few pieces start (the reference keeps
/// a list of pieces and joins the last ten to look for the message key).
struct PieceWriter {
    text: String,
    recent_starts: VecDeque<usize>,
}

impl PieceWriter {
    fn with_capacity(capacity: usize) -> Self {
        PieceWriter {
            text: String::with_capacity(capacity),
            recent_starts: VecDeque::with_capacity(LOOK_BACK_PIECES + 1),
        }
    }

    fn push_piece(&mut self, piece: &str) {
        self.recent_starts.push_back(self.text.len());
        if self.recent_starts.len() > LOOK_BACK_PIECES {
            self.recent_starts.pop_front();
        }
        self.text.push_str(piece);
    }

    fn push_char(&mut self, ch: char) {
        self.push_piece(ch.encode_utf8(&mut [0; 4]));
    }

    /// The last ten pieces joined. A gathered message is one (possibly long) piece,
    /// so it is looked at by at most ten checks: the scan stays linear overall.
    fn recent_pieces(&self) -> &str {
        let start = self.recent_starts.front().copied().unwrap_or(0);
        self.text.get(start..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_of_a_message_become_one_string() {
        let text =
            "{\"function\": \"send_message\", \"params\": {\"message\": \"Hi\" there \"friend\"}}";
        let repaired = gather_broken_message(text);
        assert_eq!(
            repaired,
            "{\"function\": \"send_message\", \"params\": {\"message\":\" Hi there friend\"}}"
        );
        let value = crate::python_json::loads_ok(&repaired);
        assert_eq!(
            value,
            Some(json!({"function": "send_message", "params": {"message": " Hi there friend"}}))
        );
    }

    #[test]
    fn line_feeds_in_the_message_become_spaces_and_structure_is_dropped() {
        let text = "{\"message\": \"a\nb\" [x] \"c\"}";
        assert_eq!(gather_broken_message(text), "{\"message\":\" a b x c\"}");
    }

    #[test]
    fn backslashes_are_copied_even_inside_the_message() {
        let text = "{\"message\": \"a\\\"b\"}";
        assert_eq!(gather_broken_message(text), "{\"message\":\\\" a\"b\"}");
    }

    #[test]
    fn a_message_key_inside_a_gathered_message_starts_gathering_again() {
        let text = "{\"message\": \"say \\\"message\\\": x\"} tail}";
        assert_eq!(
            gather_broken_message(text),
            "{\"message\":\\\\\" say \"message\": x\"} \"tail\"}"
        );
    }

    #[test]
    fn a_message_without_a_closing_brace_is_dropped() {
        assert_eq!(
            gather_broken_message("{\"message\": \"abc"),
            "{\"message\":"
        );
    }

    #[test]
    fn text_without_a_message_key_is_copied() {
        let text = "{\"a\": \"b\\\\\"}";
        assert_eq!(gather_broken_message(text), text);
    }
}
