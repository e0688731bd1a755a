//! The answer shapes of [`crate::answer`] as one JSON Schema, for servers that take
//! a JSON Schema instead of a grammar (ollama `format`, vLLM `structured_outputs.json`,
//! LM Studio's `response_format`).
//!
//! ```text
//! InnerThoughtsInParams:      {"anyOf": [<call f> …]}
//!   <call f> = {"function": {"const": "f"}, "params": <f's params, inner_thoughts first>}
//! InnerThoughtsTopLevel:      {"anyOf": [{"inner_thoughts"}, {"inner_thoughts", "function": null}, <call f> …]}
//!   <call f> = {"inner_thoughts": string, "function": {"const": "f"}, "params": <f's params>}
//! InnerThoughtsTopLevelCallRequired: the same without the first two.
//! ```
//!
//! Every object the grammar lists member by member is closed (`additionalProperties:
//! false`), as the grammar admits only the members it lists, and what the grammar
//! turns into "any JSON value" ([`crate::schema::UNSUPPORTED`]: `$ref`, `not`, …) is
//! `{}` here too. The two accept the same answers (`tests::answer_schema` checks it on
//! the grammar tests' corpus) but for what a JSON Schema cannot say or the grammar does
//! not: the grammar fixes the order of the members (the schema's order,
//! `inner_thoughts` first) and writes integers without a fraction (JSON Schema counts
//! `5.0` an integer); the schema enforces the narrowing keywords (`minLength`,
//! `pattern`, …).

use proxy_core::grammar::{AnswerShape, GrammarError};
use proxy_core::inner_monologue::INNER_THOUGHTS_KWARG;
use proxy_core::{FunctionSchema, GrammarStyle};
use serde_json::{json, Map, Value};

use crate::answer::{check_functions, is_plain_object};
use crate::schema::{is_free_text_string, UNSUPPORTED};

/// The JSON Schema whose instances are the answers calling one of `functions` in the
/// shape `shape` (`inner_thoughts` and the free-text string arguments bounded by
/// `maxLength` where the shape bounds them).
/// Fails as [`crate::answer::grammar`] does.
pub(crate) fn schema(
    functions: &[FunctionSchema],
    shape: AnswerShape,
) -> Result<Value, GrammarError> {
    check_functions(functions)?;
    let style = shape.style;
    let thoughts_schema = match shape.max_thought_chars {
        Some(max) => json!({"type": "string", "maxLength": max}),
        None => json!({"type": "string"}),
    };
    let thoughts = || thoughts_schema.clone();
    let mut alternatives = Vec::new();
    if style == GrammarStyle::InnerThoughtsTopLevel {
        alternatives.push(closed_object(
            vec![(INNER_THOUGHTS_KWARG.to_owned(), thoughts())],
            &[INNER_THOUGHTS_KWARG],
        ));
        alternatives.push(closed_object(
            vec![
                (INNER_THOUGHTS_KWARG.to_owned(), thoughts()),
                ("function".to_owned(), json!({"const": null})),
            ],
            &[INNER_THOUGHTS_KWARG, "function"],
        ));
    }
    for function in functions {
        let (name_key, params_key) = match style {
            GrammarStyle::NativeCall(syntax) => ("name", syntax.arguments_key),
            _ => ("function", "params"),
        };
        let call = vec![
            (name_key.to_owned(), json!({"const": function.name})),
            (
                params_key.to_owned(),
                params(function, shape, &thoughts_schema),
            ),
        ];
        alternatives.push(match style {
            GrammarStyle::InnerThoughtsInParams | GrammarStyle::NativeCall(_) => {
                closed_object(call, &[name_key, params_key])
            }
            GrammarStyle::InnerThoughtsTopLevel
            | GrammarStyle::InnerThoughtsTopLevelCallRequired => {
                let mut members = vec![(INNER_THOUGHTS_KWARG.to_owned(), thoughts())];
                members.extend(call);
                closed_object(members, &[INNER_THOUGHTS_KWARG, name_key, params_key])
            }
        });
    }
    Ok(json!({"anyOf": alternatives}))
}

/// `function`'s params object: its own schema, closed, with (in the forced shape) a
/// required string `inner_thoughts` first in place of any it declares.
fn params(function: &FunctionSchema, shape: AnswerShape, thoughts: &Value) -> Value {
    let in_params = shape.style == GrammarStyle::InnerThoughtsInParams;
    let bound = shape.max_argument_chars;
    let map = match &function.parameters {
        None => Map::new(),
        Some(Value::Object(map)) if is_plain_object(map) => map.clone(),
        // A schema the grammar cannot follow member by member: the grammar admits any
        // object (after the thoughts in the forced shape), and so does the schema.
        Some(_) if in_params => {
            return json!({"type": "object",
                "properties": {INNER_THOUGHTS_KWARG: thoughts},
                "required": [INNER_THOUGHTS_KWARG]});
        }
        Some(_) => return json!({"type": "object"}),
    };
    let declared = map.get("properties").and_then(Value::as_object);
    let mut members: Vec<(String, Value)> = declared
        .into_iter()
        .flatten()
        .filter(|(key, _)| !(in_params && key.as_str() == INNER_THOUGHTS_KWARG))
        .map(|(key, value)| (key.clone(), closed(value, bound)))
        .collect();
    let mut required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|key| !(in_params && *key == INNER_THOUGHTS_KWARG))
        .map(str::to_owned)
        .collect();
    // A required name without a schema is a member of any value (as in the grammar).
    for key in &required {
        if !members.iter().any(|(member, _)| member == key) {
            members.push((key.clone(), json!({})));
        }
    }
    if in_params {
        members.insert(0, (INNER_THOUGHTS_KWARG.to_owned(), thoughts.clone()));
        required.insert(0, INNER_THOUGHTS_KWARG.to_owned());
    }
    let required: Vec<&str> = required.iter().map(String::as_str).collect();
    let mut object = closed_object(members, &required);
    // The narrowing keywords of the function's object schema stay.
    if let (Value::Object(object), true) = (&mut object, !map.is_empty()) {
        for (key, value) in &map {
            if !matches!(
                key.as_str(),
                "properties" | "required" | "additionalProperties" | "type"
            ) {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    object
}

/// `schema` with every object it describes by `properties` closed as the grammar
/// closes it: only its listed members (and any `required` name it does not list, of
/// any value). A schema with a keyword the grammar cannot follow becomes `{}`, any
/// value, as in the grammar (so no server is sent a keyword its own converter may
/// not know, nor a `$ref` that points nowhere). Where `bound` is set, each free-text
/// string the grammar bounds gets `maxLength: bound`.
fn closed(schema: &Value, bound: Option<u32>) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    if UNSUPPORTED.iter().any(|keyword| map.contains_key(*keyword)) {
        return json!({});
    }
    let mut map = map.clone();
    if let (Some(max), true) = (bound, is_free_text_string(&map)) {
        map.insert("maxLength".into(), max.into());
    }
    // Below a `const` or an `enum` the grammar writes the listed values only.
    let bound = bound.filter(|_| !(map.contains_key("const") || map.contains_key("enum")));
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for value in properties.values_mut() {
            *value = closed(value, bound);
        }
    }
    if let Some(items) = map.get_mut("items") {
        *items = closed(items, bound);
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get_mut(combinator) {
            for option in options.iter_mut() {
                *option = closed(option, bound);
            }
        }
    }
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for key in required {
            properties.entry(key).or_insert_with(|| json!({}));
        }
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(map)
}

/// An object schema with exactly these members (in this order) and these required.
fn closed_object(members: Vec<(String, Value)>, required: &[&str]) -> Value {
    let properties: Map<String, Value> = members.into_iter().collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
