//! llama.cpp's left-recursion check and pushdown-stack matcher.

use std::collections::HashSet;

use super::{is_end_of_sequence, Elem, Grammar, Match};

type Stack = Vec<(usize, usize)>;

impl Grammar {
    fn elem(&self, (rule, index): (usize, usize)) -> Elem {
        self.rules[rule][index]
    }

    pub(crate) fn left_recursive(
        &self,
        id: usize,
        visited: &mut [bool],
        in_progress: &mut [bool],
        may_be_empty: &mut [bool],
    ) -> bool {
        if in_progress[id] {
            return true;
        }
        in_progress[id] = true;
        let rule = &self.rules[id];
        let mut at_start = true;
        for &elem in rule {
            if is_end_of_sequence(elem) {
                if at_start {
                    may_be_empty[id] = true;
                    break;
                }
                at_start = true;
            } else {
                at_start = false;
            }
        }
        let mut recurse = true;
        for &elem in rule {
            match elem {
                Elem::RuleRef(sub) if recurse => {
                    if self.left_recursive(sub, visited, in_progress, may_be_empty) {
                        return true;
                    }
                    if !may_be_empty[sub] {
                        recurse = false;
                    }
                }
                elem if is_end_of_sequence(elem) => recurse = true,
                _ => recurse = false,
            }
        }
        in_progress[id] = false;
        visited[id] = true;
        false
    }

    /// The start of every alternative of `rule`.
    fn alternatives(&self, rule: usize) -> Vec<usize> {
        let mut starts = vec![0];
        for (index, &elem) in self.rules[rule].iter().enumerate() {
            if elem == Elem::Alt {
                starts.push(index + 1);
            }
        }
        starts
    }

    fn advance(&self, stack: Stack, out: &mut Vec<Stack>) {
        let mut todo = vec![stack];
        let mut seen = HashSet::new();
        while let Some(current) = todo.pop() {
            if !seen.insert(current.clone()) {
                continue;
            }
            let Some(&top) = current.last() else {
                if !out.contains(&current) {
                    out.push(current);
                }
                continue;
            };
            match self.elem(top) {
                Elem::RuleRef(sub) => {
                    for start in self.alternatives(sub) {
                        let mut next: Stack = current[..current.len() - 1].to_vec();
                        if !is_end_of_sequence(self.elem((top.0, top.1 + 1))) {
                            next.push((top.0, top.1 + 1));
                        }
                        if !is_end_of_sequence(self.elem((sub, start))) {
                            next.push((sub, start));
                        }
                        todo.push(next);
                    }
                }
                Elem::Char(_) | Elem::CharNot(_) | Elem::Any => {
                    if !out.contains(&current) {
                        out.push(current);
                    }
                }
                other => unreachable!("stack left on {other:?}"),
            }
        }
    }

    /// llama.cpp's `llama_grammar_match_char`: whether `chr` matches the character set
    /// at `pos`, and the position after the set.
    fn match_char(&self, (rule, mut index): (usize, usize), chr: u32) -> (bool, usize) {
        let positive = matches!(self.rules[rule][index], Elem::Char(_) | Elem::Any);
        let mut found = false;
        loop {
            let elem = self.rules[rule][index];
            let value = match elem {
                Elem::Char(v) | Elem::CharNot(v) | Elem::CharAlt(v) => Some(v),
                _ => None,
            };
            if let (Some(low), Elem::RangeUpper(high)) = (value, self.rules[rule][index + 1]) {
                found = found || (low <= chr && chr <= high);
                index += 2;
            } else if elem == Elem::Any {
                found = true;
                index += 1;
            } else {
                found = found || value == Some(chr);
                index += 1;
            }
            if !matches!(self.rules[rule][index], Elem::CharAlt(_)) {
                break;
            }
        }
        (found == positive, index)
    }

    /// Runs the sampler's acceptance over `text`, one character at a time.
    pub(crate) fn matches(&self, text: &str) -> Match {
        let mut stacks = Vec::new();
        for start in self.alternatives(self.root) {
            let mut stack = Vec::new();
            if !is_end_of_sequence(self.elem((self.root, start))) {
                stack.push((self.root, start));
            }
            self.advance(stack, &mut stacks);
        }
        let mut max_stacks = stacks.len();
        for c in text.chars() {
            let mut next = Vec::new();
            for stack in &stacks {
                let Some(&top) = stack.last() else { continue };
                let (ok, after) = self.match_char(top, c as u32);
                if ok {
                    let mut new_stack: Stack = stack[..stack.len() - 1].to_vec();
                    if !is_end_of_sequence(self.elem((top.0, after))) {
                        new_stack.push((top.0, after));
                    }
                    self.advance(new_stack, &mut next);
                }
            }
            stacks = next;
            max_stacks = max_stacks.max(stacks.len());
            if stacks.is_empty() {
                break;
            }
        }
        Match {
            accepted: stacks.iter().any(Vec::is_empty),
            max_stacks,
        }
    }
}
