//! The fast path of [`redumps`](super::redumps): JSON text rewritten in Python's
//! `json.dumps` layout in one pass, without building a `serde_json::Value`.
//!
//! Plain strings and short integers are copied as written; other strings and numbers
//! go through `serde_json` one token at a time. It gives up (`None`) where a copy
//! could differ from `dumps(loads(text))`: a repeated key (the value would move), a
//! key with escapes, very deep nesting, anything `serde_json` refuses.

use super::cursor::{plain_run, Cursor, MAX_DEPTH};
use super::Field;

/// The most keys the objects being written may have together on the fast path
/// (repeats are looked for by comparing every pair).
const MAX_KEYS: usize = 64;

/// Spaces for indentation, copied a slice at a time.
pub(super) const SPACES: &str = "                                                                ";

/// `dumps(loads(text), indent)`, or `None` to take the exact path.
pub(super) fn redump(text: &str, indent: Option<usize>) -> Option<String> {
    let mut writer = Redumper {
        cursor: Cursor::new(text),
        out: String::with_capacity(text.len() + text.len() / 2 + 16),
        indent,
        keys: [""; MAX_KEYS],
        key_count: 0,
    };
    writer.value(0)?;
    writer.cursor.at_end().then_some(writer.out)
}

/// `dumps` of an object made of `fields` (see [`Field`](super::Field)), or `None` to
/// take the exact path.
pub(super) fn redump_fields<'a>(
    fields: &[(&'a str, Field<'a>)],
    indent: Option<usize>,
) -> Option<String> {
    let mut writer = Redumper {
        cursor: Cursor::new(""),
        out: String::with_capacity(256),
        indent,
        keys: [""; MAX_KEYS],
        key_count: 0,
    };
    writer.object_with(0, fields, None)?;
    Some(writer.out)
}

/// Appends `text` as a JSON string literal, escaped as `serde_json` (and Python's
/// `json.dumps` with `ensure_ascii=False`) escape it.
pub(super) fn push_escaped(out: &mut String, text: &str) {
    out.push('"');
    let mut rest = text;
    loop {
        let run = plain_run(rest.as_bytes());
        out.push_str(rest.get(..run).unwrap_or_default());
        let Some(special) = rest.as_bytes().get(run).copied() else {
            break;
        };
        match special {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            other => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(other >> 4)]));
                out.push(char::from(HEX[usize::from(other & 0xf)]));
            }
        }
        rest = rest.get(run + 1..).unwrap_or_default();
    }
    out.push('"');
}

/// Appends a line feed and `width` spaces (`level` × `indent`), or nothing without
/// an indent: where Python's `json.dumps` starts an item or closes a container.
pub(super) fn push_newline(out: &mut String, indent: Option<usize>, level: usize) {
    let Some(step) = indent else {
        return;
    };
    out.push('\n');
    let mut width = level * step;
    while width > 0 {
        let chunk = width.min(SPACES.len());
        out.push_str(SPACES.get(..chunk).unwrap_or_default());
        width -= chunk;
    }
}

struct Redumper<'a> {
    cursor: Cursor<'a>,
    out: String,
    indent: Option<usize>,
    /// The keys of the objects being written, innermost last (`key_count` of them).
    keys: [&'a str; MAX_KEYS],
    key_count: usize,
}

impl<'a> Redumper<'a> {
    fn separator(&self) -> &'static str {
        if self.indent.is_some() {
            ","
        } else {
            ", "
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.cursor.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.cursor.literal(word).then(|| self.out.push_str(word))
    }

    fn string(&mut self) -> Option<()> {
        let string = self.cursor.string()?;
        if string.plain {
            self.out.push_str(string.token);
        } else {
            push_escaped(&mut self.out, &string.decode()?);
        }
        Some(())
    }

    fn number(&mut self) -> Option<()> {
        let number = self.cursor.number()?;
        if number.simple_integer {
            self.out.push_str(number.token);
        } else {
            self.out.push_str(&super::dumps(&number.value()?, None));
        }
        Some(())
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.object_with(depth, &[], Some(()))
    }

    /// Writes an object at `depth`: the `leading` members, then (with `read`) the
    /// members of the object the cursor is at.
    fn object_with(
        &mut self,
        depth: usize,
        leading: &[(&'a str, Field<'a>)],
        read: Option<()>,
    ) -> Option<()> {
        self.out.push('{');
        let base = self.key_count;
        for (key, field) in leading {
            self.key(base, depth, key, None)?;
            self.field(field, depth + 1)?;
        }
        if read.is_some() && !self.cursor.eat(b'{') {
            return None;
        }
        if read.is_some() && !self.cursor.eat(b'}') {
            loop {
                let key = self.cursor.string()?;
                if !key.plain {
                    return None;
                }
                self.key(base, depth, key.raw, Some(key.token))?;
                if !self.cursor.eat(b':') {
                    return None;
                }
                self.value(depth + 1)?;
                if self.cursor.eat(b'}') {
                    break;
                }
                if !self.cursor.eat(b',') {
                    return None;
                }
            }
        }
        if self.key_count > base {
            push_newline(&mut self.out, self.indent, depth);
        }
        self.key_count = base;
        self.out.push('}');
        Some(())
    }

    /// Writes the separator, the line break and `key` (its `token` when read as
    /// written) with `": "`; `None` when the object already has that key or too many.
    fn key(
        &mut self,
        base: usize,
        depth: usize,
        key: &'a str,
        token: Option<&'a str>,
    ) -> Option<()> {
        let earlier = self.keys.get(base..self.key_count)?;
        if earlier.contains(&key) {
            return None;
        }
        if !earlier.is_empty() {
            self.out.push_str(self.separator());
        }
        *self.keys.get_mut(self.key_count)? = key;
        self.key_count += 1;
        push_newline(&mut self.out, self.indent, depth + 1);
        match token {
            Some(token) => self.out.push_str(token),
            None => push_escaped(&mut self.out, key),
        }
        self.out.push_str(": ");
        Some(())
    }

    fn field(&mut self, field: &Field<'a>, depth: usize) -> Option<()> {
        match field {
            Field::Null => self.out.push_str("null"),
            Field::Str(text) => push_escaped(&mut self.out, text),
            Field::Object(leading, rest) => {
                let Some(rest) = rest else {
                    return self.object_with(depth, leading, None);
                };
                let outer = std::mem::replace(&mut self.cursor, Cursor::new(rest));
                self.object_with(depth, leading, Some(()))?;
                let complete = self.cursor.at_end();
                self.cursor = outer;
                return complete.then_some(());
            }
        }
        Some(())
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.cursor.eat(b'[');
        if self.cursor.eat(b']') {
            self.out.push_str("[]");
            return Some(());
        }
        self.out.push('[');
        let mut first = true;
        loop {
            if !first {
                self.out.push_str(self.separator());
            }
            first = false;
            push_newline(&mut self.out, self.indent, depth + 1);
            self.value(depth + 1)?;
            if self.cursor.eat(b']') {
                break;
            }
            if !self.cursor.eat(b',') {
                return None;
            }
        }
        push_newline(&mut self.out, self.indent, depth);
        self.out.push(']');
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts the fast path must write exactly as `dumps(loads(…))`, or leave to it.
    const SAMPLES: [&str; 16] = [
        r#"{"a": [1, -2, 3.5, 1e5, -0, 1E40, 18446744073709551616], "b": {}, "c": []}"#,
        r#" {"z": 1, "a": {"k": [true, false, null, [], {}]}} "#,
        r#"{"z": 1, "a": 2, "z": 3}"#,
        r#"["\u00e9\ud83c\udf1e", "tab\there", "slash\/", "q\"uote", "ctrl"]"#,
        r#"{"k\u0065y": 1}"#,
        r#"{"a": "unterminated}"#,
        r#"{"a": 1,}"#,
        r#"[1 2]"#,
        r#""\ud800""#,
        r#"[0.1, 1.0, 100.0, 1e-7, 12345678901234567890]"#,
        "{\"a\": \"line\nfeed\"}",
        r#""""#,
        r#"{"":""}"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        "\t\r\n 7 \n",
        r#"{"type": "user_message", "message": "héllo 🌞", "nested": {"list": [1, {"x": "y"}]}}"#,
    ];

    #[test]
    fn writes_like_dumps_of_loads_or_gives_up() {
        for indent in [None, Some(2), Some(4), Some(0)] {
            for sample in SAMPLES {
                let exact = super::super::loads_exact(sample)
                    .ok()
                    .map(|value| super::super::dumps(&value, indent));
                if let Some(fast) = redump(sample, indent) {
                    assert_eq!(Some(fast), exact, "{sample} {indent:?}");
                }
            }
        }
        assert!(redump(SAMPLES[0], Some(2)).is_some());
        assert!(redump(SAMPLES[3], Some(2)).is_some());
        assert!(redump(SAMPLES[15], Some(2)).is_some());
        assert!(redump(SAMPLES[2], Some(2)).is_none());
    }

    #[test]
    fn escapes_match_serde_json() {
        for text in [
            "",
            "plain",
            "q\"b\\s",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "é🌞\u{1b}x",
        ] {
            let mut out = String::new();
            push_escaped(&mut out, text);
            assert_eq!(Some(out), serde_json::to_string(text).ok(), "{text:?}");
        }
    }

    #[test]
    fn fields_write_like_dumps_of_the_object_or_give_up() {
        use serde_json::{json, Value};
        let slow = |thoughts: Value, arguments: &str, indent| {
            let mut params = serde_json::Map::new();
            params.insert("inner_thoughts".to_owned(), thoughts);
            let arguments = super::super::loads_exact(arguments).ok()?;
            params.extend(arguments.as_object()?.clone());
            let value = json!({"function": "f\"n", "params": params});
            Some(super::super::dumps(&value, indent))
        };
        let cases = [
            (
                Field::Str("think \"hard\"\n"),
                r#"{"message": "hi", "n": [1, {}]}"#,
            ),
            (Field::Null, "{}"),
            (Field::Str(""), r#" { "a" : { "b" : [ ] } } "#),
            (Field::Null, r#"{"inner_thoughts": "moved"}"#),
            (Field::Null, r#"{"a": 1, "a": 2}"#),
            (Field::Null, "[1]"),
            (Field::Null, "{} x"),
        ];
        for indent in [None, Some(2)] {
            for (thoughts, arguments) in cases {
                let leading = [("inner_thoughts", thoughts)];
                let fields = [
                    ("function", Field::Str("f\"n")),
                    ("params", Field::Object(&leading, Some(arguments))),
                ];
                let thoughts = match thoughts {
                    Field::Str(text) => json!(text),
                    _ => Value::Null,
                };
                if let Some(fast) = redump_fields(&fields, indent) {
                    assert_eq!(Some(fast), slow(thoughts, arguments, indent), "{arguments}");
                }
            }
        }
        let leading = [("inner_thoughts", Field::Null)];
        let fields = [(
            "params",
            Field::Object(&leading, Some(r#"{"inner_thoughts": 1}"#)),
        )];
        assert_eq!(redump_fields(&fields, Some(2)), None);
        let fields = [("params", Field::Object(&leading, Some("[]")))];
        assert_eq!(redump_fields(&fields, Some(2)), None);
        let fields = [("a", Field::Object(&[], None)), ("b", Field::Null)];
        assert_eq!(
            redump_fields(&fields, Some(2)).as_deref(),
            Some("{\n  \"a\": {},\n  \"b\": null\n}")
        );
    }

    #[test]
    fn deep_indents_are_written_in_full() {
        let mut out = String::new();
        push_newline(&mut out, Some(50), 3);
        assert_eq!(out.len(), 151);
        push_newline(&mut out, None, 3);
        assert_eq!(out.len(), 151);
    }
}
