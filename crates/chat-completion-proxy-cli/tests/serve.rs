//! `serve`: configuration errors are one line; the server answers and stops cleanly on
//! SIGTERM (needs the llamacpp backend and the chatml wrapper).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

mod support;

use support::built_with;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("chat-completion-proxy")
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ccp-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_configs_are_one_line_errors() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let model =
        "[[models]]\nname = \"local\"\nendpoint_type = \"llamacpp\"\ncontext_window = 4096\n";
    let unknown_field = temp_file("unknown.toml", &format!("{model}colour = \"red\"\n"));
    let bad_type = temp_file("type.toml", &model.replace("llamacpp", "nosuchserver"));
    let not_toml = temp_file("broken.toml", "listen = \n[[models\n");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--config".into(), unknown_field.display().to_string()],
            "colour",
        ),
        (
            vec!["--config".into(), bad_type.display().to_string()],
            "nosuchserver",
        ),
        (
            vec!["--config".into(), not_toml.display().to_string()],
            "broken.toml",
        ),
        (
            vec!["--config".into(), "/nonexistent/serve.toml".into()],
            "cannot read the config file",
        ),
        (
            vec![
                "--config".into(),
                unknown_field.display().to_string(),
                "--endpoint-type".into(),
                "llamacpp".into(),
            ],
            "--endpoint-type",
        ),
        (
            vec![
                "--config".into(),
                unknown_field.display().to_string(),
                "--alias".into(),
                "gpt-4o".into(),
            ],
            "--alias",
        ),
        (
            vec![
                "--endpoint-type".into(),
                "llamacpp".into(),
                "--context-window".into(),
                "4096".into(),
                "--cors-origin".into(),
                "app.example".into(),
            ],
            "`cors_origins` holds `app.example`, which is not an origin",
        ),
        (
            vec![
                "--endpoint-type".into(),
                "llamacpp".into(),
                "--context-window".into(),
                "4096".into(),
                "--alias".into(),
                "local".into(),
            ],
            "the alias `local` is already",
        ),
        (vec![], "--config"),
    ];
    for (args, needle) in cases {
        let output = Command::new(binary())
            .arg("serve")
            .args(&args)
            .env_remove("CCP_API_KEY")
            .env_remove("CCP_AUTH_KEY")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("error: "), "{stderr:?}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_from_flags_and_stops_on_sigterm() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Hi.\", \"message\": \"Hello!\"}\n}",
            "tokens_predicted": 5, "stop_type": "eos"
        })))
        .mount(&backend)
        .await;
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--endpoint-type",
            "llamacpp",
        ])
        .args(["--endpoint", &backend.uri(), "--context-window", "2048"])
        .args(["--wrapper", "chatml", "--model-name", "demo"])
        .args(["--alias", "gpt-4o", "--alias", "gpt-4"])
        .args(["--cors-origin", "https://app.example"])
        .env("CCP_API_KEY", "sk-cli-test")
        .env("CCP_COMPLETION_SETTINGS", "/nonexistent/settings.json")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_owned();
    assert!(
        banner.contains("demo") && banner.contains("API key required"),
        "{banner}"
    );

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/v1/chat/completions"))
        .bearer_auth("sk-cli-test")
        .json(&json!({"model": "demo", "messages": [
            {"role": "system", "content": "You are MemGPT."},
            {"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let completion: Value = response.json().await.unwrap();
    assert_eq!(completion["model"], "demo");

    // An alias is served, and echoed.
    let response = client
        .post(format!("http://{address}/v1/chat/completions"))
        .bearer_auth("sk-cli-test")
        .json(&json!({"model": "gpt-4o", "messages": [
            {"role": "system", "content": "You are MemGPT."},
            {"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let completion: Value = response.json().await.unwrap();
    assert_eq!(completion["model"], "gpt-4o");
    let models: Value = client
        .get(format!("http://{address}/v1/models"))
        .bearer_auth("sk-cli-test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(ids, ["demo", "gpt-4o", "gpt-4"]);

    // --cors-origin: a browser's preflight from that origin is allowed (no key needed).
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{address}/v1/chat/completions"),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "a clean exit after SIGTERM");
}

/// Starts `serve` for one llamacpp model named `demo` at `backend` with `extra`
/// flags: the child, its address, the banner and the rest of its stderr.
fn spawn_serve(
    backend: &str,
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    String,
    BufReader<std::process::ChildStderr>,
) {
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--endpoint-type",
            "llamacpp",
        ])
        .args(["--endpoint", backend, "--context-window", "2048"])
        .args(["--wrapper", "chatml", "--model-name", "demo"])
        .args(extra)
        .env_remove("CCP_API_KEY")
        .env_remove("RUST_LOG")
        .env("CCP_COMPLETION_SETTINGS", "/nonexistent/settings.json")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_owned();
    (child, address, banner, stderr)
}

/// Sends SIGTERM and waits for a clean exit.
async fn stop(mut child: std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_writes_json_logs_and_exports_metrics_unless_told_not_to() {
    if !built_with(&["backend-llamacpp", "wrapper-chatml"]) {
        return;
    }
    // Setup
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Hi.\", \"message\": \"Hello!\"}\n}",
            "tokens_predicted": 5, "tokens_evaluated": 30, "stop_type": "eos"
        })))
        .mount(&backend)
        .await;
    let (child, address, banner, stderr) = spawn_serve(&backend.uri(), &["--log-format", "json"]);
    let client = reqwest::Client::new();

    // Exec: one completion, then the metrics page; then the same server without metrics.
    let response = client
        .post(format!("http://{address}/v1/chat/completions"))
        .json(&json!({"messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let metrics = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let page = metrics.text().await.unwrap();
    stop(child).await;
    let logs: Vec<String> = stderr.lines().map(Result::unwrap).collect();
    let (off, off_address, _, off_stderr) = spawn_serve(&backend.uri(), &["--no-metrics"]);
    let off_status = client
        .get(format!("http://{off_address}/metrics"))
        .send()
        .await
        .unwrap()
        .status();
    stop(off).await;
    drop(off_stderr);

    // Check: the metrics.
    assert!(
        page.contains("ccp_requests_total{model=\"demo\",status=\"200\",kind=\"ok\"} 1"),
        "{page}"
    );
    assert!(
        page.contains("ccp_completion_tokens_total{model=\"demo\"} 5"),
        "{page}"
    );
    assert_eq!(off_status, 404);
    // Check: every log line is JSON, the banner too, and the request's carries its
    // span's fields.
    let banner: Value = serde_json::from_str(&banner).unwrap();
    assert_eq!(banner["level"], "INFO");
    assert_eq!(banner["fields"]["address"], address.as_str(), "{banner}");
    assert_eq!(banner["fields"]["models"], json!(["demo"]));
    let lines: Vec<Value> = logs
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let finished = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "request finished"
                && line["span"]["path"] == "/v1/chat/completions"
        })
        .unwrap_or_else(|| panic!("no request line in {logs:?}"));
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["fields"]["status"], 200);
    assert_eq!(finished["span"]["model"], "demo", "{finished}");
    assert!(
        finished["span"]["id"].as_str().unwrap().starts_with("req_"),
        "{finished}"
    );
}
