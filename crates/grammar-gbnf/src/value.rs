//! The grammar of one JSON value of a schema: a `response_format` answer.
//!
//! ```text
//! root ::= ws answer
//! answer ::= "{" ws "\"name\":" ws string … "}"
//! ```
//!
//! The schema's local references (`#/$defs/…`, `#/definitions/…`, any `#/…` pointer,
//! as Pydantic writes nested models) are inlined first, so nested models are
//! constrained too; a reference that cannot be resolved, or one past the inlining
//! budget (a recursive model), allows any JSON value there.

use serde_json::{Map, Value};

use crate::primitives::Primitive;
use crate::schema::Builder;

/// The names of the rules written by this module.
const ROOT: &str = "root";

/// How many references are inlined at most (recursive schemas would never end).
const REFERENCE_BUDGET: usize = 256;

/// How deep references may nest inside each other.
const REFERENCE_DEPTH: usize = 16;

/// The GBNF grammar whose sentences are the JSON values `schema` allows (whitespace
/// may come first).
pub(crate) fn grammar(schema: &Value) -> String {
    let mut budget = REFERENCE_BUDGET;
    let schema = inline_references(schema, schema, 0, &mut budget);
    let mut builder = Builder::new(&[ROOT]);
    builder.set_function("response_format");
    let ws = builder.primitive(Primitive::Ws);
    let slot = builder.define_fixed(ROOT, String::new());
    let value = builder.value_expr(&schema, "answer", "response_format");
    builder.close_rule(slot, format!("{ws} {value}"));
    builder.finish()
}

/// `schema` with every resolvable local `$ref` replaced by the schema it points to
/// in `root` (its sibling keywords dropped: they only narrow or describe).
fn inline_references(schema: &Value, root: &Value, depth: usize, budget: &mut usize) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                return match resolve(reference, root) {
                    Some(target) if depth < REFERENCE_DEPTH && *budget > 0 => {
                        *budget -= 1;
                        inline_references(target, root, depth + 1, budget)
                    }
                    // Any value: the grammar allows more than the schema, never less.
                    _ => Value::Object(Map::new()),
                };
            }
            Value::Object(
                map.iter()
                    .filter(|(key, _)| !matches!(key.as_str(), "$defs" | "definitions"))
                    .map(|(key, value)| {
                        (key.clone(), inline_references(value, root, depth, budget))
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| inline_references(item, root, depth, budget))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The schema a local reference (`#` or `#/json/pointer`) names in `root`.
fn resolve<'a>(reference: &str, root: &'a Value) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbnf_check;
    use serde_json::json;

    /// More parse stacks than this at once would mean an ambiguous grammar.
    const MAX_STACKS: usize = 16;

    fn accepts(schema: &Value, text: &str) -> bool {
        let text_grammar = grammar(schema);
        let checked = gbnf_check::parse(&text_grammar)
            .unwrap_or_else(|error| panic!("{error}\n{text_grammar}"));
        let matched = checked.matches(text);
        assert!(matched.max_stacks <= MAX_STACKS, "{text_grammar}");
        matched.accepted
    }

    #[test]
    fn a_json_object_answer_is_any_object() {
        let schema = json!({"type": "object"});
        assert!(accepts(&schema, "\n{\"a\": [1, 2, {\"b\": null}]}"));
        assert!(accepts(&schema, "{}"));
        assert!(!accepts(&schema, "[1]"));
        assert!(!accepts(&schema, "\"text\""));
        assert!(!accepts(&schema, "{\"a\": 1} and more"));
    }

    #[test]
    fn nested_models_are_inlined() {
        // As Pydantic writes `class Step(BaseModel): explanation: str; output: str`
        // inside `class Math(BaseModel): steps: list[Step]; final_answer: str`.
        let schema = json!({
            "$defs": {"Step": {"type": "object", "title": "Step",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"], "additionalProperties": false}},
            "type": "object", "title": "Math",
            "properties": {
                "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
                "final_answer": {"type": "string"}
            },
            "required": ["steps", "final_answer"], "additionalProperties": false
        });
        assert!(accepts(
            &schema,
            r#"{"steps": [{"explanation": "add", "output": "2"}], "final_answer": "2"}"#
        ));
        assert!(!accepts(
            &schema,
            r#"{"steps": [{"explanation": "add"}], "final_answer": "2"}"#
        ));
        assert!(!accepts(&schema, r#"{"final_answer": "2"}"#));
    }

    #[test]
    fn recursive_and_unresolvable_references_allow_any_value() {
        let schema = json!({
            "$defs": {"Node": {"type": "object",
                "properties": {"child": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}},
                "required": ["child"]}},
            "$ref": "#/$defs/Node"
        });
        assert!(accepts(&schema, r#"{"child": {"child": null}}"#));
        assert!(!accepts(&schema, r#"{"other": 1}"#));
        let dangling = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/Gone"}}, "required": ["x"]});
        assert!(accepts(&dangling, r#"{"x": [true]}"#));
    }

    #[test]
    fn scalar_and_enum_answers() {
        assert!(accepts(&json!({"enum": ["yes", "no"]}), "\"no\""));
        assert!(!accepts(&json!({"enum": ["yes", "no"]}), "\"maybe\""));
        assert!(accepts(
            &json!({"type": "array", "items": {"type": "integer"}}),
            "[1, 2]"
        ));
    }
}
