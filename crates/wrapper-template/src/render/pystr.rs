//! Values written as Python writes them: `{{ value }}` and `|string` are Python's
//! `str()` (`None`, `True`, `['a', 'b']`, `{'k': 1}`), and `"%s"|format(x)` is Python's
//! `%` operator. minijinja writes `none`, `true` and JSON-like lists instead.

use std::fmt::Write as _;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind, Output, State};
use prompt_kit::python_json::python_float_repr;

/// Python's `str(value)` (undefined values are the empty string, as jinja2's are).
pub fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        ValueKind::Undefined => String::new(),
        _ => py_repr(value),
    }
}

/// Python's `repr(value)`.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(out, value),
        ValueKind::String => write_quoted(out, value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(items) = value.try_iter() {
                for (index, item) in items.enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &item);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                for (index, key) in keys.enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &key);
                    out.push_str(": ");
                    write_repr(out, &value.get_item(&key).unwrap_or_default());
                }
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

fn write_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
        return;
    }
    match f64::try_from(value.clone()) {
        Ok(number) if number.is_nan() => out.push_str("nan"),
        Ok(number) if number.is_infinite() => {
            out.push_str(if number > 0.0 { "inf" } else { "-inf" })
        }
        Ok(number) => out.push_str(&python_float_repr(number)),
        Err(_) => {
            let _ = write!(out, "{value}");
        }
    }
}

/// A string literal as Python's `repr` writes it: single quotes unless the text has a
/// single quote and no double quote; backslash escapes for the quote, `\`, control
/// characters; other characters (non-ASCII too) as they are.
fn write_quoted(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 || u32::from(c) == 0x7f => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if (0x80..0xa0).contains(&u32::from(c)) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// The output formatter: `{{ value }}` writes Python's `str(value)` (no escaping: chat
/// templates are not HTML).
pub fn formatter(out: &mut Output, _state: &State, value: &Value) -> Result<(), Error> {
    let written = match value.as_str() {
        Some(text) => out.write_str(text),
        None => out.write_str(&py_str(value)),
    };
    written.map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the rendered text"))
}

/// The `string` filter: Python's `str()`.
pub fn string(value: &Value) -> Value {
    match value.kind() {
        ValueKind::String => value.clone(),
        _ => Value::from(py_str(value)),
    }
}

/// The `length` (and `count`) filter: jinja2's, which counts an undefined value as 0.
pub fn length(value: &Value) -> Result<usize, Error> {
    if value.is_undefined() {
        return Ok(0);
    }
    value.len().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("object of type '{}' has no len()", value.kind()),
        )
    })
}

/// The `format` filter: `format % args` with Python's printf-style directives (`%s`,
/// `%r`, `%d`/`%i`, `%f`, `%e`, `%x`, `%o`, `%c`, `%%`, with flags, width and precision).
pub fn format(format: &str, args: Rest<Value>) -> Result<String, Error> {
    let mut out = String::with_capacity(format.len() + 16);
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&flag) = chars.peek().filter(|f| "-+ #0".contains(**f)) {
            flags.push(flag);
            chars.next();
        }
        let width = read_number(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(read_number(&mut chars).unwrap_or(0))
        } else {
            None
        };
        let Some(directive) = chars.next() else {
            return Err(format_error("incomplete format"));
        };
        if directive == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .next()
            .ok_or_else(|| format_error("not enough arguments for format string"))?;
        let body = convert(directive, arg, &flags, precision)?;
        pad(&mut out, &body, &flags, width, directive);
    }
    if args.next().is_some() {
        return Err(format_error(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

fn read_number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut digits = String::new();
    while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
        digits.push(d);
        chars.next();
    }
    digits.parse().ok()
}

fn format_error(message: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.to_owned())
}

fn integer_of(arg: &Value, directive: char) -> Result<i128, Error> {
    match arg.kind() {
        ValueKind::Bool => Ok(i128::from(arg.is_true())),
        ValueKind::Number if arg.is_integer() => {
            i128::try_from(arg.clone()).map_err(|_| format_error("integer out of range"))
        }
        ValueKind::Number if directive == 'd' || directive == 'i' => f64::try_from(arg.clone())
            .map(|f| f.trunc() as i128)
            .map_err(|_| format_error("number out of range")),
        _ => Err(format_error(&format!(
            "%{directive} format: a real number is required, not {}",
            arg.kind()
        ))),
    }
}

fn convert(
    directive: char,
    arg: &Value,
    flags: &str,
    precision: Option<usize>,
) -> Result<String, Error> {
    let sign = |negative: bool| -> &'static str {
        if negative {
            "-"
        } else if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        }
    };
    Ok(match directive {
        's' | 'r' | 'a' => {
            let text = if directive == 's' {
                py_str(arg)
            } else {
                py_repr(arg)
            };
            match precision {
                Some(limit) => text.chars().take(limit).collect(),
                None => text,
            }
        }
        'd' | 'i' | 'u' => {
            let n = integer_of(arg, 'd')?;
            format!("{}{}", sign(n < 0), n.unsigned_abs())
        }
        'x' | 'X' | 'o' => {
            let n = integer_of(arg, directive)?;
            let digits = match directive {
                'x' => format!("{:x}", n.unsigned_abs()),
                'X' => format!("{:X}", n.unsigned_abs()),
                _ => format!("{:o}", n.unsigned_abs()),
            };
            let prefix = match (flags.contains('#'), directive) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, _) => "0o",
                _ => "",
            };
            format!("{}{prefix}{digits}", sign(n < 0))
        }
        'f' | 'F' | 'e' | 'E' => {
            let number = f64::try_from(arg.clone())
                .map_err(|_| format_error(&format!("must be real number, not {}", arg.kind())))?;
            let precision = precision.unwrap_or(6);
            let body = match directive {
                'f' | 'F' => format!("{:.*}", precision, number.abs()),
                _ => python_exponent(number.abs(), precision, directive == 'E'),
            };
            format!("{}{body}", sign(number.is_sign_negative() && number != 0.0))
        }
        'c' => match (arg.as_str(), arg.as_i64()) {
            (Some(text), _) if text.chars().count() == 1 => text.to_owned(),
            (_, Some(code)) => u32::try_from(code)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| format_error("%c arg not in range"))?,
            _ => return Err(format_error("%c requires an int or a single character")),
        },
        other => {
            return Err(format_error(&format!(
                "unsupported format character '{other}'"
            )))
        }
    })
}

/// `%e`: Rust writes `1.5e3`, Python `1.500000e+03`.
fn python_exponent(number: f64, precision: usize, upper: bool) -> String {
    let text = format!("{:.*e}", precision, number);
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exponent.unsigned_abs())
}

fn pad(out: &mut String, body: &str, flags: &str, width: Option<usize>, directive: char) {
    let len = body.chars().count();
    let fill = width.unwrap_or(0).saturating_sub(len);
    if fill == 0 {
        out.push_str(body);
    } else if flags.contains('-') {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if flags.contains('0') && !matches!(directive, 's' | 'r' | 'a' | 'c') {
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &body[1..]),
            _ => (String::new(), body),
        };
        out.push_str(&sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: Vec<Value>) -> Rest<Value> {
        Rest(values)
    }

    #[test]
    fn str_of_lists_and_dicts_is_pythons() {
        let value = Value::from_serialize(serde_json::json!(
            {"a": ["x", "it's", 1, 2.0, true, null], "b": {"q\"": "\n"}}
        ));
        assert_eq!(
            py_str(&value),
            r#"{'a': ['x', "it's", 1, 2.0, True, None], 'b': {'q"': '\n'}}"#
        );
        assert_eq!(py_str(&Value::UNDEFINED), "");
        assert_eq!(py_str(&Value::from("été")), "été");
    }

    #[test]
    fn format_is_pythons_percent_operator() {
        let formatted = format(
            "%s|%r|%d|%5.2f|%-4s|%03d|%x|%%|%s",
            args(vec![
                Value::from(true),
                Value::from("a"),
                Value::from(7.9),
                Value::from(1.23456),
                Value::from("ab"),
                Value::from(5),
                Value::from(255),
                Value::from(()),
            ]),
        )
        .unwrap();
        assert_eq!(formatted, "True|'a'|7| 1.23|ab  |005|ff|%|None");
        assert!(format("%s %s", args(vec![Value::from(1)])).is_err());
        assert!(format("%s", args(vec![Value::from(1), Value::from(2)])).is_err());
    }

    #[test]
    fn length_of_undefined_is_zero() {
        assert_eq!(length(&Value::UNDEFINED).unwrap(), 0);
        assert_eq!(length(&Value::from("日本")).unwrap(), 2);
        assert!(length(&Value::from(3)).is_err());
    }
}
