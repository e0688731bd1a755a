//! The built binary, run as scripts run it (SPEC §9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::built_with;

fn cli() -> Command {
    match Command::cargo_bin("chat-completion-proxy") {
        Ok(command) => command,
        Err(error) => panic!("the chat-completion-proxy binary is not built: {error}"),
    }
}

fn example(name: &str) -> String {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Runs the command and returns (exit code, stdout, stderr).
fn run(command: &mut Command, stdin: &str) -> (i32, String, String) {
    let output = command
        .write_stdin(stdin.to_owned())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_line_error(code: i32, stdout: &str, stderr: &str, needle: &str) {
    assert_eq!(code, 1, "exit status; stderr: {stderr}");
    assert!(stdout.is_empty(), "nothing on stdout, got {stdout:?}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}

#[test]
fn wrappers_lists_exactly_the_compiled_in_plugins_sorted() {
    let (code, stdout, _) = run(cli().arg("wrappers"), "");
    assert_eq!(code, 0);
    let names: Vec<&str> = stdout.lines().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    // The same build's registry: exactly the enabled plugins' wrappers.
    assert_eq!(names, chat_completion_proxy::available_wrappers());
    for name in &names {
        let plugin = chat_completion_proxy::wrapper_registry()
            .get(name)
            .unwrap()
            .registration
            .plugin;
        assert!(
            chat_completion_proxy::ENABLED_PLUGINS.contains(&plugin),
            "{name} comes from {plugin}"
        );
    }
}

mod chatml {
    use super::*;

    #[test]
    fn render_prints_the_prompt_without_a_trailing_newline() {
        if !built_with(&["wrapper-chatml"]) {
            return;
        }
        let (code, stdout, stderr) = run(
            cli().args(["render", "--wrapper", "chatml"]),
            &example("conversation.json"),
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("<|im_start|>system\n"), "{stdout}");
        assert!(
            stdout.ends_with("<|im_start|>assistant\n{\n  \"function\":"),
            "{stdout}"
        );
        assert!(stdout.contains("\"message\": \"Hi Sam!"), "{stdout}");
    }

    #[test]
    fn render_accepts_tools_like_functions() {
        if !built_with(&["wrapper-chatml"]) {
            return;
        }
        let mut body: Value =
            serde_json::from_str(&example("conversation.json")).unwrap_or_default();
        let functions = body["functions"].take();
        let tools: Vec<Value> = functions
            .as_array()
            .into_iter()
            .flatten()
            .map(|function| serde_json::json!({"type": "function", "function": function}))
            .collect();
        body["tools"] = Value::Array(tools);
        let (code, with_tools, stderr) = run(
            cli().args(["render", "--wrapper", "chatml"]),
            &body.to_string(),
        );
        assert_eq!(code, 0, "{stderr}");
        let (_, with_functions, _) = run(
            cli().args(["render", "--wrapper", "chatml"]),
            &example("conversation.json"),
        );
        assert_eq!(with_tools, with_functions);
    }

    #[test]
    fn parse_prints_the_assistant_message_with_a_tool_call() {
        if !built_with(&["wrapper-chatml"]) {
            return;
        }
        let (code, stdout, stderr) = run(
            cli().args(["parse", "--wrapper", "chatml"]),
            &example("chatml-reply.txt"),
        );
        assert_eq!(code, 0, "{stderr}");
        let message: Value = serde_json::from_str(&stdout).unwrap_or_default();
        assert_eq!(message["role"], "assistant");
        assert_eq!(
            message["content"],
            "Ada told me her favourite tea. I should store it."
        );
        let call = &message["tool_calls"][0];
        assert!(call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("call_")));
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], "core_memory_append");
        let arguments: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or(""))
                .unwrap_or_default();
        assert_eq!(
            arguments,
            serde_json::json!({"name": "human", "content": "Favourite tea: oolong", "request_heartbeat": true})
        );
    }

    #[test]
    fn parse_of_text_without_json_is_a_one_line_error() {
        if !built_with(&["wrapper-chatml"]) {
            return;
        }
        let (code, stdout, stderr) = run(
            cli().args(["parse", "--wrapper", "chatml"]),
            "I am not JSON at all\nnot even close",
        );
        assert_one_line_error(code, &stdout, &stderr, "I am not JSON at all");
    }

    #[test]
    fn a_conversation_without_system_message_gets_an_empty_one() {
        if !built_with(&["wrapper-chatml"]) {
            return;
        }
        let body = r#"{"messages": [{"role": "user", "content": "hi"}]}"#;
        let (code, stdout, stderr) = run(cli().args(["render", "--wrapper", "chatml"]), body);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("<|im_start|>system\n")
                && stdout.contains("<|im_start|>user\nhi<|im_end|>"),
            "{stdout}"
        );
    }
}

#[test]
fn unknown_wrapper_is_a_one_line_error_listing_the_available_ones() {
    let (code, stdout, stderr) = run(
        cli().args(["render", "--wrapper", "no-such-wrapper"]),
        &example("conversation.json"),
    );
    assert_one_line_error(
        code,
        &stdout,
        &stderr,
        "unknown wrapper `no-such-wrapper`; available:",
    );
}

#[test]
fn invalid_json_on_stdin_is_a_one_line_error() {
    let (code, stdout, stderr) = run(cli().args(["render", "--wrapper", "chatml"]), "{not json");
    assert_one_line_error(code, &stdout, &stderr, "stdin must be a JSON object");
}

#[test]
fn repair_prints_the_recovered_value_on_one_line() {
    let (code, stdout, stderr) = run(
        cli().arg("repair"),
        "Sure! {\"function\": \"send\\_message\", \"params\": {\"message\": \"hi\"}}<|im_end|>",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\"function\":\"send_message\",\"params\":{\"message\":\"hi\"}}\n"
    );
}

#[test]
fn repair_without_any_json_is_a_one_line_error() {
    let (code, stdout, stderr) = run(cli().arg("repair"), "nothing to see here");
    assert_one_line_error(code, &stdout, &stderr, "no JSON");
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    // Setup: `repair` logs each repair at debug level.
    let mut json = cli();
    json.args(["repair", "--log-format", "json"])
        .env("RUST_LOG", "debug");
    let mut text = cli();
    text.args(["repair"]).env("RUST_LOG", "debug");

    // Exec
    let (code, stdout, stderr) = run(&mut json, "{\"a\": 1");
    let (text_code, _, text_stderr) = run(&mut text, "{\"a\": 1");

    // Check: every line is an object; the repair's has its level, message and field.
    assert_eq!((code, stdout.as_str()), (0, "{\"a\":1}\n"), "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let repair = lines
        .iter()
        .find(|line| line["fields"]["message"] == "repaired malformed JSON")
        .unwrap_or_else(|| panic!("no repair line in {stderr}"));
    assert_eq!(repair["level"], "DEBUG");
    assert_eq!(repair["fields"]["strategy"], "append }");
    assert!(repair["timestamp"].is_string(), "{repair}");
    // The default stays text.
    assert_eq!(text_code, 0);
    let line = text_stderr
        .lines()
        .find(|line| line.contains("repaired malformed JSON"))
        .unwrap_or_else(|| panic!("no repair line in {text_stderr}"));
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
}

#[test]
fn log_format_json_writes_the_final_error_as_json_too() {
    let (code, stdout, stderr) = run(cli().args(["--log-format", "json", "serve"]), "");
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    let line: Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(line["level"], "ERROR");
    let message = line["fields"]["message"].as_str().unwrap();
    assert!(message.contains("--config"), "{message}");
    assert!(!message.starts_with("error: "), "{message}");
}
