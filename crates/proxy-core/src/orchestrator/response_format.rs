//! `response_format`: answers that are JSON — one object (`json_object`, "JSON mode")
//! or a value validating against a schema (`json_schema`, structured outputs, what
//! `client.chat.completions.parse(response_format=Model)` sends).
//!
//! Read once per request into a [`JsonAnswer`]: the schema the content must keep to
//! (`{"type": "object"}` in JSON mode), its compiled validator, and the instruction
//! the prompt gets. The model is asked for a plain-text turn (no function listing)
//! with the instruction at the end of the system turn; where the backend takes a
//! grammar, a grammar of the schema's values constrains the reply
//! ([`GrammarGenerator::generate_value`](crate::grammar::GrammarGenerator::generate_value)).
//! Every reply, constrained or not, is then read as JSON (with the same repair as the
//! calls: code fences, a prefix, trailing text, a cut-off end) and validated
//! ([`JsonAnswer::check`]); an answer that is not valid is asked for again
//! (`max_retries`), then answered with a 502 `invalid_structured_output` carrying the
//! raw text. The response's content is the JSON value, written compactly.
//!
//! A `response_format` answer is a text answer, so it is served without tools, or
//! with `tool_choice: "none"`; with a call possible the request is refused by name.

use std::sync::Arc;

use serde_json::{json, Value};

use super::call_policy::{CallPolicy, SchemaValidators};
use super::error::ProxyError;
use crate::chat::{AssistantMessage, ChatMessage, MessageContent, Role};
use crate::completion::{JsonSchemaFormat, ResponseFormat};
use crate::repair::repair_json;

/// The longest `json_schema.name` OpenAI takes.
const MAX_NAME_LENGTH: usize = 64;

/// How many schema violations an error lists.
const PROBLEMS_SHOWN: usize = 3;

/// A request's JSON answer: what the content must be, checked after every reply.
pub(super) struct JsonAnswer {
    /// The schema the content keeps to.
    schema: Value,
    /// Its compiled validator.
    validator: Arc<jsonschema::Validator>,
    /// The text added to the system turn.
    instruction: String,
    /// `json_object`, or `json_schema` with the format's name (for messages).
    label: String,
}

impl JsonAnswer {
    /// Reads the request's `response_format` against what the request lets the model
    /// answer with. `None`: plain text (no format, or `text`). Errors name the field:
    /// a format together with possible calls, a bad `name`, a schema that is not a
    /// valid JSON Schema.
    pub(super) fn from_request(
        format: Option<&ResponseFormat>,
        policy: &CallPolicy,
        validators: &SchemaValidators,
    ) -> Result<Option<Self>, ProxyError> {
        let (schema, instruction, label) = match format {
            None | Some(ResponseFormat::Text) => return Ok(None),
            Some(ResponseFormat::JsonObject) => (
                json!({"type": "object"}),
                "Answer with one JSON object and nothing else: no text before or after it, no code fence.".to_owned(),
                "json_object".to_owned(),
            ),
            Some(ResponseFormat::JsonSchema { json_schema }) => {
                check_name(json_schema)?;
                let schema = json_schema.schema.clone().unwrap_or_else(|| json!({}));
                (
                    schema.clone(),
                    schema_instruction(json_schema, &schema),
                    format!("json_schema `{}`", json_schema.name),
                )
            }
        };
        if *policy != CallPolicy::Text {
            return Err(ProxyError::invalid(format!(
                "`response_format` {label} is served for plain answers only, but this request lets the model call a tool; leave out `tools`/`functions`, or send `tool_choice: \"none\"`, or leave out `response_format`"
            )));
        }
        let validator = validators.get(&schema).map_err(|error| {
            ProxyError::invalid(format!(
                "`response_format.json_schema.schema` is not a valid JSON Schema: {error}"
            ))
        })?;
        Ok(Some(JsonAnswer {
            schema,
            validator,
            instruction,
            label,
        }))
    }

    /// The schema the content keeps to (for the grammar).
    pub(super) fn schema(&self) -> &Value {
        &self.schema
    }

    /// The conversation with the instruction at the end of the system turn (a system
    /// message first is added when there is none).
    pub(super) fn instructed(&self, messages: &[ChatMessage]) -> Vec<ChatMessage> {
        let mut all = Vec::with_capacity(messages.len() + 1);
        match messages.first() {
            Some(first) if first.role == Role::System => {
                let mut system = first.clone();
                let text = system.text_or_empty();
                let joined = if text.trim().is_empty() {
                    self.instruction.clone()
                } else {
                    format!("{}\n\n{}", text.trim_end(), self.instruction)
                };
                system.content = Some(MessageContent::Text(joined));
                all.push(system);
                all.extend_from_slice(messages.get(1..).unwrap_or_default());
            }
            _ => {
                all.push(ChatMessage::new(Role::System, self.instruction.clone()));
                all.extend_from_slice(messages);
            }
        }
        all
    }

    /// Reads the message's content as the JSON answer and validates it; on success
    /// the content is the value, written compactly. Errors
    /// ([`ProxyError::InvalidStructuredOutput`]): no JSON, not an object in JSON mode,
    /// not valid against the schema.
    pub(super) fn check(
        &self,
        message: &mut AssistantMessage,
        raw_output: &str,
    ) -> Result<(), ProxyError> {
        let invalid = |reason: String| ProxyError::InvalidStructuredOutput {
            reason,
            raw_output: raw_output.to_owned(),
        };
        let text = message.content.as_deref().unwrap_or_default();
        let value = repair_json(text)
            .map_err(|error| invalid(format!("the {} answer is not JSON ({error})", self.label)))?;
        let problems: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(PROBLEMS_SHOWN)
            .map(|error| {
                let at = error.instance_path().to_string();
                if at.is_empty() {
                    error.to_string()
                } else {
                    format!("{at}: {error}")
                }
            })
            .collect();
        if !problems.is_empty() {
            return Err(invalid(format!(
                "the answer does not match the {} schema: {}",
                self.label,
                problems.join("; ")
            )));
        }
        message.content = Some(value.to_string());
        message.function_calls.clear();
        Ok(())
    }
}

/// OpenAI's rule for `json_schema.name`: 1 to 64 of `a-z`, `A-Z`, `0-9`, `_`, `-`.
fn check_name(format: &JsonSchemaFormat) -> Result<(), ProxyError> {
    let name = &format.name;
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NAME_LENGTH || !name.chars().all(allowed) {
        return Err(ProxyError::invalid(format!(
            "`response_format.json_schema.name` must be 1 to {MAX_NAME_LENGTH} letters, digits, `_` or `-`, not {name:?}"
        )));
    }
    Ok(())
}

/// The instruction for a `json_schema` answer: the schema as JSON, with the format's
/// name and description.
fn schema_instruction(format: &JsonSchemaFormat, schema: &Value) -> String {
    let about = match format.description.as_deref().map(str::trim) {
        Some(description) if !description.is_empty() => format!(" ({description})"),
        _ => String::new(),
    };
    format!(
        "Answer with JSON and nothing else: no text before or after it, no code fence. The answer is a `{}`{about} and must validate against this JSON Schema:\n{schema}",
        format.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(format: Value, policy: &CallPolicy) -> Result<Option<JsonAnswer>, String> {
        let format: ResponseFormat = serde_json::from_value(format).map_err(|e| e.to_string())?;
        JsonAnswer::from_request(Some(&format), policy, &SchemaValidators::new())
            .map_err(|error| error.to_string())
    }

    fn checked(answer: &JsonAnswer, text: &str) -> Result<Option<String>, ProxyError> {
        let mut message = AssistantMessage {
            content: Some(text.to_owned()),
            reasoning: None,
            function_calls: Vec::new(),
        };
        answer.check(&mut message, text).map(|()| message.content)
    }

    fn person() -> Value {
        json!({"type": "json_schema", "json_schema": {"name": "Person", "strict": true, "schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"], "additionalProperties": false}}})
    }

    #[test]
    fn text_and_no_format_ask_for_nothing() {
        assert!(answer(json!({"type": "text"}), &CallPolicy::Auto)
            .unwrap()
            .is_none());
        assert!(
            JsonAnswer::from_request(None, &CallPolicy::Text, &SchemaValidators::new())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn json_mode_takes_one_object_and_writes_it_compactly() {
        let answer = answer(json!({"type": "json_object"}), &CallPolicy::Text)
            .unwrap()
            .unwrap();
        assert_eq!(
            checked(&answer, "```json\n{\"a\": [1, 2]}\n```").unwrap(),
            Some("{\"a\":[1,2]}".to_owned())
        );
        let error = checked(&answer, "[1, 2]").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidStructuredOutput);
        assert!(error.to_string().contains("object"), "{error}");
        assert!(checked(&answer, "no JSON here").is_err());
        assert!(checked(&answer, "").is_err());
    }

    #[test]
    fn a_schema_answer_must_validate() {
        let answer = answer(person(), &CallPolicy::Text).unwrap().unwrap();
        assert_eq!(
            checked(&answer, "{\"name\": \"Ada\", \"age\": 36}").unwrap(),
            Some("{\"name\":\"Ada\",\"age\":36}".to_owned())
        );
        let error = checked(&answer, "{\"name\": \"Ada\"}").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("json_schema `Person`"), "{message}");
        assert!(message.contains("age"), "{message}");
        assert!(checked(&answer, "{\"name\": \"Ada\", \"age\": \"old\"}").is_err());
        assert!(checked(&answer, "{\"name\": \"Ada\", \"age\": 1, \"x\": 0}").is_err());
    }

    #[test]
    fn the_instruction_joins_the_system_turn_or_opens_the_conversation() {
        let answer = answer(person(), &CallPolicy::Text).unwrap().unwrap();
        let with_system = answer.instructed(&[
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Who?"),
        ]);
        assert_eq!(with_system.len(), 2);
        let system = with_system[0].text_or_empty();
        assert!(
            system.starts_with("Be brief.\n\nAnswer with JSON"),
            "{system}"
        );
        assert!(
            system.contains("\"required\":[\"name\",\"age\"]"),
            "{system}"
        );
        let without = answer.instructed(&[ChatMessage::new(Role::User, "Who?")]);
        assert_eq!(without.len(), 2);
        assert_eq!(without[0].role, Role::System);
        assert_eq!(without[1].text_or_empty(), "Who?");
    }

    #[test]
    fn bad_formats_are_refused_by_name() {
        for (format, policy, field) in [
            (person(), CallPolicy::Auto, "`response_format`"),
            (person(), CallPolicy::Required, "`response_format`"),
            (
                json!({"type": "json_schema", "json_schema": {"name": "has space", "schema": {}}}),
                CallPolicy::Text,
                "`response_format.json_schema.name`",
            ),
            (
                json!({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "wrong"}}}),
                CallPolicy::Text,
                "`response_format.json_schema.schema`",
            ),
        ] {
            let message = answer(format, &policy).err().unwrap_or_default();
            assert!(message.contains(field), "{field}: {message}");
        }
        let missing = answer(json!({"type": "json_schema"}), &CallPolicy::Text);
        assert!(
            missing
                .as_ref()
                .err()
                .is_some_and(|e| e.contains("json_schema")),
            "{:?}",
            missing.err()
        );
    }
}
