//! The minijinja environment set up as transformers sets up jinja2 for chat templates
//! (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`, the
//! `loopcontrols` extension, `raise_exception`, `tojson` as `json.dumps`), with what
//! makes minijinja write and behave as jinja2 does: Python's string, list and dict
//! methods, Python's `str()` for output and `|string`, `%`-formatting, and jinja2's
//! default undefined value.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use super::error::RaisedByTemplate;
use super::{pyjson, pystr};

/// A fresh environment with transformers' settings and globals (`strftime_now` is
/// given per render, with the context's clock).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    // jinja2's default `Undefined`: printed as nothing, iterated as empty, false, an
    // error when an attribute of it is read.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(pystr::formatter);
    env.add_filter("tojson", pyjson::tojson);
    env.add_filter("string", pystr::string);
    env.add_filter("format", pystr::format);
    env.add_filter("length", pystr::length);
    env.add_filter("count", pystr::length);
    env.add_test("iterable", is_iterable);
    env.add_function("raise_exception", raise_exception);
    env
}

/// The `iterable` test as jinja2 has it: Python's `iter(value)` succeeds. `None` and
/// numbers are not iterable (minijinja iterates `none` as empty); undefined is (an
/// empty iteration, as jinja2's `Undefined`).
fn is_iterable(value: &Value) -> bool {
    !matches!(
        value.kind(),
        ValueKind::None | ValueKind::Bool | ValueKind::Number
    ) && value.try_iter().is_ok()
}

/// `raise_exception(message)`: fails the render with the template's message.
fn raise_exception(message: Value) -> Result<Value, Error> {
    let message = pystr::py_str(&message);
    Err(Error::new(ErrorKind::InvalidOperation, message.clone())
        .with_source(RaisedByTemplate(message)))
}

/// Template text as jinja2 reads it: every line end (`\r\n`, `\r`, `\n`) is `\n`.
pub fn normalize_newlines(source: &str) -> String {
    if !source.contains('\r') {
        return source.to_owned();
    }
    source.replace("\r\n", "\n").replace('\r', "\n")
}
