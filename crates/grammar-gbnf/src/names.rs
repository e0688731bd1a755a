//! Rule names: GBNF identifiers derived from function and parameter names.

use std::collections::BTreeSet;

/// `name` as a GBNF identifier: ASCII letters lowercased, digits kept, every other
/// character (`_`, `.`, spaces, non-ASCII, …) mapped to `-`. llama.cpp accepts
/// `[a-zA-Z0-9-]+`; lowercase reads like the grammars in llama.cpp's `grammars/`
/// folder. An empty name becomes `empty`. Different names can map to the same text:
/// [`RuleNames`] keeps the rules apart.
pub(crate) fn sanitize(name: &str) -> String {
    if name.is_empty() {
        return "empty".to_owned();
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Hands out rule names, each once: a taken name gets `-2`, `-3`, … appended.
#[derive(Debug, Clone)]
pub(crate) struct RuleNames {
    taken: BTreeSet<String>,
}

impl RuleNames {
    /// An allocator with `reserved` (the fixed rules: `root`, `ws`, …) already taken.
    pub(crate) fn new(reserved: &[&str]) -> Self {
        RuleNames {
            taken: reserved.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// A fresh name based on `base` (already sanitised).
    pub(crate) fn fresh(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut counter = 2_usize;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}-{counter}");
            counter = counter.saturating_add(1);
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_maps_everything_but_lowercase_letters_and_digits_to_dashes() {
        assert_eq!(sanitize("send_message"), "send-message");
        assert_eq!(sanitize("Core.Memory Append2"), "core-memory-append2");
        assert_eq!(sanitize("héllo"), "h-llo");
        assert_eq!(sanitize(""), "empty");
    }

    #[test]
    fn fresh_names_never_repeat_and_avoid_reserved_ones() {
        let mut names = RuleNames::new(&["root", "string"]);
        assert_eq!(names.fresh("string"), "string-2");
        assert_eq!(names.fresh("a-b"), "a-b");
        assert_eq!(names.fresh("a-b"), "a-b-2");
        assert_eq!(names.fresh("a-b-2"), "a-b-2-2");
        assert_eq!(names.fresh("a-b"), "a-b-3");
        assert_eq!(names.fresh("root"), "root-2");
    }
}
