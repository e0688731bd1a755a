//! llama.cpp's grammar parser (`llama_grammar_parser`), step by step.

use std::collections::HashMap;

use super::Elem;

pub(crate) struct Parser {
    pub(crate) src: Vec<char>,
    pub(crate) symbols: HashMap<String, usize>,
    pub(crate) rules: Vec<Vec<Elem>>,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

impl Parser {
    pub(crate) fn at(&self, pos: usize) -> char {
        self.src.get(pos).copied().unwrap_or('\0')
    }

    fn symbol_id(&mut self, name: &str) -> usize {
        let next = self.symbols.len();
        *self.symbols.entry(name.to_owned()).or_insert(next)
    }

    fn generate_symbol_id(&mut self, base: &str) -> usize {
        let next = self.symbols.len();
        self.symbols.insert(format!("{base}_{next}"), next);
        next
    }

    fn add_rule(&mut self, id: usize, rule: Vec<Elem>) {
        if self.rules.len() <= id {
            self.rules.resize(id + 1, Vec::new());
        }
        self.rules[id] = rule;
    }

    pub(crate) fn parse_space(&self, mut pos: usize, newline_ok: bool) -> usize {
        loop {
            match self.at(pos) {
                ' ' | '\t' => pos += 1,
                '\r' | '\n' if newline_ok => pos += 1,
                '#' => {
                    while !matches!(self.at(pos), '\0' | '\r' | '\n') {
                        pos += 1;
                    }
                }
                _ => return pos,
            }
        }
    }

    fn parse_name(&self, src: usize) -> Result<usize, String> {
        let mut pos = src;
        while is_word_char(self.at(pos)) {
            pos += 1;
        }
        if pos == src {
            return Err(format!("expecting name at {src}"));
        }
        Ok(pos)
    }

    fn parse_hex(&self, src: usize, size: usize) -> Result<(u32, usize), String> {
        let mut value = 0_u32;
        for pos in src..src + size {
            let digit = self
                .at(pos)
                .to_digit(16)
                .ok_or(format!("expecting {size} hex chars at {src}"))?;
            value = (value << 4) + digit;
        }
        Ok((value, src + size))
    }

    fn parse_char(&self, pos: usize) -> Result<(u32, usize), String> {
        match self.at(pos) {
            '\\' => match self.at(pos + 1) {
                'x' => self.parse_hex(pos + 2, 2),
                'u' => self.parse_hex(pos + 2, 4),
                'U' => self.parse_hex(pos + 2, 8),
                't' => Ok(('\t' as u32, pos + 2)),
                'r' => Ok(('\r' as u32, pos + 2)),
                'n' => Ok(('\n' as u32, pos + 2)),
                c @ ('\\' | '"' | '[' | ']' | '-') => Ok((c as u32, pos + 2)),
                _ => Err(format!("unknown escape at {pos}")),
            },
            '\0' => Err("unexpected end of input".to_owned()),
            c => Ok((c as u32, pos + 1)),
        }
    }

    fn parse_sequence(
        &mut self,
        src: usize,
        rule_name: &str,
        rule: &mut Vec<Elem>,
        is_nested: bool,
    ) -> Result<usize, String> {
        let mut last_sym_start = rule.len();
        let mut pos = src;
        while self.at(pos) != '\0' {
            let c = self.at(pos);
            if c == '"' {
                pos += 1;
                last_sym_start = rule.len();
                while self.at(pos) != '"' {
                    let (chr, next) = self.parse_char(pos)?;
                    pos = next;
                    rule.push(Elem::Char(chr));
                }
                pos = self.parse_space(pos + 1, is_nested);
            } else if c == '[' {
                pos += 1;
                let negated = self.at(pos) == '^';
                if negated {
                    pos += 1;
                }
                last_sym_start = rule.len();
                while self.at(pos) != ']' {
                    let (chr, next) = self.parse_char(pos)?;
                    pos = next;
                    rule.push(if last_sym_start < rule.len() {
                        Elem::CharAlt(chr)
                    } else if negated {
                        Elem::CharNot(chr)
                    } else {
                        Elem::Char(chr)
                    });
                    if self.at(pos) == '-' && self.at(pos + 1) != ']' {
                        let (upper, next) = self.parse_char(pos + 1)?;
                        pos = next;
                        rule.push(Elem::RangeUpper(upper));
                    }
                }
                pos = self.parse_space(pos + 1, is_nested);
            } else if is_word_char(c) {
                let end = self.parse_name(pos)?;
                let name: String = self.src[pos..end].iter().collect();
                let id = self.symbol_id(&name);
                pos = self.parse_space(end, is_nested);
                last_sym_start = rule.len();
                rule.push(Elem::RuleRef(id));
            } else if c == '(' {
                pos = self.parse_space(pos + 1, true);
                let sub = self.generate_symbol_id(rule_name);
                pos = self.parse_alternates(pos, rule_name, sub, true)?;
                last_sym_start = rule.len();
                rule.push(Elem::RuleRef(sub));
                if self.at(pos) != ')' {
                    return Err(format!("expecting ')' at {pos}"));
                }
                pos = self.parse_space(pos + 1, is_nested);
            } else if c == '.' {
                last_sym_start = rule.len();
                rule.push(Elem::Any);
                pos = self.parse_space(pos + 1, is_nested);
            } else if matches!(c, '*' | '+' | '?') {
                pos = self.parse_space(pos + 1, is_nested);
                let (min, max) = match c {
                    '*' => (0, None),
                    '+' => (1, None),
                    _ => (0, Some(1)),
                };
                self.repeat(rule, last_sym_start, rule_name, min, max, pos)?;
            } else if c == '{' {
                pos = self.parse_space(pos + 1, is_nested);
                let end = self.parse_digits(pos)?;
                let min: usize = self.src[pos..end]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|_| "int")?;
                pos = self.parse_space(end, is_nested);
                let max = if self.at(pos) == '}' {
                    pos = self.parse_space(pos + 1, is_nested);
                    Some(min)
                } else if self.at(pos) == ',' {
                    pos = self.parse_space(pos + 1, is_nested);
                    let mut max = None;
                    if self.at(pos).is_ascii_digit() {
                        let end = self.parse_digits(pos)?;
                        max = Some(
                            self.src[pos..end]
                                .iter()
                                .collect::<String>()
                                .parse()
                                .map_err(|_| "int")?,
                        );
                        pos = self.parse_space(end, is_nested);
                    }
                    if self.at(pos) != '}' {
                        return Err(format!("expecting '}}' at {pos}"));
                    }
                    pos = self.parse_space(pos + 1, is_nested);
                    max
                } else {
                    return Err(format!("expecting ',' at {pos}"));
                };
                self.repeat(rule, last_sym_start, rule_name, min, max, pos)?;
            } else {
                break;
            }
        }
        Ok(pos)
    }

    fn parse_digits(&self, src: usize) -> Result<usize, String> {
        let mut pos = src;
        while self.at(pos).is_ascii_digit() {
            pos += 1;
        }
        if pos == src {
            return Err(format!("expecting integer at {src}"));
        }
        Ok(pos)
    }

    /// llama.cpp's `handle_repetitions`: `S{m,n}` becomes `S` m times and helper rules
    /// `S' ::= S S'' |`.
    fn repeat(
        &mut self,
        rule: &mut Vec<Elem>,
        last_sym_start: usize,
        rule_name: &str,
        min: usize,
        max: Option<usize>,
        pos: usize,
    ) -> Result<(), String> {
        if last_sym_start == rule.len() {
            return Err(format!("expecting preceding item to */+/?/{{ at {pos}"));
        }
        let previous: Vec<Elem> = rule[last_sym_start..].to_vec();
        if min == 0 {
            rule.truncate(last_sym_start);
        } else {
            for _ in 1..min {
                rule.extend_from_slice(&previous);
            }
        }
        let optional_count = max.map_or(1, |max| max - min);
        let mut last_rec = 0;
        for i in 0..optional_count {
            let mut rec = previous.clone();
            let id = self.generate_symbol_id(rule_name);
            if i > 0 || max.is_none() {
                rec.push(Elem::RuleRef(if max.is_none() { id } else { last_rec }));
            }
            rec.push(Elem::Alt);
            rec.push(Elem::End);
            self.add_rule(id, rec);
            last_rec = id;
        }
        if optional_count > 0 {
            rule.push(Elem::RuleRef(last_rec));
        }
        Ok(())
    }

    fn parse_alternates(
        &mut self,
        src: usize,
        rule_name: &str,
        id: usize,
        is_nested: bool,
    ) -> Result<usize, String> {
        let mut rule = Vec::new();
        let mut pos = self.parse_sequence(src, rule_name, &mut rule, is_nested)?;
        while self.at(pos) == '|' {
            rule.push(Elem::Alt);
            pos = self.parse_space(pos + 1, true);
            pos = self.parse_sequence(pos, rule_name, &mut rule, is_nested)?;
        }
        rule.push(Elem::End);
        self.add_rule(id, rule);
        Ok(pos)
    }

    pub(crate) fn parse_rule(&mut self, src: usize) -> Result<usize, String> {
        let name_end = self.parse_name(src)?;
        let mut pos = self.parse_space(name_end, false);
        let name: String = self.src[src..name_end].iter().collect();
        let id = self.symbol_id(&name);
        if !(self.at(pos) == ':' && self.at(pos + 1) == ':' && self.at(pos + 2) == '=') {
            return Err(format!("expecting ::= at {pos} (rule {name})"));
        }
        pos = self.parse_space(pos + 3, true);
        pos = self.parse_alternates(pos, &name, id, false)?;
        match self.at(pos) {
            '\r' => pos += if self.at(pos + 1) == '\n' { 2 } else { 1 },
            '\n' => pos += 1,
            '\0' => {}
            _ => return Err(format!("expecting newline or end at {pos} (rule {name})")),
        }
        Ok(self.parse_space(pos, true))
    }
}
