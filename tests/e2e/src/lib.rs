//! Support for the end-to-end tests: where the real server is, the conversations to
//! send (the public fixtures' cases, with their functions), and checking a call against
//! its function's JSON Schema.

use chat_completion_proxy::{ChatCompletionRequest, FunctionSchema, ResponseMessage};
use serde_json::{json, Value};
use workspace_tests::{load_fixture, PromptFixtures};

/// The real llama.cpp server's base URL, from `CCP_E2E_LLAMA_URL` (set by
/// `cargo xtask e2e`).
pub fn server_url() -> Result<String, String> {
    std::env::var("CCP_E2E_LLAMA_URL").map_err(|_| {
        "CCP_E2E_LLAMA_URL is not set: run these tests with `cargo xtask e2e`, which starts a real llama-server".to_owned()
    })
}

/// The model file the real server runs, from `CCP_E2E_MODEL_PATH` (set by
/// `cargo xtask e2e`).
pub fn model_path() -> Result<std::path::PathBuf, String> {
    std::env::var_os("CCP_E2E_MODEL_PATH")
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            "CCP_E2E_MODEL_PATH is not set: run these tests with `cargo xtask e2e`, which provides the model".to_owned()
        })
}

/// The context size the server was started with.
pub fn context_size() -> u64 {
    std::env::var("CCP_E2E_CONTEXT_SIZE")
        .ok()
        .and_then(|size| size.parse().ok())
        .unwrap_or(4096)
}

/// One conversation to send.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The fixture case name.
    pub case: String,
    /// The request (messages and `tools`, fixed seed and temperature).
    pub request: ChatCompletionRequest,
    /// The functions offered.
    pub functions: Vec<FunctionSchema>,
}

/// One request per distinct case of the public prompt fixtures, with its functions as
/// `tools`, seed 42 and temperature 0 so runs repeat.
pub fn fixture_conversations() -> Result<Vec<Conversation>, String> {
    let fixtures: PromptFixtures = load_fixture("reference-prompts.json");
    let mut seen = Vec::new();
    let mut conversations = Vec::new();
    for case in fixtures.prompts {
        if seen.contains(&case.case) {
            continue;
        }
        seen.push(case.case.clone());
        let functions = case.functions.clone().unwrap_or_default();
        let tools: Vec<Value> = functions
            .iter()
            .map(|function| json!({"type": "function", "function": function}))
            .collect();
        let request = serde_json::from_value(json!({
            "model": "smollm2",
            "messages": case.messages,
            "tools": tools,
            "seed": 42,
            "temperature": 0.0,
            "max_tokens": 256,
        }))
        .map_err(|error| error.to_string())?;
        conversations.push(Conversation {
            case: case.case,
            request,
            functions,
        });
    }
    Ok(conversations)
}

/// Checks that `message` carries exactly one call to one of `functions` whose arguments
/// validate against that function's parameter schema. `Err` says what is wrong.
pub fn check_call(message: &ResponseMessage, functions: &[FunctionSchema]) -> Result<(), String> {
    let calls = message
        .tool_calls
        .as_ref()
        .ok_or_else(|| format!("no tool call in {message:?}"))?;
    let [call] = calls.as_slice() else {
        return Err(format!("expected one tool call, got {}", calls.len()));
    };
    if call.id.is_empty() {
        return Err("empty tool-call id".to_owned());
    }
    let function = functions
        .iter()
        .find(|function| function.name == call.function.name)
        .ok_or_else(|| format!("called unknown function `{}`", call.function.name))?;
    let arguments: Value = serde_json::from_str(&call.function.arguments).map_err(|error| {
        format!(
            "arguments are not JSON ({error}): {}",
            call.function.arguments
        )
    })?;
    let schema = function
        .parameters
        .clone()
        .unwrap_or_else(|| json!({"type": "object"}));
    let validator =
        jsonschema::validator_for(&schema).map_err(|error| format!("bad schema: {error}"))?;
    let problems: Vec<String> = validator
        .iter_errors(&arguments)
        .map(|error| error.to_string())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{}` arguments {arguments} violate its schema: {}",
            call.function.name,
            problems.join("; ")
        ))
    }
}
