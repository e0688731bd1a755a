//! The fast path of [`loads`](super::loads): a `serde_json::Value` read in one pass,
//! objects and arrays collected on shared stacks and built at their final size.
//!
//! It gives up (`None`) on anything it does not read exactly as `serde_json` does
//! (raw control characters in strings, refused escapes or numbers, deep nesting,
//! trailing text); the caller then takes the exact path.

use serde_json::{Map, Value};

use super::cursor::{Cursor, MAX_DEPTH};

/// Why the fast path read no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unread {
    /// The text is not JSON: `serde_json` refuses it too.
    Invalid,
    /// The text holds something the fast path leaves to the exact path.
    Unsupported,
}

/// `text` as `serde_json::from_str` reads it, or why not.
pub(super) fn read_value(text: &str) -> Result<Value, Unread> {
    let mut reader = ValueReader {
        cursor: Cursor::new(text),
        members: Vec::new(),
        items: Vec::new(),
        unsupported: false,
    };
    match reader.value(0) {
        Some(value) if reader.cursor.at_end() => Ok(value),
        _ if reader.unsupported => Err(Unread::Unsupported),
        _ => Err(Unread::Invalid),
    }
}

struct ValueReader<'a> {
    cursor: Cursor<'a>,
    /// The members of the objects being read, innermost last.
    members: Vec<(String, Value)>,
    /// The items of the arrays being read, innermost last.
    items: Vec<Value>,
    /// Set where the reader gave up on something other than a syntax error (deep
    /// nesting, a string or number left to `serde_json`).
    unsupported: bool,
}

impl ValueReader<'_> {
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            self.unsupported = true;
            return None;
        }
        match self.cursor.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Value::String),
            b't' => self.cursor.literal("true").then_some(Value::Bool(true)),
            b'f' => self.cursor.literal("false").then_some(Value::Bool(false)),
            b'n' => self.cursor.literal("null").then_some(Value::Null),
            b'-' | b'0'..=b'9' => {
                let value = self.cursor.number()?.value();
                self.unsupported |= value.is_none();
                value
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        let text = self.cursor.string()?.decode();
        self.unsupported |= text.is_none();
        text
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        self.cursor.eat(b'{');
        if self.cursor.eat(b'}') {
            return Some(Value::Object(Map::new()));
        }
        let base = self.members.len();
        loop {
            if self.cursor.peek() != Some(b'"') {
                return None;
            }
            let key = self.string()?;
            if !self.cursor.eat(b':') {
                return None;
            }
            let value = self.value(depth + 1)?;
            self.members.push((key, value));
            if self.cursor.eat(b'}') {
                break;
            }
            if !self.cursor.eat(b',') {
                return None;
            }
        }
        let mut map = Map::with_capacity(self.members.len() - base);
        // `insert` keeps a repeated key at its first place with its last value, as
        // `serde_json` (and Python's dict) do.
        for (key, value) in self.members.drain(base..) {
            map.insert(key, value);
        }
        Some(Value::Object(map))
    }

    fn array(&mut self, depth: usize) -> Option<Value> {
        self.cursor.eat(b'[');
        if self.cursor.eat(b']') {
            return Some(Value::Array(Vec::new()));
        }
        let base = self.items.len();
        loop {
            let item = self.value(depth + 1)?;
            self.items.push(item);
            if self.cursor.eat(b']') {
                break;
            }
            if !self.cursor.eat(b',') {
                return None;
            }
        }
        Some(Value::Array(self.items.drain(base..).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts the fast path must read exactly as `serde_json`, or leave to it.
    const SAMPLES: [&str; 18] = [
        r#"{"a": [1, -2, 3.5, 1e5, -0, 18446744073709551615, 18446744073709551616], "b": {}}"#,
        r#" {"z": 1, "a": {"k": [true, false, null]}, "z": 2} "#,
        r#"["\u00e9\ud83c\udf1e", "tab\there", "slash\/", "q\"uote"]"#,
        r#"{"a": "unterminated}"#,
        r#"{"a": 1,}"#,
        r#"[1 2]"#,
        r#"{"a" 1}"#,
        r#""\ud800""#,
        r#"01"#,
        r#"1.e5"#,
        r#"-"#,
        r#"[] x"#,
        r#"nul"#,
        r#"{"a": "line
feed"}"#,
        r#""""#,
        r#"{"":""}"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        "\t\r\n 7 \n",
    ];

    #[test]
    fn reads_like_serde_json_or_gives_up() {
        for sample in SAMPLES {
            let exact = super::super::loads_exact(sample).ok();
            if let Ok(value) = read_value(sample) {
                assert_eq!(Some(&value), exact.as_ref(), "{sample}");
                let order = |v: &Value| super::super::dumps(v, None);
                assert_eq!(order(&value), exact.as_ref().map(order).unwrap_or_default());
            }
        }
        assert!(read_value(SAMPLES[0]).is_ok());
        assert!(read_value(SAMPLES[1]).is_ok());
        assert!(read_value(SAMPLES[2]).is_ok());
        assert_eq!(read_value(SAMPLES[4]).err(), Some(Unread::Invalid));
        assert_eq!(read_value(SAMPLES[16]).err(), Some(Unread::Unsupported));
    }

    #[test]
    fn only_what_serde_json_refuses_is_invalid() {
        for sample in SAMPLES {
            if read_value(sample).err() == Some(Unread::Invalid) {
                assert!(super::super::loads_exact(sample).is_err(), "{sample}");
            }
        }
    }
}
