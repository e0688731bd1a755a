//! The answer shapes: the `root` rule, one `call` alternative per function, and each
//! function's `params` object.
//!
//! ```text
//! InnerThoughtsInParams:
//!   root ::= ws "{" ws "\"function\":" ws call ws "}"
//!   call ::= send-message-call | …
//!   send-message-call ::= "\"send_message\"" "," ws "\"params\":" ws send-message-params
//!   send-message-params ::= "{" ws "\"inner_thoughts\":" ws string "," ws "\"message\":" ws string ws "}"
//! InnerThoughtsTopLevel:
//!   root ::= ws "{" ws "\"inner_thoughts\":" ws string ( "," ws "\"function\":" ws ( "null" | call ) )? ws "}"
//! InnerThoughtsTopLevelCallRequired:
//!   root ::= ws "{" ws "\"inner_thoughts\":" ws string "," ws "\"function\":" ws call ws "}"
//! NativeCall (Hermes: open `<tool_call>\n`, close `\n</tool_call>`, key `arguments`):
//!   root ::= ws "<tool_call>\n" "{" ws "\"name\":" ws call ws "}" "\n</tool_call>"
//!   send-message-call ::= "\"send_message\"" "," ws "\"arguments\":" ws send-message-params
//! ```
//!
//! Whitespace is allowed before the answer (the `-grammar` prompts end right after the
//! assistant header, so models usually start with a newline), after `{`, `[`, `:` and
//! `,`, and before `}` and `]`; never twice in a row, so
//! the layout of a text never makes it ambiguous.
//! Nothing may follow the closing `}`: the backend then ends the reply.

use proxy_core::grammar::{AnswerShape, GrammarError};
use proxy_core::inner_monologue::INNER_THOUGHTS_KWARG;
use proxy_core::{FunctionSchema, GrammarStyle};
use serde_json::Value;

use crate::names::sanitize;
use crate::primitives::Primitive;
use crate::schema::{Builder, Member, UNSUPPORTED};
use crate::syntax::{json_literal, key_literal, literal};

/// The names of the rules written by this module.
const ROOT: &str = "root";
const CALL: &str = "call";
/// The bounded `inner_thoughts` string (only when the shape bounds it).
const THOUGHTS: &str = "thoughts";

/// The GBNF grammar whose sentences are the answers calling one of `functions` in the
/// shape `shape`: `inner_thoughts` is at most `shape.max_thought_chars` characters
/// long and each free-text string argument at most `shape.max_argument_chars` (a JSON
/// escape counts as one), written as nested optional characters, which every GBNF
/// parser reads (llama.cpp's `{m,n}` is newer).
pub(crate) fn grammar(
    functions: &[FunctionSchema],
    shape: AnswerShape,
) -> Result<String, GrammarError> {
    check_functions(functions)?;
    let style = shape.style;
    let mut builder = Builder::new(&[ROOT, CALL, THOUGHTS]);
    builder.bound_strings(shape.max_argument_chars);
    let thoughts = match shape.max_thought_chars {
        None => builder.primitive(Primitive::String),
        Some(_) => THOUGHTS,
    };
    let ws = builder.primitive(Primitive::Ws);
    let function_key = key_literal("function");
    let root = match style {
        GrammarStyle::InnerThoughtsInParams => {
            format!(r#"{ws} "{{" {ws} {function_key} {ws} {CALL} {ws} "}}""#)
        }
        GrammarStyle::InnerThoughtsTopLevel => {
            format!(
                r#"{ws} "{{" {ws} {} {ws} {thoughts} ( "," {ws} {function_key} {ws} ( {} | {CALL} ) )? {ws} "}}""#,
                key_literal(INNER_THOUGHTS_KWARG),
                json_literal(&Value::Null),
            )
        }
        GrammarStyle::InnerThoughtsTopLevelCallRequired => {
            format!(
                r#"{ws} "{{" {ws} {} {ws} {thoughts} "," {ws} {function_key} {ws} {CALL} {ws} "}}""#,
                key_literal(INNER_THOUGHTS_KWARG),
            )
        }
        GrammarStyle::NativeCall(syntax) => {
            let around = |text: &str| {
                if text.is_empty() {
                    String::new()
                } else {
                    format!(" {} ", literal(text))
                }
            };
            format!(
                r#"{ws}{}"{{" {ws} {} {ws} {CALL} {ws} "}}"{}"#,
                around(syntax.open),
                key_literal("name"),
                around(syntax.close).trim_end(),
            )
        }
    };
    builder.define_fixed(ROOT, root);
    let call_slot = builder.define_fixed(CALL, String::new());
    let calls: Vec<String> = functions
        .iter()
        .map(|function| call_rule(&mut builder, function, style, thoughts))
        .collect();
    builder.close_rule(call_slot, calls.join(" | "));
    if let Some(max) = shape.max_thought_chars {
        builder.define_bounded_string(THOUGHTS, usize::try_from(max).unwrap_or(usize::MAX));
    }
    Ok(builder.finish())
}

/// The functions an answer may call: at least one, each named.
pub(crate) fn check_functions(functions: &[FunctionSchema]) -> Result<(), GrammarError> {
    if functions.is_empty() {
        return Err(GrammarError::NoFunctions);
    }
    match functions
        .iter()
        .position(|function| function.name.is_empty())
    {
        Some(index) => Err(GrammarError::UnnamedFunction { index }),
        None => Ok(()),
    }
}

/// The rule for calling `function`: its name, then its params; returns the rule's name.
fn call_rule(
    builder: &mut Builder,
    function: &FunctionSchema,
    style: GrammarStyle,
    thoughts: &str,
) -> String {
    builder.set_function(&function.name);
    let base = sanitize(&function.name);
    let (slot, name) = builder.open_rule(&format!("{base}-call"));
    let params = params_rule(
        builder,
        function,
        style,
        thoughts,
        &format!("{base}-params"),
    );
    let ws = builder.primitive(Primitive::Ws);
    let params_key = match style {
        GrammarStyle::NativeCall(syntax) => syntax.arguments_key,
        _ => "params",
    };
    let body = format!(
        r#"{} "," {ws} {} {ws} {params}"#,
        json_literal(&Value::String(function.name.clone())),
        key_literal(params_key),
    );
    builder.close_rule(slot, body);
    name
}

/// The rule for `function`'s params object; returns the rule's name.
fn params_rule(
    builder: &mut Builder,
    function: &FunctionSchema,
    style: GrammarStyle,
    thoughts: &str,
    base: &str,
) -> String {
    let (slot, name) = builder.open_rule(base);
    let path = function.name.as_str();
    let (mut members, open) = match &function.parameters {
        None => (Vec::new(), false),
        Some(Value::Object(map)) if is_plain_object(map) => {
            (builder.members(map, &name, path), false)
        }
        Some(_) => {
            builder.generic(path, "the parameters are not a plain object schema");
            (Vec::new(), true)
        }
    };
    if style == GrammarStyle::InnerThoughtsInParams {
        members.retain(|member| member.key != INNER_THOUGHTS_KWARG);
        members.insert(
            0,
            Member {
                key: INNER_THOUGHTS_KWARG.to_owned(),
                value: thoughts.to_owned(),
                required: true,
            },
        );
    }
    let body = builder.object_body(&members, open);
    builder.close_rule(slot, body);
    name
}

/// Whether a `parameters` schema is an object described by `properties` alone (no
/// combinators, no unsupported keywords).
pub(crate) fn is_plain_object(map: &serde_json::Map<String, Value>) -> bool {
    let kind_is_object = match map.get("type") {
        None => true,
        Some(Value::String(kind)) => kind == "object",
        Some(_) => false,
    };
    let properties_ok = map.get("properties").is_none_or(Value::is_object);
    let combinators = ["anyOf", "oneOf", "enum", "const"];
    kind_is_object
        && properties_ok
        && !UNSUPPORTED
            .iter()
            .chain(&combinators)
            .any(|keyword| map.contains_key(*keyword))
}
