//! `complete` and `backends`: the built binary against a loopback server speaking
//! llama.cpp's wire format (needs the llamacpp backend and the chatml wrapper).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

mod support;

use support::built_with;

use assert_cmd::Command;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUEST: &str = r#"{
  "model": "local",
  "messages": [
    {"role": "system", "content": "You are MemGPT."},
    {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"Hi!\"}"}
  ],
  "tools": [{"type": "function", "function": {"name": "send_message", "description": "Sends a message.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string", "description": "Text."}}, "required": ["message"]}}}]
}"#;

/// Runs the binary off the async runtime and returns (exit code, stdout, stderr).
async fn run(args: Vec<String>, stdin: &'static str) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let output = Command::cargo_bin("chat-completion-proxy")
            .unwrap()
            .args(&args)
            .env("CCP_COMPLETION_SETTINGS", "/nonexistent/settings.json")
            .write_stdin(stdin)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn complete_args(endpoint: &str, extra: &[&str]) -> Vec<String> {
    [
        "complete",
        "--endpoint-type",
        "llamacpp",
        "--endpoint",
        endpoint,
        "--context-window",
        "2048",
    ]
    .iter()
    .chain(extra)
    .map(|arg| (*arg).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_prints_an_openai_response_with_a_tool_call() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .and(header("authorization", "Bearer k3y"))
        .and(body_partial_json(json!({"temperature": 0.0})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Say hi.\", \"message\": \"Hello!\"}\n}",
            "tokens_predicted": 12, "stop_type": "eos"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let stdin: &'static str = Box::leak(
        REQUEST
            .replace(
                "\"model\": \"local\",",
                "\"model\": \"local\", \"temperature\": 0.0,",
            )
            .into_boxed_str(),
    );
    let args = complete_args(
        &server.uri(),
        &[
            "--wrapper",
            "chatml",
            "--tokenizer",
            "cl100k",
            "--auth-type",
            "bearer_token",
            "--auth-key",
            "k3y",
        ],
    );
    let (code, stdout, stderr) = run(args, stdin).await;
    assert_eq!(code, 0, "{stderr}");
    let response: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(response["object"], "chat.completion");
    assert_eq!(response["model"], "local");
    let choice = &response["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "Say hi.");
    assert_eq!(
        choice["message"]["tool_calls"][0]["function"]["name"],
        "send_message"
    );
    assert_eq!(response["usage"]["completion_tokens"], 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_errors_are_one_line() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            complete_args(&endpoint, &["--tokenizer", "cl100k", "--wrapper", "chatml"]),
            "Unable to connect to endpoint",
        ),
        (
            [
                "complete",
                "--endpoint-type",
                "llama",
                "--context-window",
                "10",
            ]
            .map(String::from)
            .to_vec(),
            "unknown endpoint type `llama`",
        ),
        (complete_args("localhost:8080", &[]), "not usable"),
        (
            complete_args(&endpoint, &["--auth-type", "bearer_token"]),
            "--auth-key",
        ),
        (
            complete_args(&endpoint, &["--preset", "fast"]),
            "unknown completion settings preset",
        ),
    ];
    for (args, needle) in cases {
        let (code, stdout, stderr) = run(args.clone(), REQUEST).await;
        assert_eq!(
            code,
            if needle == "--auth-key" { 2 } else { 1 },
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} should mention {needle}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        if code == 1 {
            assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
        }
    }
    let (code, _, stderr) = run(
        complete_args(&endpoint, &["--wrapper", "chatml"]),
        "not json",
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("OpenAI chat-completion request"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backends_lists_endpoint_types_with_default_endpoints_and_capabilities() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let (code, stdout, _) = run(vec!["backends".to_owned()], "").await;
    assert_eq!(code, 0);
    assert!(
        stdout.lines().any(|line| line
            == "llamacpp\thttp://localhost:8080\tconstraints: default grammar (GBNF in `grammar`) | json_schema (JSON Schema in `json_schema`; the server converts it to a grammar itself), streaming, server tokenizer, chat template at GET /props `chat_template`, health at GET /health, images (png jpeg gif) at the marker GET /props names in `media_marker` (else <__media__>)"),
        "{stdout}"
    );
    if built_with(&["backend-vllm"]) {
        assert!(
            stdout.lines().any(|line| line.starts_with("vllm\t")
                && line.ends_with(
                    "\tconstraints: default structured_outputs (JSON Schema in `structured_outputs.json`; vLLM >= 0.10.2) | guided_json (JSON Schema in `guided_json`; vLLM <= 0.11; 0.12 and later ignore it without an error), streaming, server tokenizer, model required, health at GET /health, no images"
                )),
            "{stdout}"
        );
    }
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split('\t').next())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

/// A reply in each of SPEC §3's endpoint types' wire format, carrying the same chatml
/// answer; `None` for an endpoint type the contract does not name (a newer plugin's,
/// whose wire format its own crate's contract tests check).
fn wire_reply(endpoint_type: &str, text: &str) -> Option<(&'static str, Value)> {
    Some(match endpoint_type {
        "llamacpp" => ("/completion", json!({"content": text, "stop_type": "eos"})),
        "koboldcpp" | "webui-legacy" => ("/api/v1/generate", json!({"results": [{"text": text}]})),
        "ollama" => (
            "/api/generate",
            json!({"response": text, "done": true, "eval_count": 5}),
        ),
        "webui" | "lmstudio" | "vllm" => (
            "/v1/completions",
            json!({"choices": [{"text": text, "finish_reason": "stop"}], "usage": {"completion_tokens": 5}}),
        ),
        "lmstudio-legacy" | "groq" => (
            "/v1/chat/completions",
            json!({"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                   "usage": {"completion_tokens": 5}}),
        ),
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_works_for_every_endpoint_type() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let text = " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Say hi.\", \"message\": \"Hello!\"}\n}";
    let (code, listing, _) = run(vec!["backends".to_owned()], "").await;
    assert_eq!(code, 0);
    let endpoint_types: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split('\t').next().map(str::to_owned))
        .collect();
    assert_eq!(
        endpoint_types,
        chat_completion_proxy::backend::available_backends(),
        "{listing}"
    );
    let mut checked = 0;
    for endpoint_type in endpoint_types {
        let Some((path_, body)) = wire_reply(&endpoint_type, text) else {
            eprintln!("{endpoint_type}: not in SPEC §3; its crate's contract tests check it");
            continue;
        };
        checked += 1;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(path_))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let args: Vec<String> = [
            "complete",
            "--endpoint-type",
            &endpoint_type,
            "--endpoint",
            &server.uri(),
            "--context-window",
            "2048",
            "--wrapper",
            "chatml",
            "--tokenizer",
            "cl100k",
            "--model",
            "some-model",
            "--auth-type",
            "bearer_token",
            "--auth-key",
            "k",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        let (code, stdout, stderr) = run(args, REQUEST).await;
        assert_eq!(code, 0, "{endpoint_type}: {stderr}");
        let response: Value = serde_json::from_str(&stdout).unwrap();
        let call = &response["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "send_message", "{endpoint_type}: {stdout}");
        assert_eq!(
            response["choices"][0]["message"]["content"], "Say hi.",
            "{endpoint_type}"
        );
    }
    assert!(
        checked > 0,
        "no endpoint type of the contract in this build"
    );
}
