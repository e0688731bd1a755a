//! What a request lets the model answer with — [`CallPolicy`], from `tool_choice` /
//! `function_call` and the functions offered; [`CallCount`], one call or several, from
//! `parallel_tool_calls` — and the check that a parsed answer keeps to it
//! ([`check_answer`]): for each call, a function that was offered, arguments that
//! validate against its JSON Schema, the named function where one is named; a call
//! where one is required.

use std::sync::Arc;

use serde_json::Value;

use super::error::ProxyError;
use crate::backend::SamplingOverrides;
use crate::chat::{AssistantMessage, FunctionSchema, ParsedFunctionCall};
use crate::completion::ChatCompletionRequest;
use crate::inner_monologue::INNER_THOUGHTS_KWARG;
use crate::settings::CALL_END_STOP;
use crate::wrapper::{PromptWrapper, WrapperError};

/// What the model may answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CallPolicy {
    /// Plain text, no call: no functions were offered, or `tool_choice: "none"`.
    Text,
    /// A call or not, as the wrapper's shape allows (`"auto"`, the default with tools).
    Auto,
    /// A call must come back (`tool_choice: "required"`).
    Required,
    /// The call must be to this function (`{"type": "function", "function": {"name"}}`,
    /// or the legacy `function_call: {"name"}`).
    Named(String),
}

impl CallPolicy {
    /// Whether the answer must be a call.
    pub(super) fn requires_call(&self) -> bool {
        matches!(self, CallPolicy::Required | CallPolicy::Named(_))
    }
}

/// Reads `tool_choice` (else the legacy `function_call`) against the offered
/// `functions`. Errors name the field: an unknown form, `required` or a named function
/// with no functions offered, a name that is not among them.
pub(super) fn call_policy(
    request: &ChatCompletionRequest,
    functions: &[FunctionSchema],
) -> Result<CallPolicy, ProxyError> {
    let (field, choice) = match (&request.tool_choice, &request.function_call) {
        (Some(choice), _) if !choice.is_null() => ("tool_choice", choice),
        (_, Some(choice)) if !choice.is_null() => ("function_call", choice),
        _ => return Ok(default_policy(functions)),
    };
    let named = |name: &str| -> Result<CallPolicy, ProxyError> {
        if functions.iter().any(|function| function.name == name) {
            Ok(CallPolicy::Named(name.to_owned()))
        } else {
            Err(ProxyError::invalid(format!(
                "{field} names the function `{name}`, which is not among the {} offered ({})",
                if field == "tool_choice" {
                    "tools"
                } else {
                    "functions"
                },
                names(functions)
            )))
        }
    };
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(default_policy(functions)),
            "none" => Ok(CallPolicy::Text),
            "required" if field == "tool_choice" => {
                if functions.is_empty() {
                    Err(ProxyError::invalid(
                        "tool_choice is \"required\" but no tools are given; send `tools` or leave tool_choice out",
                    ))
                } else {
                    Ok(CallPolicy::Required)
                }
            }
            other => Err(ProxyError::invalid(format!(
                "{field} \"{other}\" is not supported; use \"auto\", \"none\"{}, or name a function",
                if field == "tool_choice" { ", \"required\"" } else { "" }
            ))),
        },
        Value::Object(object) => {
            let name = match field {
                "tool_choice" => {
                    let kind = object.get("type").and_then(Value::as_str);
                    if kind != Some("function") {
                        return Err(ProxyError::invalid(
                            "tool_choice as an object must be {\"type\": \"function\", \"function\": {\"name\": …}}",
                        ));
                    }
                    object
                        .get("function")
                        .and_then(|function| function.get("name"))
                        .and_then(Value::as_str)
                }
                _ => object.get("name").and_then(Value::as_str),
            };
            match name {
                Some(name) => named(name),
                None => Err(ProxyError::invalid(format!(
                    "{field} names no function; give {}",
                    if field == "tool_choice" {
                        "{\"type\": \"function\", \"function\": {\"name\": …}}"
                    } else {
                        "{\"name\": …}"
                    }
                ))),
            }
        }
        other => Err(ProxyError::invalid(format!(
            "{field} must be a string or an object, not {other}"
        ))),
    }
}

/// How many calls one reply may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallCount {
    /// One: legacy `functions` callers (OpenAI's `function_call` is one call),
    /// `parallel_tool_calls: false`, plain-text answers. A reply's answer objects
    /// after the first are not read (the reference's parse).
    One,
    /// One or more (`tools` with `parallel_tool_calls` true or left out, as OpenAI's
    /// default): every answer object of the reply is a call, in order.
    Several,
}

impl CallCount {
    /// The count `request` allows under `policy`.
    pub(super) fn of(request: &ChatCompletionRequest, policy: &CallPolicy) -> Self {
        if *policy == CallPolicy::Text
            || request.uses_legacy_functions()
            || request.parallel_tool_calls == Some(false)
        {
            CallCount::One
        } else {
            CallCount::Several
        }
    }

    /// Reads the model's text with `wrapper`: one call
    /// ([`PromptWrapper::parse_output`]) or several
    /// ([`PromptWrapper::parse_parallel_output`]).
    pub(super) fn parse(
        self,
        wrapper: &dyn PromptWrapper,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        match self {
            CallCount::One => wrapper.parse_output(raw_output, first_message),
            CallCount::Several => wrapper.parse_parallel_output(raw_output, first_message),
        }
    }

    /// Lets the model go on after its first answer object when several calls may
    /// come: [`CALL_END_STOP`] is taken out of the stop strings the settings and the
    /// backend's defaults send.
    pub(super) fn open_stop_list(self, overrides: &mut SamplingOverrides) {
        if self == CallCount::Several {
            overrides.removed_stops.push(CALL_END_STOP.to_owned());
        }
    }
}

/// `auto` with functions, plain text without.
fn default_policy(functions: &[FunctionSchema]) -> CallPolicy {
    if functions.is_empty() {
        CallPolicy::Text
    } else {
        CallPolicy::Auto
    }
}

fn names(functions: &[FunctionSchema]) -> String {
    if functions.is_empty() {
        return "none".to_owned();
    }
    functions
        .iter()
        .map(|function| function.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The functions the prompt lists and the grammar admits: the named one alone, none
/// for plain text, else all.
pub(super) fn offered_functions(
    policy: &CallPolicy,
    functions: Vec<FunctionSchema>,
) -> Vec<FunctionSchema> {
    match policy {
        CallPolicy::Text => Vec::new(),
        CallPolicy::Named(name) => functions
            .into_iter()
            .filter(|function| &function.name == name)
            .collect(),
        CallPolicy::Auto | CallPolicy::Required => functions,
    }
}

/// How many compiled parameter schemas a client keeps (an agent uses one or a few
/// function sets; the least recently used beyond this are dropped).
const VALIDATOR_CACHE_CAPACITY: usize = 256;

/// A client's compiled JSON Schema validators, by the schema's content: compiling one
/// costs far more than validating with it, and the same schemas come with every
/// request of an agent. Keyed by a hash of the schema's value (a walk, no text is
/// written), and each entry keeps its schema, so that a hash collision compiles
/// instead of reusing another schema's validator.
pub(super) struct SchemaValidators(quick_cache::sync::Cache<u64, Arc<CompiledSchema>>);

/// A schema and its validator.
struct CompiledSchema {
    schema: Value,
    validator: Arc<jsonschema::Validator>,
}

impl SchemaValidators {
    /// An empty cache.
    pub(super) fn new() -> Self {
        SchemaValidators(quick_cache::sync::Cache::new(VALIDATOR_CACHE_CAPACITY))
    }

    /// The validator for `schema`, compiled once. Errors: the schema is not valid.
    pub(super) fn get(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let key = schema_hash(schema);
        if let Some(compiled) = self.0.get(&key) {
            if compiled.schema == *schema {
                return Ok(Arc::clone(&compiled.validator));
            }
        }
        let validator =
            Arc::new(jsonschema::validator_for(schema).map_err(|error| error.to_string())?);
        self.0.insert(
            key,
            Arc::new(CompiledSchema {
                schema: schema.clone(),
                validator: Arc::clone(&validator),
            }),
        );
        Ok(validator)
    }
}

/// A hash of a JSON value's content (object members in order, as the schema's text
/// would list them).
fn schema_hash(schema: &Value) -> u64 {
    use std::hash::{Hash, Hasher};

    fn walk(value: &Value, state: &mut rustc_hash::FxHasher) {
        match value {
            Value::Null => 0_u8.hash(state),
            Value::Bool(flag) => (1_u8, flag).hash(state),
            Value::Number(number) => {
                2_u8.hash(state);
                match (number.as_u64(), number.as_i64(), number.as_f64()) {
                    (Some(unsigned), _, _) => (0_u8, unsigned).hash(state),
                    (None, Some(signed), _) => (1_u8, signed).hash(state),
                    (None, None, Some(float)) => (2_u8, float.to_bits()).hash(state),
                    (None, None, None) => 3_u8.hash(state),
                }
            }
            Value::String(text) => (3_u8, text).hash(state),
            Value::Array(items) => {
                (4_u8, items.len()).hash(state);
                for item in items {
                    walk(item, state);
                }
            }
            Value::Object(members) => {
                (5_u8, members.len()).hash(state);
                for (key, member) in members {
                    key.hash(state);
                    walk(member, state);
                }
            }
        }
    }

    // FxHash: fast on short strings, and a collision only costs a compile.
    let mut state = rustc_hash::FxHasher::default();
    walk(schema, &mut state);
    state.finish()
}

/// Checks a parsed answer against the policy and the offered functions, each of its
/// calls in turn, and keeps `inner_thoughts` in the arguments of a function whose
/// schema declares it (MemGPT's inner-thoughts-in-arguments mode) — the wrappers move
/// it into `content` (with several calls, each such call gets the whole content).
///
/// Errors ([`ProxyError::InvalidToolCall`]): no call where one is required; a call to
/// a function that was not offered (or not the named one), or arguments that do not
/// validate against the function's `parameters` schema (the first such call is
/// named, and the answer is refused whole).
pub(super) fn check_answer(
    message: &mut AssistantMessage,
    policy: &CallPolicy,
    offered: &[FunctionSchema],
    validators: &SchemaValidators,
    raw_output: &str,
) -> Result<(), ProxyError> {
    let invalid = |reason: String| ProxyError::InvalidToolCall {
        reason,
        raw_output: raw_output.to_owned(),
    };
    if message.function_calls.is_empty() && policy.requires_call() {
        return Err(invalid(format!(
            "a call is required ({}) but the model answered without one",
            match policy {
                CallPolicy::Named(name) => format!("tool_choice names `{name}`"),
                _ => "tool_choice is \"required\"".to_owned(),
            }
        )));
    }
    let count = message.function_calls.len();
    for (number, call) in message.function_calls.iter_mut().enumerate() {
        let invalid = |reason: String| {
            invalid(if count > 1 {
                format!("call {} of {count}: {reason}", number + 1)
            } else {
                reason
            })
        };
        check_call(
            call,
            message.content.as_deref(),
            policy,
            offered,
            validators,
            &invalid,
        )?;
    }
    Ok(())
}

/// Checks one call (see [`check_answer`]); `thoughts` are the message's content,
/// `invalid` makes the error for a reason.
fn check_call(
    call: &mut ParsedFunctionCall,
    thoughts: Option<&str>,
    policy: &CallPolicy,
    offered: &[FunctionSchema],
    validators: &SchemaValidators,
    invalid: &dyn Fn(String) -> ProxyError,
) -> Result<(), ProxyError> {
    if let CallPolicy::Named(name) = policy {
        if &call.name != name {
            return Err(invalid(format!(
                "the model called `{}`, but tool_choice names `{name}`",
                call.name
            )));
        }
    }
    let Some(function) = offered.iter().find(|function| function.name == call.name) else {
        return Err(invalid(format!(
            "the model called `{}`, which is not among the functions offered ({})",
            call.name,
            names(offered)
        )));
    };
    let Some(schema) = function.parameters.as_ref() else {
        return Ok(());
    };
    if declares_inner_thoughts(schema) {
        if let (Some(arguments), Some(thoughts)) = (call.arguments.as_object_mut(), thoughts) {
            arguments
                .entry(INNER_THOUGHTS_KWARG)
                .or_insert_with(|| Value::String(thoughts.to_owned()));
        }
    }
    let validator = validators.get(schema).map_err(|error| {
        ProxyError::invalid(format!(
            "the parameters schema of `{}` is not a valid JSON Schema: {error}",
            function.name
        ))
    })?;
    let problems: Vec<String> = validator
        .iter_errors(&call.arguments)
        .take(3)
        .map(|error| {
            let at = error.instance_path().to_string();
            if at.is_empty() {
                error.to_string()
            } else {
                format!("{at}: {error}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "the arguments of `{}` do not match its parameters schema: {}",
            call.name,
            problems.join("; ")
        )))
    }
}

/// Whether a parameters schema lists `inner_thoughts` among its properties.
fn declares_inner_thoughts(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|properties| properties.contains_key(INNER_THOUGHTS_KWARG))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrator::test_support::request;
    use serde_json::json;

    #[test]
    fn validators_are_compiled_once_per_schema_and_never_shared_across_schemas() {
        let validators = SchemaValidators::new();
        let schema =
            json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]});
        let first = validators.get(&schema).unwrap();
        let again = validators.get(&schema.clone()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same schema is compiled once"
        );
        let other = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_ne!(schema_hash(&schema), schema_hash(&other));
        assert!(!Arc::ptr_eq(&first, &validators.get(&other).unwrap()));

        // A hash collision (another schema stored under this schema's hash) compiles
        // this schema instead of reusing the other's validator.
        let impostor = jsonschema::validator_for(&json!({"type": "string"})).unwrap();
        validators.0.insert(
            schema_hash(&other),
            Arc::new(CompiledSchema {
                schema: json!({"type": "string"}),
                validator: Arc::new(impostor),
            }),
        );
        let validator = validators.get(&other).unwrap();
        assert!(validator.is_valid(&json!({"a": "x"})));
        assert!(!validator.is_valid(&json!("just a string")));
    }

    fn functions() -> Vec<FunctionSchema> {
        serde_json::from_value(json!([
            {"name": "send_message", "parameters": {"type": "object",
                "properties": {"message": {"type": "string"}}, "required": ["message"]}},
            {"name": "think", "parameters": {"type": "object",
                "properties": {"inner_thoughts": {"type": "string"}}, "required": ["inner_thoughts"]}}
        ]))
        .unwrap()
    }

    fn policy(choice: Value, legacy: bool) -> Result<CallPolicy, String> {
        let field = if legacy {
            "function_call"
        } else {
            "tool_choice"
        };
        let req = request(json!({"messages": [{"role": "user", "content": "hi"}], field: choice}));
        call_policy(&req, &functions()).map_err(|error| error.to_string())
    }

    #[test]
    fn every_tool_choice_form_is_read_or_refused_naming_the_field() {
        assert_eq!(policy(json!(null), false), Ok(CallPolicy::Auto));
        assert_eq!(policy(json!("auto"), false), Ok(CallPolicy::Auto));
        assert_eq!(policy(json!("none"), false), Ok(CallPolicy::Text));
        assert_eq!(policy(json!("required"), false), Ok(CallPolicy::Required));
        assert_eq!(
            policy(
                json!({"type": "function", "function": {"name": "think"}}),
                false
            ),
            Ok(CallPolicy::Named("think".into()))
        );
        assert_eq!(
            policy(json!({"name": "send_message"}), true),
            Ok(CallPolicy::Named("send_message".into()))
        );
        assert_eq!(policy(json!("none"), true), Ok(CallPolicy::Text));
        for (bad, legacy, says) in [
            (
                json!({"type": "function", "function": {"name": "nope"}}),
                false,
                "`nope`",
            ),
            (json!({"name": "nope"}), true, "function_call"),
            (json!("required"), true, "function_call"),
            (json!("sometimes"), false, "tool_choice"),
            (json!({"type": "retrieval"}), false, "tool_choice"),
            (json!(3), false, "tool_choice"),
        ] {
            let error = policy(bad.clone(), legacy).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        let no_tools = request(json!({"messages": [], "tool_choice": "required"}));
        assert!(call_policy(&no_tools, &[]).is_err());
        let plain = request(json!({"messages": []}));
        assert_eq!(call_policy(&plain, &[]).ok(), Some(CallPolicy::Text));
    }

    fn answer(name: &str, arguments: Value) -> AssistantMessage {
        AssistantMessage {
            content: Some("Thinking.".into()),
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: name.into(),
                arguments,
            }],
        }
    }

    #[test]
    fn calls_are_checked_against_the_offered_schemas() {
        let offered = functions();
        let mut good = answer("send_message", json!({"message": "hi"}));
        assert!(check_answer(
            &mut good,
            &CallPolicy::Auto,
            &offered,
            &SchemaValidators::new(),
            "raw"
        )
        .is_ok());
        for (mut bad, policy, says) in [
            (
                answer("send_message", json!({"message": 3})),
                CallPolicy::Auto,
                "/message",
            ),
            (
                answer("send_message", json!({})),
                CallPolicy::Auto,
                "message",
            ),
            (answer("launch", json!({})), CallPolicy::Auto, "not among"),
            (
                answer("send_message", json!({"message": "hi"})),
                CallPolicy::Named("think".into()),
                "names `think`",
            ),
        ] {
            match check_answer(
                &mut bad,
                &policy,
                &offered,
                &SchemaValidators::new(),
                "the raw text",
            ) {
                Err(ProxyError::InvalidToolCall { reason, raw_output }) => {
                    assert!(reason.contains(says), "{reason}");
                    assert_eq!(raw_output, "the raw text");
                }
                other => panic!("{other:?}"),
            }
        }
        let mut text = AssistantMessage {
            content: Some("Just text.".into()),
            reasoning: None,
            function_calls: Vec::new(),
        };
        assert!(check_answer(
            &mut text,
            &CallPolicy::Auto,
            &offered,
            &SchemaValidators::new(),
            ""
        )
        .is_ok());
        assert!(check_answer(
            &mut text,
            &CallPolicy::Required,
            &offered,
            &SchemaValidators::new(),
            ""
        )
        .is_err());
    }

    #[test]
    fn declared_inner_thoughts_stay_in_the_arguments() {
        let mut message = answer("think", json!({}));
        assert!(check_answer(
            &mut message,
            &CallPolicy::Auto,
            &functions(),
            &SchemaValidators::new(),
            ""
        )
        .is_ok());
        let call = message.function_calls.into_iter().next().unwrap();
        assert_eq!(call.arguments, json!({"inner_thoughts": "Thinking."}));
        let mut other = answer("send_message", json!({"message": "hi"}));
        assert!(check_answer(
            &mut other,
            &CallPolicy::Auto,
            &functions(),
            &SchemaValidators::new(),
            ""
        )
        .is_ok());
        assert_eq!(
            other.function_calls.into_iter().next().unwrap().arguments,
            json!({"message": "hi"}),
            "undeclared: not added"
        );
    }
}
