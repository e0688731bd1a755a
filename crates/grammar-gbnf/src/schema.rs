//! JSON Schema to GBNF: one expression per schema, with a named rule for every
//! object, array, enum and union.
//!
//! Supported: `type` (`string`, `integer`, `number`, `boolean`, `null`, `array`,
//! `object`, and lists of these), `enum`, `const`, `anyOf`/`oneOf`, `items`,
//! `properties` and `required`. Properties keep the schema's order (the order the
//! wrappers list them in the prompt, so the order models answer in), each optional one
//! as an optional group, then any `required` name without a schema. Keywords that only narrow a value (`minLength`,
//! `pattern`, `maximum`, `minItems`, `additionalProperties`, …) are not enforced: the
//! grammar allows a little more than the schema, never less. A keyword that cannot be
//! expressed ([`UNSUPPORTED`]) turns the field into a generic JSON value, with a
//! warning.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::names::{sanitize, RuleNames};
use crate::primitives::{self, Primitive};
use crate::syntax::{alternation, json_literal, key_literal, up_to};

/// Keywords this generator cannot express; a schema using one becomes a generic JSON
/// value.
pub(crate) const UNSUPPORTED: [&str; 14] = [
    "$ref",
    "$dynamicRef",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependentSchemas",
    "propertyNames",
    "prefixItems",
    "contains",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// The keywords that narrow a string; a string schema with none of them is free text,
/// which [`Builder::bound_strings`] bounds.
const STRING_NARROWING: [&str; 4] = ["minLength", "maxLength", "pattern", "format"];

/// The rule of a bounded free-text string (only when the grammar bounds them).
const BOUNDED_STRING: &str = "argument-string";

/// Whether the grammar's term for `map` is a free-text string it bounds: a `string`
/// type (alone or in a `type` list) reached after `const`, `enum` and `anyOf`/`oneOf`
/// (which the grammar takes first), with no keyword that narrows it.
pub(crate) fn is_free_text_string(map: &Map<String, Value>) -> bool {
    let typed_string = match map.get("type") {
        Some(Value::String(kind)) => kind == "string",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "string"),
        _ => false,
    };
    typed_string
        && !["const", "enum", "anyOf", "oneOf"]
            .iter()
            .chain(STRING_NARROWING.iter())
            .any(|keyword| map.contains_key(*keyword))
}

/// One property of an object rule.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The property name.
    pub(crate) key: String,
    /// The expression for its value.
    pub(crate) value: String,
    /// Whether it must be present.
    pub(crate) required: bool,
}

/// Collects the rules of one grammar.
#[derive(Debug)]
pub(crate) struct Builder {
    names: RuleNames,
    rules: Vec<(String, String)>,
    primitives: BTreeSet<Primitive>,
    /// The function whose schema is being translated (for warnings).
    function: String,
    /// The most characters of a free-text string ([`is_free_text_string`]); `None`:
    /// any number.
    string_bound: Option<usize>,
    /// Whether the bounded string's rule is written yet.
    bounded_string_written: bool,
}

impl Builder {
    /// An empty grammar; `reserved` names (besides the fixed rules') are never handed out.
    pub(crate) fn new(reserved: &[&str]) -> Self {
        let mut taken = Primitive::names();
        taken.extend_from_slice(reserved);
        taken.push(BOUNDED_STRING);
        Builder {
            names: RuleNames::new(&taken),
            rules: Vec::new(),
            primitives: BTreeSet::new(),
            function: String::new(),
            string_bound: None,
            bounded_string_written: false,
        }
    }

    /// Bounds every free-text string the schemas translated from now on describe
    /// ([`is_free_text_string`]) to `max` characters (a JSON escape counts as one);
    /// `None`: no bound.
    pub(crate) fn bound_strings(&mut self, max: Option<u32>) {
        self.string_bound = max.map(|max| usize::try_from(max).unwrap_or(usize::MAX));
    }

    /// Writes the rule `name`: a JSON string of at most `max` characters (a JSON escape
    /// counts as one), as nested optional characters.
    pub(crate) fn define_bounded_string(&mut self, name: &str, max: usize) {
        let char = self.primitive(Primitive::Char);
        self.define_fixed(name, format!(r#""\"" {} "\"""#, up_to(char, max)));
    }

    /// The term of a free-text string: the bounded rule where strings are bounded.
    fn free_text_string(&mut self) -> String {
        let Some(bound) = self.string_bound else {
            return self.primitive(Primitive::String).to_owned();
        };
        if !self.bounded_string_written {
            self.bounded_string_written = true;
            self.define_bounded_string(BOUNDED_STRING, bound);
        }
        BOUNDED_STRING.to_owned()
    }

    /// Sets the function named in warnings.
    pub(crate) fn set_function(&mut self, name: &str) {
        name.clone_into(&mut self.function);
    }

    /// The name of a fixed rule, which is then written out.
    pub(crate) fn primitive(&mut self, primitive: Primitive) -> &'static str {
        self.primitives.insert(primitive);
        primitive.name()
    }

    /// Adds a rule under a name fixed by the caller (`root`, `call`); returns its slot
    /// for [`Builder::close_rule`].
    pub(crate) fn define_fixed(&mut self, name: &str, body: String) -> usize {
        self.rules.push((name.to_owned(), body));
        self.rules.len().saturating_sub(1)
    }

    /// Reserves a rule named after `base` before its body is known (so that a rule is
    /// written before the rules it refers to); returns its slot and its name.
    pub(crate) fn open_rule(&mut self, base: &str) -> (usize, String) {
        let name = self.names.fresh(base);
        self.rules.push((name.clone(), String::new()));
        (self.rules.len().saturating_sub(1), name)
    }

    /// Sets the body of the rule reserved at `slot`.
    pub(crate) fn close_rule(&mut self, slot: usize, body: String) {
        if let Some(rule) = self.rules.get_mut(slot) {
            rule.1 = body;
        }
    }

    /// A rule named after `base` with `body`; returns its name.
    fn define(&mut self, base: &str, body: String) -> String {
        let (slot, name) = self.open_rule(base);
        self.close_rule(slot, body);
        name
    }

    /// The grammar text: the rules in the order they were opened, then the fixed rules
    /// they use, one rule a line.
    pub(crate) fn finish(self) -> String {
        let fixed = primitives::definitions(&self.primitives);
        let rules = self.rules.iter().map(|(name, body)| (name.as_str(), body));
        let fixed = fixed.iter().map(|(name, body)| (*name, body));
        rules
            .chain(fixed)
            .map(|(name, body)| format!("{name} ::= {body}\n"))
            .collect()
    }

    /// A generic JSON value in place of a schema that cannot be expressed.
    pub(crate) fn generic(&mut self, path: &str, why: &str) -> String {
        tracing::warn!(
            function = %self.function,
            path,
            "the grammar cannot express this parameter's schema ({why}); any JSON value is allowed there"
        );
        self.primitive(Primitive::Value).to_owned()
    }

    /// One grammar term (a rule name or a literal) matching the values `schema`
    /// allows; rules it needs are named after `base`. `path` locates the schema in
    /// warnings.
    pub(crate) fn value_expr(&mut self, schema: &Value, base: &str, path: &str) -> String {
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => return self.primitive(Primitive::Value).to_owned(),
            _ => return self.generic(path, "the schema is not an object"),
        };
        if let Some(keyword) = UNSUPPORTED
            .iter()
            .find(|keyword| map.contains_key(**keyword))
        {
            return self.generic(path, &format!("`{keyword}` is not supported"));
        }
        if let Some(value) = map.get("const") {
            return json_literal(value);
        }
        if let Some(values) = map.get("enum") {
            return match values.as_array().map(Vec::as_slice) {
                Some([single]) => json_literal(single),
                Some(values) if !values.is_empty() => {
                    let body = alternation(values.iter().map(json_literal).collect());
                    self.define(base, body)
                }
                _ => self.generic(path, "`enum` is not a non-empty list"),
            };
        }
        if let Some(options) = map.get("anyOf").or_else(|| map.get("oneOf")) {
            return match options.as_array() {
                Some(options) if !options.is_empty() => {
                    let (slot, name) = self.open_rule(base);
                    let alternatives: Vec<String> = (1_usize..)
                        .zip(options)
                        .map(|(index, option)| {
                            let base = format!("{name}-{index}");
                            self.value_expr(option, &base, &format!("{path}|{index}"))
                        })
                        .collect();
                    self.close_rule(slot, alternation(alternatives));
                    name
                }
                _ => self.generic(path, "`anyOf`/`oneOf` is not a non-empty list"),
            };
        }
        match map.get("type") {
            None if map.contains_key("properties") => self.object_expr(map, base, path),
            None if map.contains_key("items") => self.array_expr(map, base, path),
            None => self.primitive(Primitive::Value).to_owned(),
            Some(Value::String(kind)) => self.type_expr(kind, map, base, path),
            Some(Value::Array(kinds)) if !kinds.is_empty() => {
                let (slot, name) = self.open_rule(base);
                let alternatives: Vec<String> = kinds
                    .iter()
                    .map(|kind| match kind {
                        Value::String(kind) => {
                            let base = format!("{name}-{}", sanitize(kind));
                            self.type_expr(kind, map, &base, path)
                        }
                        _ => self.generic(path, "a `type` list entry is not a string"),
                    })
                    .collect();
                self.close_rule(slot, alternation(alternatives));
                name
            }
            Some(_) => self.generic(path, "`type` is neither a string nor a non-empty list"),
        }
    }

    /// The term for one `type` name.
    fn type_expr(
        &mut self,
        kind: &str,
        map: &Map<String, Value>,
        base: &str,
        path: &str,
    ) -> String {
        match kind {
            "string" if is_free_text_string(map) => self.free_text_string(),
            "string" => self.primitive(Primitive::String).to_owned(),
            "integer" => self.primitive(Primitive::Integer).to_owned(),
            "number" => self.primitive(Primitive::Number).to_owned(),
            "boolean" => self.primitive(Primitive::Boolean).to_owned(),
            "null" => json_literal(&Value::Null),
            "array" => self.array_expr(map, base, path),
            "object" => self.object_expr(map, base, path),
            other => self.generic(path, &format!("unknown type `{other}`")),
        }
    }

    /// An array of `items` (any values without `items`).
    fn array_expr(&mut self, map: &Map<String, Value>, base: &str, path: &str) -> String {
        let items = match map.get("items") {
            None | Some(Value::Bool(true)) => return self.primitive(Primitive::Array).to_owned(),
            Some(items @ Value::Object(_)) => items,
            Some(_) => return self.generic(path, "`items` is not a single schema"),
        };
        let (slot, name) = self.open_rule(base);
        let item = self.value_expr(items, &format!("{name}-item"), &format!("{path}[]"));
        let ws = self.primitive(Primitive::Ws);
        let body = format!(r#""[" {ws} ( {item} ( "," {ws} {item} )* {ws} )? "]""#);
        self.close_rule(slot, body);
        name
    }

    /// An object with `properties` (any object without them).
    fn object_expr(&mut self, map: &Map<String, Value>, base: &str, path: &str) -> String {
        match map.get("properties") {
            None => self.primitive(Primitive::Object).to_owned(),
            Some(Value::Object(_)) => {
                let (slot, name) = self.open_rule(base);
                let members = self.members(map, &name, path);
                let body = self.object_body(&members, false);
                self.close_rule(slot, body);
                name
            }
            Some(_) => self.generic(path, "`properties` is not an object"),
        }
    }

    /// The members of an object schema: the `properties` in order, then the `required`
    /// names without a schema (any value).
    pub(crate) fn members(
        &mut self,
        map: &Map<String, Value>,
        base: &str,
        path: &str,
    ) -> Vec<Member> {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let properties = map.get("properties").and_then(Value::as_object);
        let mut members: Vec<Member> = properties
            .into_iter()
            .flatten()
            .map(|(key, schema)| Member {
                key: key.clone(),
                value: self.value_expr(
                    schema,
                    &format!("{base}-{}", sanitize(key)),
                    &format!("{path}.{key}"),
                ),
                required: required.contains(&key.as_str()),
            })
            .collect();
        let mut unlisted: Vec<&str> = Vec::new();
        for name in required {
            let listed = properties.is_some_and(|properties| properties.contains_key(name));
            if !listed && !unlisted.contains(&name) {
                unlisted.push(name);
            }
        }
        for name in unlisted {
            let value = self.primitive(Primitive::Value).to_owned();
            members.push(Member {
                key: name.to_owned(),
                value,
                required: true,
            });
        }
        members
    }

    /// The body of an object rule: the members in order, the optional ones as optional
    /// groups, with exactly one comma between two present members; with `open`, any
    /// further members may follow.
    pub(crate) fn object_body(&mut self, members: &[Member], open: bool) -> String {
        let ws = self.primitive(Primitive::Ws);
        let member = |m: &Member| format!("{} {ws} {}", key_literal(&m.key), m.value);
        let extras = if open {
            let string = self.primitive(Primitive::String);
            let value = self.primitive(Primitive::Value);
            format!(r#" ( "," {ws} {string} ":" {ws} {value} )*"#)
        } else {
            String::new()
        };
        // The members after the first present one: each behind a comma.
        let after = |from: usize| -> String {
            members
                .iter()
                .skip(from)
                .map(|m| {
                    if m.required {
                        format!(r#" "," {ws} {}"#, member(m))
                    } else {
                        format!(r#" ( "," {ws} {} )?"#, member(m))
                    }
                })
                .collect()
        };
        if let Some(first) = members.iter().position(|m| m.required) {
            // Optional members before the first required one: each followed by a comma.
            let leading: String = members
                .iter()
                .take(first)
                .map(|m| format!(r#" ( {} "," {ws} )?"#, member(m)))
                .collect();
            let first_member = members.get(first).map(member).unwrap_or_default();
            let rest = after(first.saturating_add(1));
            return format!(r#""{{" {ws}{leading} {first_member}{rest}{extras} {ws} "}}""#);
        }
        // All optional: the first present member decides where the list starts.
        let mut alternatives: Vec<String> = members
            .iter()
            .enumerate()
            .map(|(index, m)| format!("{}{}{extras}", member(m), after(index.saturating_add(1))))
            .collect();
        if open {
            alternatives.push(format!(r#"string ":" {ws} value{extras}"#));
        }
        if alternatives.is_empty() {
            return format!(r#""{{" {ws} "}}""#);
        }
        format!(
            r#""{{" {ws} ( ( {} ) {ws} )? "}}""#,
            alternatives.join(" | ")
        )
    }
}
