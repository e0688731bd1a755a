//! The function listing in the system turn (the reference's
//! `_compile_function_description`, `_compile_function_block` and
//! `_compile_system_message`).

use serde_json::Value;

use super::bodies::INNER_THOUGHTS_KWARG;
use super::ThoughtsPlacement;
use crate::chat::FunctionSchema;
use crate::python_json;

/// What the inner-thoughts parameter is described as (`INNER_THOUGHTS_KWARG_DESCRIPTION`).
pub const INNER_THOUGHTS_DESCRIPTION: &str = "Deep inner monologue private to you only.";

/// The instruction that opens the function listing.
pub const SELECT_FUNCTION_INSTRUCTION: &str = "Please select the most suitable function and parameters from the list of available functions below, based on the ongoing conversation. Provide your response in JSON format.";

/// What the `noforce` formats add to [`SELECT_FUNCTION_INSTRUCTION`] (after a space).
pub const OPTIONAL_CALL_INSTRUCTION: &str =
    "You must always include inner thoughts, but you do not always have to call a function.";

/// The heading of the list, on its own line after the instruction.
pub const AVAILABLE_FUNCTIONS_HEADING: &str = "Available functions:";

/// A JSON value as Python's f-string shows it: strings as they are, other values as
/// JSON text.
fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_json::dumps(other, None),
    }
}

/// `"key: value"` lines keep the reference's `": "`; a missing value leaves just
/// `"key:"` (the reference crashed with a `KeyError`).
fn labelled(label: &str, value: Option<&Value>) -> String {
    match value {
        Some(value) => format!("{label}: {}", display(value)),
        None => format!("{label}:"),
    }
}

/// One function in the airoboros style:
///
/// ```text
/// name:
///   description: …
///   params:
///     inner_thoughts: Deep inner monologue private to you only.
///     param: its description
/// ```
///
/// The `inner_thoughts` line is there only with `add_inner_thoughts`. Parameter types
/// and `required` are not shown (as in the reference). A schema without a description
/// or parameters renders what it has.
pub fn function_description(schema: &FunctionSchema, add_inner_thoughts: bool) -> String {
    let mut text = format!("{}:", schema.name);
    let description = schema.description.clone().map(Value::String);
    text.push_str("\n  ");
    text.push_str(&labelled("description", description.as_ref()));
    text.push_str("\n  params:");
    if add_inner_thoughts {
        text.push_str(&format!(
            "\n    {INNER_THOUGHTS_KWARG}: {INNER_THOUGHTS_DESCRIPTION}"
        ));
    }
    let properties = schema
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.get("properties"))
        .and_then(Value::as_object);
    for (name, property) in properties.into_iter().flatten() {
        text.push_str("\n    ");
        text.push_str(&labelled(name, property.get("description")));
    }
    text
}

/// The instruction, the heading and every function: with `inner_thoughts` listed as
/// each function's first parameter for [`ThoughtsPlacement::InParams`], or with the
/// extra "you do not always have to call a function" sentence and no
/// `inner_thoughts` lines for [`ThoughtsPlacement::TopLevel`].
pub fn function_block(functions: &[FunctionSchema], placement: ThoughtsPlacement) -> String {
    let mut block = match placement {
        ThoughtsPlacement::InParams => SELECT_FUNCTION_INSTRUCTION.to_owned(),
        ThoughtsPlacement::TopLevel => {
            format!("{SELECT_FUNCTION_INSTRUCTION} {OPTIONAL_CALL_INSTRUCTION}")
        }
    };
    block.push('\n');
    block.push_str(AVAILABLE_FUNCTIONS_HEADING);
    let add_inner_thoughts = placement == ThoughtsPlacement::InParams;
    for function in functions {
        block.push('\n');
        block.push_str(&function_description(function, add_inner_thoughts));
    }
    block
}

/// The system turn's text: the system prompt, a line feed, then the function block,
/// or, when a grammar generator documented the functions, the instruction, the
/// heading, a line feed and that documentation (the same instruction for both
/// placements, as in the reference).
pub fn system_block(
    system_prompt: &str,
    functions: &[FunctionSchema],
    function_documentation: Option<&str>,
    placement: ThoughtsPlacement,
) -> String {
    let mut block = format!("{system_prompt}\n");
    match function_documentation {
        Some(documentation) => {
            block.push_str(SELECT_FUNCTION_INSTRUCTION);
            block.push('\n');
            block.push_str(AVAILABLE_FUNCTIONS_HEADING);
            block.push('\n');
            block.push_str(documentation);
        }
        None => block.push_str(&function_block(functions, placement)),
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn send_message() -> FunctionSchema {
        FunctionSchema {
            name: "send_message".into(),
            description: Some("Sends a message.".into()),
            parameters: Some(json!({
                "type": "object",
                "properties": {"message": {"type": "string", "description": "Text."}},
                "required": ["message"]
            })),
        }
    }

    #[test]
    fn description_lists_inner_thoughts_first_when_asked() {
        assert_eq!(
            function_description(&send_message(), true),
            "send_message:\n  description: Sends a message.\n  params:\n    inner_thoughts: Deep inner monologue private to you only.\n    message: Text."
        );
        assert_eq!(
            function_description(&send_message(), false),
            "send_message:\n  description: Sends a message.\n  params:\n    message: Text."
        );
    }

    #[test]
    fn a_bare_schema_renders_without_crashing() {
        // The reference raised KeyError on a missing description or parameters.
        let bare = FunctionSchema {
            name: "ping".into(),
            description: None,
            parameters: Some(json!({"properties": {"n": {"type": "integer"}}})),
        };
        assert_eq!(
            function_description(&bare, false),
            "ping:\n  description:\n  params:\n    n:"
        );
    }

    #[test]
    fn noforce_block_says_calls_are_optional() {
        let block = function_block(&[send_message()], ThoughtsPlacement::TopLevel);
        assert!(block.starts_with(&format!(
            "{SELECT_FUNCTION_INSTRUCTION} {OPTIONAL_CALL_INSTRUCTION}\nAvailable functions:\nsend_message:"
        )));
        assert!(!block.contains("inner_thoughts"));
    }

    #[test]
    fn documentation_replaces_the_listing() {
        let block = system_block(
            "Be nice.",
            &[send_message()],
            Some("DOCS"),
            ThoughtsPlacement::TopLevel,
        );
        assert_eq!(
            block,
            format!("Be nice.\n{SELECT_FUNCTION_INSTRUCTION}\nAvailable functions:\nDOCS")
        );
    }
}
