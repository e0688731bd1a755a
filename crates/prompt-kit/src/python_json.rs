//! JSON text exactly as the reference implementation (Python's `json` module) writes
//! and reads it.
//!
//! Prompts embed JSON (function calls, user events, function results) and local models
//! are sensitive to every byte of their prompt, so this module reproduces
//! `json.dumps(value, indent=…, ensure_ascii=False)`: `", "`/`": "` separators without
//! an indent, `","`/`": "` with one, non-ASCII text written as is, and floats in
//! Python's `repr` form (`1.0`, `1e-05`, `1e+16`). Key order is preserved.
//!
//! [`loads`] mirrors `json.loads(text, strict=False)`, which accepts raw control
//! characters (such as line feeds) inside strings.

mod cursor;
#[cfg(test)]
mod properties;
mod redump;
mod value_reader;

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::Value;

/// Serializes `value` like Python's `json.dumps(value, indent=indent, ensure_ascii=False)`.
pub fn dumps(value: &Value, indent: Option<usize>) -> String {
    let mut out = Vec::with_capacity(128);
    let formatter = PythonFormatter::new(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match value.serialize(&mut serializer) {
        // Writing into a Vec cannot fail and serde_json only emits UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// `json.dumps(value, indent=2, ensure_ascii=False)`: the form MemGPT's `json_dumps` uses.
pub fn dumps_indented(value: &Value) -> String {
    dumps(value, Some(2))
}

/// Parses JSON like Python's `json.loads(text, strict=False)`: raw control characters
/// inside strings are accepted (they are escaped before parsing).
pub fn loads(text: &str) -> Result<Value, serde_json::Error> {
    match value_reader::read_value(text) {
        Ok(value) => Ok(value),
        Err(_) => loads_exact(text),
    }
}

/// `loads(text).ok()`, cheaper on text that is not JSON: the error is not built.
pub fn loads_ok(text: &str) -> Option<Value> {
    match value_reader::read_value(text) {
        Ok(value) => Some(value),
        Err(value_reader::Unread::Invalid) => None,
        Err(value_reader::Unread::Unsupported) => loads_exact(text).ok(),
    }
}

/// `dumps(loads(text), indent)`: JSON text rewritten in Python's layout, or `None`
/// when `text` is not JSON for [`loads`]. Usually done in one pass over the text,
/// without building a [`Value`].
pub fn redumps(text: &str, indent: Option<usize>) -> Option<String> {
    redump::redump(text, indent)
        .or_else(|| loads_exact(text).ok().map(|value| dumps(&value, indent)))
}

/// A member value for [`dumps_fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// `null`.
    Null,
    /// A string.
    Str(&'a str),
    /// An object: these members, then those of the JSON object text, if any (read as
    /// [`loads`] reads it).
    Object(&'a [(&'a str, Field<'a>)], Option<&'a str>),
}

/// `dumps` of the object made of `fields`, in order, written without building a
/// [`Value`]. `None` when a [`Field::Object`]'s text is not a JSON object, or when
/// the fast writer cannot vouch for an exact copy (a key repeated, a key with
/// escapes, …): build the [`Value`] and use [`dumps`] then.
pub fn dumps_fields<'a>(fields: &[(&'a str, Field<'a>)], indent: Option<usize>) -> Option<String> {
    redump::redump_fields(fields, indent)
}

/// [`loads`] without its fast path: control characters escaped, then `serde_json`.
fn loads_exact(text: &str) -> Result<Value, serde_json::Error> {
    match escape_control_characters_in_strings(text) {
        Some(escaped) => serde_json::from_str(&escaped),
        None => serde_json::from_str(text),
    }
}

/// Escapes raw control characters found inside JSON string literals. Returns `None`
/// when there is nothing to escape, so the common case costs one scan and no copy.
fn escape_control_characters_in_strings(text: &str) -> Option<String> {
    let mut in_string = false;
    let mut escaped = false;
    let mut first_control = None;
    for (index, byte) in text.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            } else if byte < 0x20 {
                first_control = Some(index);
                break;
            }
        } else if byte == b'"' {
            in_string = true;
        }
    }
    let start = first_control?;
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..start]);
    for ch in text[start..].chars() {
        if in_string {
            if escaped {
                escaped = false;
                out.push(ch);
            } else if ch == '\\' {
                escaped = true;
                out.push(ch);
            } else if ch == '"' {
                in_string = false;
                out.push(ch);
            } else if (ch as u32) < 0x20 {
                push_control_escape(&mut out, ch);
            } else {
                out.push(ch);
            }
        } else {
            if ch == '"' {
                in_string = true;
            }
            out.push(ch);
        }
    }
    Some(out)
}

fn push_control_escape(out: &mut String, ch: char) {
    match ch {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0c}' => out.push_str("\\f"),
        other => out.push_str(&format!("\\u{:04x}", other as u32)),
    }
}

/// Formats a float the way Python's `repr(float)` does.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.5e-5" or "-1e16".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = match scientific.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (scientific.as_str(), 0),
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else {
            let point = point as usize;
            if digits.len() <= point {
                format!("{}{}.0", digits, "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        };
        format!("{sign}{text}")
    } else {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{mantissa}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// A `serde_json` formatter producing Python's `json.dumps` layout.
struct PythonFormatter {
    indent: Option<usize>,
    level: usize,
    has_value: bool,
}

impl PythonFormatter {
    fn new(indent: Option<usize>) -> Self {
        PythonFormatter {
            indent,
            level: 0,
            has_value: false,
        }
    }

    fn newline_and_indent<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        if let Some(width) = self.indent {
            writer.write_all(b"\n")?;
            let mut remaining = self.level * width;
            while remaining > 0 {
                let chunk = remaining.min(redump::SPACES.len());
                writer.write_all(redump::SPACES.as_bytes().get(..chunk).unwrap_or_default())?;
                remaining -= chunk;
            }
        }
        Ok(())
    }

    fn begin_container<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        open: &[u8],
    ) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end_container<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        close: &[u8],
    ) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline_and_indent(writer)?;
        }
        writer.write_all(close)
    }

    fn begin_item<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline_and_indent(writer)
    }
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin_container(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end_container(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.begin_item(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin_container(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end_container(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.begin_item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indented_matches_python_layout() {
        let value = json!({"a": [1, 2], "b": {}, "c": [], "d": {"e": null, "f": "ü\n"}});
        assert_eq!(
            dumps(&value, Some(2)),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"e\": null,\n    \"f\": \"ü\\n\"\n  }\n}"
        );
    }

    #[test]
    fn compact_uses_python_separators() {
        let value = json!({"a": [1, true], "b": "x"});
        assert_eq!(dumps(&value, None), "{\"a\": [1, true], \"b\": \"x\"}");
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-2.25, "-2.25"),
            (123456789.125, "123456789.125"),
            (1e300, "1e+300"),
            (0.0, "0.0"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "{value}");
        }
    }

    #[test]
    fn loads_accepts_raw_line_feeds_in_strings() {
        let value = loads("{\"a\": \"line one\nline two\"}").ok();
        assert_eq!(value, Some(json!({"a": "line one\nline two"})));
    }

    #[test]
    fn loads_preserves_key_order() {
        let value = loads("{\"z\": 1, \"a\": 2}").unwrap_or_default();
        assert_eq!(dumps(&value, None), "{\"z\": 1, \"a\": 2}");
    }
}
