//! The few Python `str` behaviours the reference chain relies on, so that its
//! strategies see the same characters the Python code saw.

/// `ch.isspace()` in Python: Unicode `White_Space`, plus the four ASCII separator
/// controls U+001C..U+001F that Python also counts as whitespace.
pub(super) fn is_python_space(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// `ch.isalnum()` in Python, approximated by Rust's `char::is_alphanumeric`.
///
/// The two agree on letters and numbers; they differ only on the few combining marks
/// and symbols Unicode calls `Other_Alphabetic` (for example a Devanagari vowel sign,
/// or a circled letter), which Rust counts and Python does not. That only matters to
/// the broken-`message` strategy, for such characters written outside a string.
pub(super) fn is_python_alnum(ch: char) -> bool {
    ch.is_alphanumeric()
}

/// `text.strip().rstrip(",")`: surrounding Python whitespace removed, then every
/// trailing comma (a space between commas stops the second strip, as in Python).
pub(super) fn strip_then_trailing_commas(text: &str) -> &str {
    text.trim_matches(is_python_space).trim_end_matches(',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_space_includes_the_ascii_separators() {
        for ch in [
            '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ', '\t', '\u{a0}', '\u{3000}',
        ] {
            assert!(is_python_space(ch), "{ch:?}");
        }
        for ch in ['a', '\u{200b}', '\u{180e}', '_'] {
            assert!(!is_python_space(ch), "{ch:?}");
        }
    }

    #[test]
    fn python_alnum_accepts_letters_and_numbers_of_any_script() {
        for ch in ['a', 'Z', '7', 'é', 'Ж', '中', '²', 'Ⅳ'] {
            assert!(is_python_alnum(ch), "{ch:?}");
        }
        for ch in ['_', ' ', '"', '🌞', '-'] {
            assert!(!is_python_alnum(ch), "{ch:?}");
        }
    }

    #[test]
    fn strip_then_trailing_commas_matches_python() {
        assert_eq!(strip_then_trailing_commas("  {\"a\": 1,,\n "), "{\"a\": 1");
        assert_eq!(strip_then_trailing_commas("x, ,"), "x, ");
        assert_eq!(strip_then_trailing_commas("\u{1f}x\u{a0}"), "x");
        assert_eq!(strip_then_trailing_commas(""), "");
    }
}
