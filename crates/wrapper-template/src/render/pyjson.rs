//! The `tojson` filter as transformers defines it: Python's
//! `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`,
//! byte for byte (`", "` and `": "` separators, non-ASCII kept, no HTML escaping, keys
//! in insertion order), instead of minijinja's own filter.

use std::fmt::Write as _;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind};
use prompt_kit::python_json::python_float_repr;

/// How `json.dumps` lays the text out.
struct Layout {
    ensure_ascii: bool,
    /// The indent unit; `None`: everything on one line.
    indent: Option<String>,
    item_separator: String,
    key_separator: String,
    sort_keys: bool,
}

/// The filter: `value|tojson`, `value|tojson(indent=4)`, `value|tojson(true, 2)`, …
/// (positional arguments in Python's order: `ensure_ascii, indent, separators,
/// sort_keys`).
pub fn tojson(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    const NAMES: [&str; 4] = ["ensure_ascii", "indent", "separators", "sort_keys"];
    if args.len() > NAMES.len() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson() takes at most 4 arguments (ensure_ascii, indent, separators, sort_keys)",
        ));
    }
    let mut given: [Option<Value>; 4] = Default::default();
    for (slot, arg) in given.iter_mut().zip(args.iter()) {
        *slot = Some(arg.clone());
    }
    for (slot, name) in given.iter_mut().zip(NAMES) {
        if let Some(arg) = kwargs.get::<Option<Value>>(name)? {
            if slot.is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson() got multiple values for argument '{name}'"),
                ));
            }
            *slot = Some(arg);
        }
    }
    kwargs.assert_all_used()?;
    let [ensure_ascii, indent, separators, sort_keys] = given;
    let is_set = |arg: &Option<Value>| {
        arg.as_ref()
            .is_some_and(|v| !v.is_none() && !v.is_undefined())
    };
    let indent = match indent {
        Some(indent) if is_set(&Some(indent.clone())) => Some(indent_unit(&indent)?),
        _ => None,
    };
    let (item_separator, key_separator) = match separators {
        Some(separators) if is_set(&Some(separators.clone())) => separator_pair(&separators)?,
        _ if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        _ => (", ".to_owned(), ": ".to_owned()),
    };
    let layout = Layout {
        ensure_ascii: ensure_ascii.is_some_and(|v| v.is_true()),
        indent,
        item_separator,
        key_separator,
        sort_keys: sort_keys.is_some_and(|v| v.is_true()),
    };
    let mut out = String::new();
    write_value(&mut out, value, &layout, 0)?;
    Ok(Value::from(out))
}

/// `json.dumps`'s indent: a number of spaces (0 or less: new lines only) or a string.
fn indent_unit(indent: &Value) -> Result<String, Error> {
    if let Some(text) = indent.as_str() {
        return Ok(text.to_owned());
    }
    match indent.as_i64() {
        Some(spaces) => Ok(" ".repeat(usize::try_from(spaces).unwrap_or(0))),
        None => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: indent must be an integer or a string, not {indent}"),
        )),
    }
}

/// `json.dumps`'s `separators`: a pair of strings (item separator, key separator).
fn separator_pair(separators: &Value) -> Result<(String, String), Error> {
    let items: Vec<Value> = separators.try_iter()?.collect();
    match items.as_slice() {
        [item, key] => match (item.as_str(), key.as_str()) {
            (Some(item), Some(key)) => Ok((item.to_owned(), key.to_owned())),
            _ => Err(separator_error()),
        },
        _ => Err(separator_error()),
    }
}

fn separator_error() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        "tojson: separators must be a pair of strings, e.g. (', ', ': ')",
    )
}

fn not_serializable(value: &Value) -> Error {
    let kind = match value.kind() {
        ValueKind::Undefined => "Undefined".to_owned(),
        other => other.to_string(),
    };
    Error::new(
        ErrorKind::InvalidOperation,
        format!("Object of type {kind} is not JSON serializable"),
    )
}

fn new_line(out: &mut String, layout: &Layout, depth: usize) {
    if let Some(unit) = &layout.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    }
}

fn write_value(
    out: &mut String,
    value: &Value,
    layout: &Layout,
    depth: usize,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, value),
        ValueKind::String => write_string(out, value.as_str().unwrap_or_default(), layout),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(&layout.item_separator);
                }
                new_line(out, layout, depth + 1);
                write_value(out, item, layout, depth + 1)?;
            }
            new_line(out, layout, depth);
            out.push(']');
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                entries.push((key_text(&key)?, item));
            }
            if layout.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(&layout.item_separator);
                }
                new_line(out, layout, depth + 1);
                write_string(out, key, layout);
                out.push_str(&layout.key_separator);
                write_value(out, item, layout, depth + 1)?;
            }
            new_line(out, layout, depth);
            out.push('}');
        }
        _ => return Err(not_serializable(value)),
    }
    Ok(())
}

/// A key as `json.dumps` writes it: strings as they are, numbers, booleans and `None`
/// as their JSON text.
fn key_text(key: &Value) -> Result<String, Error> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_owned()),
        ValueKind::None => Ok("null".to_owned()),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.to_owned()),
        ValueKind::Number => {
            let mut text = String::new();
            write_number(&mut text, key);
            Ok(text)
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "keys must be str, int, float, bool or None, not {}",
                key.kind()
            ),
        )),
    }
}

fn write_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
        return;
    }
    match f64::try_from(value.clone()) {
        Ok(number) if number.is_nan() => out.push_str("NaN"),
        Ok(number) if number.is_infinite() => out.push_str(if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }),
        Ok(number) => out.push_str(&python_float_repr(number)),
        Err(_) => {
            let _ = write!(out, "{value}");
        }
    }
}

/// A JSON string as Python's encoder writes it.
fn write_string(out: &mut String, text: &str, layout: &Layout) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if layout.ensure_ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
