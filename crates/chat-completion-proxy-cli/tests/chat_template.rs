//! `render` and `parse` with the model's own chat template (`--chat-template-file`
//! with its tokens, `--tool-call-format`), as scripts run them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

mod support;

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{json, Value};
use support::built_with;

/// A ChatML template that renders `tools` in Hermes style, written to a fresh file.
fn template_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccp-cli-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hermes.jinja");
    std::fs::write(
        &path,
        "{{ bos_token }}{% if tools %}<|im_start|>system\nTools: {% for t in tools %}{{ t.function.name }}{% if not loop.last %}, {% endif %}{% endfor %}. Answer <tool_call>{...}</tool_call>.<|im_end|>\n{% endif %}\
{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    )
    .unwrap();
    path
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let output = Command::cargo_bin("chat-completion-proxy")
        .unwrap()
        .args(args)
        .write_stdin(stdin.to_owned())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn render_uses_the_template_file_and_its_tokens() {
    if !built_with(&["wrapper-template"]) {
        return;
    }
    let path = template_file();
    let input = json!({
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    });
    let (code, stdout, stderr) = run(
        &[
            "render",
            "--chat-template-file",
            path.to_str().unwrap(),
            "--bos-token",
            "<s>",
            "--eos-token",
            "<|im_end|>",
        ],
        &input.to_string(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "<s><|im_start|>system\nTools: get_weather. Answer <tool_call>{...}</tool_call>.<|im_end|>\n<|im_start|>user\nWeather in Oslo?<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn parse_reads_the_templates_tool_call_format() {
    if !built_with(&["wrapper-template"]) {
        return;
    }
    let path = template_file();
    let reply = "<think>Oslo it is.</think>Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>";
    let (code, stdout, stderr) = run(
        &[
            "parse",
            "--chat-template-file",
            path.to_str().unwrap(),
            "--eos-token",
            "<|im_end|>",
        ],
        reply,
    );
    assert_eq!(code, 0, "{stderr}");
    let message: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(message["content"], "Checking.");
    assert_eq!(message["reasoning_content"], "Oslo it is.");
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather");
    let arguments: Value = serde_json::from_str(
        message["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(arguments, json!({"city": "Oslo"}));
}

#[test]
fn template_flags_that_do_not_fit_are_one_line_errors_naming_them() {
    let (code, _, stderr) = run(
        &["render", "--tool-call-format", "hermes"],
        "{\"messages\": []}",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("`--tool-call-format` needs a chat template"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        &["render", "--chat-template-gguf", "/nonexistent/model.gguf"],
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/model.gguf"), "{stderr}");
    if built_with(&["wrapper-template"]) {
        let path = template_file();
        let (code, _, stderr) = run(
            &[
                "parse",
                "--chat-template-file",
                path.to_str().unwrap(),
                "--tool-call-format",
                "xml",
            ],
            "hi",
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("unknown tool-call format `xml`"),
            "{stderr}"
        );
    }
}
