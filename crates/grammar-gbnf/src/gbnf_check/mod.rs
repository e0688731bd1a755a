//! Test support: a GBNF checker that follows llama.cpp's `llama-grammar.cpp` step by
//! step: its parser (one rule a line, the same escapes, `( )` groups and repetitions
//! rewritten into helper rules), its checks (undefined rules, a missing `root`, left
//! recursion) and its pushdown-stack matcher, which also reports how many stacks the
//! sampler would track (a measure of ambiguity).

mod matcher;
mod parser;

use std::collections::HashMap;

use parser::Parser;

/// One element of a compiled rule (llama.cpp's `llama_grammar_element`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Elem {
    End,
    Alt,
    RuleRef(usize),
    Char(u32),
    CharNot(u32),
    CharAlt(u32),
    RangeUpper(u32),
    Any,
}

/// A parsed grammar.
#[derive(Debug)]
pub(crate) struct Grammar {
    pub(crate) rules: Vec<Vec<Elem>>,
    pub(crate) root: usize,
}

/// The outcome of matching a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    /// Whether the whole text is a sentence of the grammar.
    pub(crate) accepted: bool,
    /// The most parse stacks alive at once.
    pub(crate) max_stacks: usize,
}

pub(crate) fn is_end_of_sequence(elem: Elem) -> bool {
    matches!(elem, Elem::End | Elem::Alt)
}

/// Parses and checks `text` as llama.cpp's server would (root rule `root`).
pub(crate) fn parse(text: &str) -> Result<Grammar, String> {
    let mut parser = Parser {
        src: text.chars().collect(),
        symbols: HashMap::new(),
        rules: Vec::new(),
    };
    let mut pos = parser.parse_space(0, true);
    while parser.at(pos) != '\0' {
        pos = parser.parse_rule(pos)?;
    }
    let names: HashMap<usize, String> = parser
        .symbols
        .iter()
        .map(|(name, id)| (*id, name.clone()))
        .collect();
    if parser.rules.len() < parser.symbols.len() {
        parser.rules.resize(parser.symbols.len(), Vec::new());
    }
    for (id, rule) in parser.rules.iter().enumerate() {
        if rule.is_empty() {
            return Err(format!("undefined rule identifier '{}'", names[&id]));
        }
    }
    let root = *parser
        .symbols
        .get("root")
        .ok_or("grammar does not contain a 'root' symbol")?;
    let grammar = Grammar {
        rules: parser.rules,
        root,
    };
    let count = grammar.rules.len();
    let (mut visited, mut in_progress, mut may_be_empty) =
        (vec![false; count], vec![false; count], vec![false; count]);
    for id in 0..count {
        if !visited[id]
            && grammar.left_recursive(id, &mut visited, &mut in_progress, &mut may_be_empty)
        {
            return Err(format!("left recursion detected for '{}'", names[&id]));
        }
    }
    Ok(grammar)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_checker_follows_llama_cpp_syntax() {
        let grammar = parse("root ::= \"a\" [b-d]+ x?\nx ::= (\"e\" | \"\\x66\"){2}\n").unwrap();
        assert!(grammar.matches("abc").accepted);
        assert!(grammar.matches("abdef").accepted);
        assert!(!grammar.matches("abde").accepted);
        assert!(!grammar.matches("a").accepted);
        assert!(parse("root ::= x\n").is_err(), "undefined rule");
        assert!(parse("a ::= \"x\"\n").is_err(), "no root");
        assert!(
            parse("root ::= root \"x\" | \"y\"\n").is_err(),
            "left recursion"
        );
        assert!(
            parse("root ::= \"x\"\n| \"y\"\n").is_err(),
            "a rule ends at a newline"
        );
        assert!(parse("root ::= \"\\q\"\n").is_err(), "unknown escape");
        assert!(parse("root ::= [^\"\\\\\\x7F\\x00-\\x1F]\n").is_ok());
        let negated = parse("root ::= [^a-c]\n").unwrap();
        assert!(negated.matches("d").accepted);
        assert!(!negated.matches("b").accepted);
    }
}
