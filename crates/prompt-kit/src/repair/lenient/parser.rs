//! The lenient parser: one pass over the text with an explicit stack (no recursion),
//! building the value as it goes.
//!
//! It starts at an opening `{` or `[` and returns as soon as that value closes, so
//! anything after it is ignored. Where it meets the end of the text, or something it
//! cannot make sense of, it stops there and closes every open string, object and
//! array; an object key left without a value is dropped.

use serde_json::{Map, Value};

use super::scalars::{read_bare_value, read_string};

/// Nesting deeper than this is refused (as `serde_json` refuses it), which also
/// keeps dropping and printing the value well within the stack.
pub(super) const MAX_DEPTH: usize = 128;

/// An object or array still open.
enum Open {
    Object {
        members: Map<String, Value>,
        /// A key read, waiting for its value.
        key: Option<String>,
    },
    Array(Vec<Value>),
}

/// What the parser expects next.
#[derive(Clone, Copy)]
enum Expect {
    /// A value (after `:`, or an array element).
    Value,
    /// An object key, or `}`.
    KeyOrClose,
    /// The `:` after a key.
    Colon,
    /// An array element, or `]`.
    ElementOrClose,
    /// `,` or the closing bracket, after a member or element.
    CommaOrClose,
}

/// How the text ended for the parser.
enum Ending {
    /// The outermost value closed with its own bracket.
    Closed(Value),
    /// The text ran out, or could not be read further, with values still open.
    Cut,
}

/// Parses the object or array whose opening bracket is at byte `start` of `text`.
/// `None` when nesting goes past [`MAX_DEPTH`], or when the text was cut before
/// anything at all was read into the outermost value.
pub(super) fn parse_from(text: &str, start: usize) -> Option<Value> {
    if !matches!(text.as_bytes().get(start), Some(b'{' | b'[')) {
        return None;
    }
    let mut parser = Parser {
        text,
        pos: start,
        stack: Vec::new(),
    };
    match parser.run()? {
        Ending::Closed(value) => Some(value),
        Ending::Cut => parser
            .close_all()
            .filter(|value| !is_empty_container(value)),
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(members) => members.is_empty(),
        Value::Array(elements) => elements.is_empty(),
        _ => false,
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    stack: Vec<Open>,
}

impl Parser<'_> {
    /// Runs until the outermost value closes or the text is cut; `None` when nesting
    /// is too deep.
    fn run(&mut self) -> Option<Ending> {
        let bytes = self.text.as_bytes();
        let mut expect = Expect::Value;
        loop {
            self.skip_whitespace();
            let Some(&byte) = bytes.get(self.pos) else {
                return Some(Ending::Cut);
            };
            expect = match expect {
                Expect::Value => match byte {
                    b'{' | b'[' => {
                        if self.stack.len() >= MAX_DEPTH {
                            return None;
                        }
                        self.pos += 1;
                        if byte == b'{' {
                            self.stack.push(Open::Object {
                                members: Map::new(),
                                key: None,
                            });
                            Expect::KeyOrClose
                        } else {
                            self.stack.push(Open::Array(Vec::new()));
                            Expect::ElementOrClose
                        }
                    }
                    b'"' | b'\'' => {
                        let literal = read_string(self.text, self.pos + 1, byte);
                        self.pos = literal.end;
                        self.add_value(Value::String(literal.text))
                    }
                    // A missing value: `{"a": }` or `{"a": , …}`; the key is dropped.
                    b'}' | b']' | b',' => {
                        self.drop_pending_key();
                        Expect::CommaOrClose
                    }
                    b':' => return Some(Ending::Cut),
                    _ => match read_bare_value(self.text, self.pos) {
                        Some(bare) => {
                            self.pos = bare.end;
                            self.add_value(bare.value)
                        }
                        None => return Some(Ending::Cut),
                    },
                },
                Expect::KeyOrClose => match byte {
                    b'}' | b']' => match self.close_top() {
                        Some(value) => return Some(Ending::Closed(value)),
                        None => Expect::CommaOrClose,
                    },
                    b',' => {
                        self.pos += 1;
                        Expect::KeyOrClose
                    }
                    b'"' | b'\'' => {
                        let literal = read_string(self.text, self.pos + 1, byte);
                        self.pos = literal.end;
                        self.set_key(literal.text);
                        Expect::Colon
                    }
                    _ => {
                        let end = self.bare_key_end();
                        if end == self.pos {
                            return Some(Ending::Cut);
                        }
                        let key = self.text[self.pos..end].to_owned();
                        self.pos = end;
                        self.set_key(key);
                        Expect::Colon
                    }
                },
                Expect::Colon => {
                    if byte != b':' {
                        return Some(Ending::Cut);
                    }
                    self.pos += 1;
                    Expect::Value
                }
                Expect::ElementOrClose => match byte {
                    b']' | b'}' => match self.close_top() {
                        Some(value) => return Some(Ending::Closed(value)),
                        None => Expect::CommaOrClose,
                    },
                    b',' => {
                        self.pos += 1;
                        Expect::ElementOrClose
                    }
                    _ => Expect::Value,
                },
                Expect::CommaOrClose => match byte {
                    b',' => {
                        self.pos += 1;
                        self.after_comma()
                    }
                    // A closing bracket closes the innermost value even when it is
                    // the other kind (`{"a": [1, 2}, "b": 3}`: a `]` was meant).
                    b'}' | b']' => match self.close_top() {
                        Some(value) => return Some(Ending::Closed(value)),
                        None => Expect::CommaOrClose,
                    },
                    // A missing comma before the next key or element.
                    b'"' | b'\'' => self.after_comma(),
                    b'{' | b'[' if matches!(self.stack.last(), Some(Open::Array(_))) => {
                        Expect::ElementOrClose
                    }
                    _ => return Some(Ending::Cut),
                },
            };
        }
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Where an unquoted key (`{function: …}`) ends.
    fn bare_key_end(&self) -> usize {
        let rest = &self.text[self.pos..];
        let length = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '.')))
            .unwrap_or(rest.len());
        self.pos + length
    }

    /// What follows a comma in the innermost value.
    fn after_comma(&self) -> Expect {
        match self.stack.last() {
            Some(Open::Array(_)) => Expect::ElementOrClose,
            _ => Expect::KeyOrClose,
        }
    }

    fn set_key(&mut self, new_key: String) {
        if let Some(Open::Object { key, .. }) = self.stack.last_mut() {
            *key = Some(new_key);
        }
    }

    fn drop_pending_key(&mut self) {
        if let Some(Open::Object { key, .. }) = self.stack.last_mut() {
            *key = None;
        }
    }

    /// Puts a finished value into the innermost open one.
    fn add_value(&mut self, value: Value) -> Expect {
        match self.stack.last_mut() {
            Some(Open::Object { members, key }) => {
                if let Some(key) = key.take() {
                    members.insert(key, value);
                }
            }
            Some(Open::Array(elements)) => elements.push(value),
            None => {}
        }
        Expect::CommaOrClose
    }

    /// Consumes the closing bracket and closes the innermost value; the finished
    /// outermost value when that was the last one open.
    fn close_top(&mut self) -> Option<Value> {
        self.pos += 1;
        self.pop_top()
    }

    /// Closes the innermost value; the finished outermost value when that was the
    /// last one open.
    fn pop_top(&mut self) -> Option<Value> {
        let value = match self.stack.pop()? {
            Open::Object { members, .. } => Value::Object(members),
            Open::Array(elements) => Value::Array(elements),
        };
        if self.stack.is_empty() {
            return Some(value);
        }
        self.add_value(value);
        None
    }

    /// Closes every open value, innermost first (a key waiting for a value is
    /// dropped); the outermost value.
    fn close_all(&mut self) -> Option<Value> {
        self.drop_pending_key();
        loop {
            if let Some(value) = self.pop_top() {
                return Some(value);
            }
            if self.stack.is_empty() {
                return None;
            }
            self.drop_pending_key();
        }
    }
}
