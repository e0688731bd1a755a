//! Output constraints: the ways a backend's server can be made to write only answers of
//! a given shape (a GBNF grammar, a JSON Schema), stated once in the backend's
//! [`WireSpec`](super::WireSpec), chosen once per model
//! ([`ConstraintChoice`]), and written into the body by [`Constraint::write`].

use serde_json::{json, Map, Value};

/// The language an output constraint is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstraintLanguage {
    /// A GBNF grammar (llama.cpp's grammar format).
    Gbnf,
    /// A JSON Schema the answer must be an instance of.
    JsonSchema,
}

impl ConstraintLanguage {
    /// The language's name for people (`GBNF`, `JSON Schema`).
    pub const fn label(self) -> &'static str {
        match self {
            ConstraintLanguage::Gbnf => "GBNF",
            ConstraintLanguage::JsonSchema => "JSON Schema",
        }
    }
}

/// Where a constraint goes in a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintPlacement {
    /// `"field": <constraint>` at the body's top level (llama.cpp `grammar` and
    /// `json_schema`, ollama `format`, vLLM ≤ 0.11 `guided_json`).
    Field(&'static str),
    /// `"outer": {"inner": <constraint>}` (vLLM's `structured_outputs.json`).
    Nested {
        /// The top-level field.
        outer: &'static str,
        /// The field inside it.
        inner: &'static str,
    },
    /// OpenAI's `"response_format": {"type": "json_schema", "json_schema": {"name":
    /// "answer", "strict": true, "schema": <constraint>}}` (LM Studio, Groq, llama.cpp's
    /// OpenAI-compatible routes).
    ResponseFormat,
}

impl ConstraintPlacement {
    /// Where it goes, for people: `grammar`, `structured_outputs.json`,
    /// `response_format` (json_schema).
    pub fn label(&self) -> String {
        match self {
            ConstraintPlacement::Field(field) => (*field).to_owned(),
            ConstraintPlacement::Nested { outer, inner } => format!("{outer}.{inner}"),
            ConstraintPlacement::ResponseFormat => "response_format (json_schema)".to_owned(),
        }
    }
}

/// One way a backend's server constrains its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstraintField {
    /// The name a model entry picks it by (`constraint = "json_schema"`), unique within
    /// its backend.
    pub name: &'static str,
    /// The language it takes.
    pub language: ConstraintLanguage,
    /// Where it goes in the body.
    pub placement: ConstraintPlacement,
    /// When it applies (server versions, models), for people; empty when always.
    pub note: &'static str,
}

impl ConstraintField {
    /// ``json_schema (JSON Schema in `json_schema`; note)``, for `chat-completion-proxy
    /// backends` and error messages.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} ({} in `{}`",
            self.name,
            self.language.label(),
            self.placement.label()
        );
        if !self.note.is_empty() {
            text.push_str("; ");
            text.push_str(self.note);
        }
        text.push(')');
        text
    }
}

/// The GBNF `grammar` field of llama.cpp's server and the servers built on its sampler
/// (koboldcpp, llama.cpp behind other APIs).
pub const GBNF_GRAMMAR: ConstraintField = ConstraintField {
    name: "grammar",
    language: ConstraintLanguage::Gbnf,
    placement: ConstraintPlacement::Field("grammar"),
    note: "",
};

/// The ways a backend's server constrains its output, as its spec states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendConstraints {
    /// Every way it has, the default first.
    pub fields: &'static [ConstraintField],
    /// Whether the first field is used when the model entry names none (`false` where
    /// it works only on some servers or models and others refuse it: the entry must
    /// ask for it).
    pub first_by_default: bool,
}

impl BackendConstraints {
    /// A backend with no constraint at all.
    pub const NONE: BackendConstraints = BackendConstraints {
        fields: &[],
        first_by_default: false,
    };

    /// The constraint a model entry gets when it names none.
    pub fn default_field(&self) -> Option<&'static ConstraintField> {
        self.fields.first().filter(|_| self.first_by_default)
    }

    /// The field named `name`.
    pub fn find(&self, name: &str) -> Option<&'static ConstraintField> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The fields as one line for people, ` | ` between them, `default` before the
    /// default one: ``default grammar (GBNF in `grammar`) | json_schema (…)``; `no output
    /// constraint` when there is none.
    pub fn summary(&self) -> String {
        if self.fields.is_empty() {
            return "no output constraint".to_owned();
        }
        let default = self.default_field();
        self.fields
            .iter()
            .map(|field| {
                if default.is_some_and(|default| default.name == field.name) {
                    format!("default {}", field.summary())
                } else {
                    field.summary()
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The names, for error messages: `` `grammar`, `json_schema` ``.
    pub fn names(&self) -> String {
        self.fields
            .iter()
            .map(|field| format!("`{}`", field.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Resolves a model entry's choice against these fields: the field to send, or
    /// `None` for no constraint. `Err` names the choice and the fields there are.
    pub fn resolve(
        &self,
        choice: &ConstraintChoice,
        backend: &str,
    ) -> Result<Option<&'static ConstraintField>, String> {
        match choice {
            ConstraintChoice::Default => Ok(self.default_field()),
            ConstraintChoice::Off => Ok(None),
            ConstraintChoice::Named(name) => self.find(name).map(Some).ok_or_else(|| {
                if self.fields.is_empty() {
                    format!(
                        "`constraint` is `{name}`, but the `{backend}` backend has no output constraint; leave `constraint` out or set it to `none`"
                    )
                } else {
                    format!(
                        "`constraint` is `{name}`, which the `{backend}` backend does not have; pick one of {} or `none`",
                        self.names()
                    )
                }
            }),
        }
    }
}

/// A model entry's choice of output constraint (`constraint = "…"` in the server
/// config, `--constraint` on the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConstraintChoice {
    /// The backend's default ([`BackendConstraints::default_field`]).
    #[default]
    Default,
    /// No constraint: answers are checked after the call (and retried) only.
    Off,
    /// The backend's field of this name.
    Named(String),
}

impl ConstraintChoice {
    /// The choice a user wrote: `none` turns constraints off, `default` (or nothing)
    /// keeps the backend's, any other name picks that field.
    pub fn parse(text: &str) -> ConstraintChoice {
        match text.trim() {
            "" | "default" => ConstraintChoice::Default,
            "none" => ConstraintChoice::Off,
            name => ConstraintChoice::Named(name.to_owned()),
        }
    }
}

/// The text of one request's constraint, in the field's language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstraintText<'a> {
    /// A GBNF grammar.
    Gbnf(&'a str),
    /// A JSON Schema.
    JsonSchema(&'a Value),
}

/// One request's output constraint: where it goes and what it says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraint<'a> {
    /// The field it is sent in.
    pub field: &'static ConstraintField,
    /// The grammar or schema.
    pub text: ConstraintText<'a>,
}

impl Constraint<'_> {
    /// Writes the constraint into `body` where its field says.
    pub fn write(&self, body: &mut Map<String, Value>) {
        let value = match self.text {
            ConstraintText::Gbnf(grammar) => Value::String(grammar.to_owned()),
            ConstraintText::JsonSchema(schema) => schema.clone(),
        };
        match self.field.placement {
            ConstraintPlacement::Field(field) => {
                body.insert(field.to_owned(), value);
            }
            ConstraintPlacement::Nested { outer, inner } => {
                let mut nested = Map::new();
                nested.insert(inner.to_owned(), value);
                body.insert(outer.to_owned(), Value::Object(nested));
            }
            ConstraintPlacement::ResponseFormat => {
                body.insert(
                    "response_format".to_owned(),
                    json!({
                        "type": "json_schema",
                        "json_schema": {"name": "answer", "strict": true, "schema": value},
                    }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAMMAR: ConstraintField = GBNF_GRAMMAR;
    const NESTED: ConstraintField = ConstraintField {
        name: "nested",
        language: ConstraintLanguage::JsonSchema,
        placement: ConstraintPlacement::Nested {
            outer: "constraints",
            inner: "schema",
        },
        note: "server 2 and later",
    };
    const RESPONSE_FORMAT: ConstraintField = ConstraintField {
        name: "response_format",
        language: ConstraintLanguage::JsonSchema,
        placement: ConstraintPlacement::ResponseFormat,
        note: "",
    };
    const BOTH: BackendConstraints = BackendConstraints {
        fields: &[GRAMMAR, NESTED],
        first_by_default: true,
    };

    fn written(field: &'static ConstraintField, text: ConstraintText<'_>) -> Value {
        let mut body = Map::new();
        Constraint { field, text }.write(&mut body);
        Value::Object(body)
    }

    #[test]
    fn each_placement_writes_its_shape() {
        let schema = json!({"type": "object"});
        assert_eq!(
            written(&GRAMMAR, ConstraintText::Gbnf("root ::= \"x\"")),
            json!({"grammar": "root ::= \"x\""})
        );
        assert_eq!(
            written(&NESTED, ConstraintText::JsonSchema(&schema)),
            json!({"constraints": {"schema": {"type": "object"}}})
        );
        assert_eq!(
            written(&RESPONSE_FORMAT, ConstraintText::JsonSchema(&schema)),
            json!({"response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "strict": true, "schema": {"type": "object"}}}})
        );
    }

    #[test]
    fn a_choice_resolves_to_a_field_or_a_clear_error() {
        assert_eq!(
            BOTH.resolve(&ConstraintChoice::Default, "x"),
            Ok(Some(&GRAMMAR))
        );
        assert_eq!(BOTH.resolve(&ConstraintChoice::Off, "x"), Ok(None));
        assert_eq!(
            BOTH.resolve(&ConstraintChoice::parse("nested"), "x"),
            Ok(Some(&NESTED))
        );
        let error = BOTH
            .resolve(&ConstraintChoice::parse("guided_json"), "vllm")
            .unwrap_err();
        assert!(error.contains("`guided_json`"), "{error}");
        assert!(error.contains("`grammar`, `nested` or `none`"), "{error}");
        let error = BackendConstraints::NONE
            .resolve(&ConstraintChoice::parse("grammar"), "groq")
            .unwrap_err();
        assert!(error.contains("has no output constraint"), "{error}");
        let opt_in = BackendConstraints {
            fields: &[RESPONSE_FORMAT],
            first_by_default: false,
        };
        assert_eq!(opt_in.resolve(&ConstraintChoice::Default, "groq"), Ok(None));
        assert_eq!(
            opt_in.resolve(&ConstraintChoice::parse("response_format"), "groq"),
            Ok(Some(&RESPONSE_FORMAT))
        );
    }

    #[test]
    fn the_summary_names_every_field_and_the_default() {
        assert_eq!(
            BOTH.summary(),
            "default grammar (GBNF in `grammar`) | nested (JSON Schema in \
             `constraints.schema`; server 2 and later)"
        );
        assert_eq!(BackendConstraints::NONE.summary(), "no output constraint");
    }
}
