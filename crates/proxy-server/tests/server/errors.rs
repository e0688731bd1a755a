//! Every error answer is an OpenAI envelope with the right status and code.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    captured_logs, client, config, error_of, llamacpp, request, slow_llamacpp, Proxy, API_KEY,
    CALL_REPLY,
};

/// POSTs raw bytes with the test key.
async fn post_raw(proxy: &Proxy, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bodies_that_are_not_requests_are_400s_and_large_ones_413() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let error = error_of(post_raw(&proxy, "{\"messages\": [").await, 400).await;
    assert_eq!(error["code"], "invalid_json");
    assert_eq!(error["type"], "invalid_request_error");

    let error = error_of(post_raw(&proxy, r#"{"messages": "hello"}"#).await, 400).await;
    assert_eq!(error["param"], "messages");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "`messages` must be an array of objects, not a string \"hello\". (request id req_"
        ),
        "{message}"
    );

    let mut wrong = request(false);
    wrong["max_tokens"] = json!("many");
    let error = error_of(post_raw(&proxy, wrong.to_string()).await, 400).await;
    assert_eq!(error["param"], "max_tokens");

    // A field OpenAI does not define: refused in OpenAI's words, naming it.
    let mut unknown = request(false);
    unknown["top_k"] = json!(40);
    let error = error_of(post_raw(&proxy, unknown.to_string()).await, 400).await;
    assert_eq!(error["param"], "top_k");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Unrecognized request argument supplied: top_k"),
        "{message}"
    );

    let mut format = request(false);
    format["response_format"] = json!({"type": "yaml"});
    let error = error_of(post_raw(&proxy, format.to_string()).await, 400).await;
    assert_eq!(error["param"], "response_format.type");
    assert!(
        error["message"].as_str().unwrap().contains("`yaml`"),
        "{error}"
    );

    // An array where an object belongs is not read field by field (serde's derive
    // alone would take `["user", "hi"]` as a user message).
    let mut nested = request(false);
    nested["messages"] = json!([["user", "hi"]]);
    let error = error_of(post_raw(&proxy, nested.to_string()).await, 400).await;
    assert_eq!(error["param"], "messages[0]");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("`messages[0]` must be an object, not an array."),
        "{message}"
    );
    let mut nested_tool = request(false);
    nested_tool["tools"] = json!([["function", {"name": "f"}]]);
    let error = error_of(post_raw(&proxy, nested_tool.to_string()).await, 400).await;
    assert_eq!(error["param"], "tools[0]");

    // Over the default 4 MiB limit.
    let large = format!(r#"{{"messages": [], "pad": "{}"}}"#, "x".repeat(5 << 20));
    let error = error_of(post_raw(&proxy, large).await, 413).await;
    assert_eq!(error["code"], "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains("4194304"));

    // The connection survives all of this: a good request still works.
    assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn missing_or_wrong_keys_are_401s_that_do_not_echo_the_key() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let missing = proxy
        .post("/v1/chat/completions", None, &request(false))
        .await;
    let error = error_of(missing, 401).await;
    assert_eq!(error["type"], "authentication_error");
    assert_eq!(error["code"], "invalid_api_key");

    let wrong = proxy
        .post(
            "/v1/chat/completions",
            Some("sk-wrong-0000"),
            &request(false),
        )
        .await;
    let error = error_of(wrong, 401).await;
    assert_eq!(error["code"], "invalid_api_key");
    assert!(!error.to_string().contains("sk-wrong-0000"));

    let models = client()
        .get(format!("{}/v1/models", proxy.url))
        .send()
        .await
        .unwrap();
    error_of(models, 401).await;
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_models_paths_and_methods() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = config(&backend.uri());
    let mut second = server_config.models[0].clone();
    second.name = "big".into();
    server_config.models.push(second);
    let mut proxy = Proxy::start(server_config).await;

    let mut body = request(false);
    body["model"] = json!("gpt-4");
    let error = error_of(proxy.chat(&body).await, 404).await;
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["param"], "model");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("gpt-4") && message.contains("local, big"),
        "{message}"
    );

    body.as_object_mut().unwrap().remove("model");
    let error = error_of(proxy.chat(&body).await, 400).await;
    assert_eq!(error["param"], "model");

    let error = error_of(
        client()
            .get(format!("{}/v2/nothing", proxy.url))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(error["code"], "not_found");

    let error = error_of(
        client()
            .get(format!("{}/v1/chat/completions", proxy.url))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    assert_eq!(error["code"], "method_not_allowed");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn pipeline_refusals_are_400s() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = config(&backend.uri());
    server_config.models[0].context_window = 20;
    let mut proxy = Proxy::start(server_config).await;

    let error = error_of(proxy.chat(&request(false)).await, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert_eq!(error["type"], "invalid_request_error");

    let mut body = request(false);
    body["wrapper"] = json!("no-such-wrapper");
    let error = error_of(proxy.chat(&body).await, 400).await;
    assert_eq!(error["code"], "invalid_request");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("no-such-wrapper") && message.contains("chatml"),
        "{message}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn backend_down_is_a_502() {
    let port = free_port();
    let mut proxy = Proxy::start(config(&format!("http://127.0.0.1:{port}"))).await;

    let error = error_of(proxy.chat(&request(false)).await, 502).await;

    assert_eq!(error["code"], "connection_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Unable to connect to the model's backend (llama.cpp server)"),
        "{message}"
    );
    assert!(!message.contains(&port.to_string()), "{message}");
    proxy.stop().await.unwrap();
}

/// A loopback port nothing listens on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fake llama.cpp server answering `/completion` with `reply`.
async fn backend_replying(reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

/// The error of a streamed request's answer: its JSON envelope, or the error event of
/// its event stream.
async fn stream_error_of(response: reqwest::Response) -> Value {
    let is_stream = response.headers()["content-type"] == "text/event-stream";
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    if !is_stream {
        assert!(status >= 400, "{status}: {body}");
        let envelope: Value = serde_json::from_str(&body).unwrap();
        return envelope["error"].clone();
    }
    body.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .find_map(|event| event.get("error").cloned())
        .unwrap_or_else(|| panic!("no error event in {body:?}"))
}

/// The request id at the end of a client message: `… (request id req_…)`.
fn request_id_of(message: &str) -> &str {
    message
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once("(request id "))
        .map(|(_, id)| id)
        .unwrap_or_else(|| panic!("no request id at the end of {message:?}"))
}

#[tokio::test]
async fn backend_failures_reach_the_client_without_urls_ports_or_bodies_but_with_the_request_id() {
    const BODY: &str = "backend-internal-detail-4242";
    let refused_port = free_port();
    let garbage = format!("<html>{BODY}</html>");
    let cases: Vec<(&str, Option<ResponseTemplate>, u16, &str)> = vec![
        ("connection refused", None, 502, "connection_error"),
        (
            "timeout",
            Some(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"content": CALL_REPLY, "stop": true}))
                    .set_delay(Duration::from_secs(3)),
            ),
            504,
            "timeout",
        ),
        (
            "500 with a body",
            Some(ResponseTemplate::new(500).set_body_string(BODY)),
            502,
            "http_error",
        ),
        (
            "404 with a JSON body",
            Some(ResponseTemplate::new(404).set_body_json(json!({"error": {"message": BODY}}))),
            502,
            "http_error",
        ),
        (
            "garbage reply",
            Some(ResponseTemplate::new(200).set_body_string(garbage.as_str())),
            502,
            "invalid_response",
        ),
        (
            "wrong JSON shape",
            Some(ResponseTemplate::new(200).set_body_json(json!({"status": BODY}))),
            502,
            "invalid_response",
        ),
        (
            "error object in a 200",
            Some(ResponseTemplate::new(200).set_body_json(json!({"error": BODY}))),
            502,
            "backend_error_reply",
        ),
        (
            "empty completion",
            Some(ResponseTemplate::new(200).set_body_json(
                json!({"content": "", "stop": true, "stop_type": "eos", "note": BODY}),
            )),
            502,
            "empty_response",
        ),
        (
            "429",
            Some(ResponseTemplate::new(429).set_body_string(BODY)),
            429,
            "rate_limit_exceeded",
        ),
        (
            "503",
            Some(ResponseTemplate::new(503).set_body_json(
                json!({"error": {"code": 503, "message": BODY, "type": "unavailable_error"}}),
            )),
            503,
            "backend_unavailable",
        ),
        (
            "overflow reported by the backend",
            Some(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": 400, "type": "exceed_context_size_error",
                "message": format!("request (9000 tokens) exceeds the available context size (8192 tokens) {BODY}"),
                "n_prompt_tokens": 9000, "n_ctx": 8192}}))),
            400,
            "context_length_exceeded",
        ),
    ];
    for (case, reply, status, code) in cases {
        let (endpoint, _server) = match reply {
            Some(reply) => {
                let server = backend_replying(reply).await;
                (server.uri(), Some(server))
            }
            None => (format!("http://127.0.0.1:{refused_port}"), None),
        };
        let port = endpoint.rsplit(':').next().unwrap().to_owned();
        let mut server_config = config(&endpoint);
        server_config.models[0].timeout_secs = Some(1.0);
        let mut proxy = Proxy::start(server_config).await;
        for stream in [false, true] {
            let mut body = request(false);
            body["stream"] = json!(stream);
            let response = proxy.chat(&body).await;
            let header_id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            let error = if stream {
                // A JSON envelope with the status, or (a backend slow to accept) an
                // error event in the stream.
                stream_error_of(response).await
            } else {
                let error = error_of(response, status).await;
                assert_eq!(error["code"], code, "{case}");
                error
            };
            let message = error["message"].as_str().unwrap();
            for leak in [
                endpoint.as_str(),
                "127.0.0.1",
                port.as_str(),
                "/completion",
                BODY,
                "http://",
            ] {
                assert!(!message.contains(leak), "{case}: {leak} in {message:?}");
            }
            assert_eq!(request_id_of(message), header_id, "{case}");
            // The operator finds the whole story in the log, under the request id.
            let with_body = !stream && case != "connection refused" && case != "timeout";
            let logs = captured_logs();
            let logged = logs.lines().any(|line| {
                line.contains(&header_id)
                    && line.contains(&endpoint)
                    && !line.contains("backend::http: POST")
                    && (!with_body || line.contains(BODY))
            });
            assert!(
                logged,
                "{case}: no log line with {header_id}, {endpoint} (and the body)"
            );
        }
        proxy.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_busy_backend_passes_its_status_and_retry_after_on() {
    for (status, retry_after) in [(429, Some("17")), (503, Some("120")), (503, None)] {
        let mut reply = ResponseTemplate::new(status).set_body_string("busy");
        if let Some(value) = retry_after {
            reply = reply.insert_header("retry-after", value);
        }
        let backend = backend_replying(reply).await;
        let mut proxy = Proxy::start(config(&backend.uri())).await;
        for stream in [false, true] {
            let mut body = request(false);
            body["stream"] = json!(stream);
            let response = proxy.chat(&body).await;
            let sent = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned());
            assert_eq!(sent.as_deref(), retry_after, "{status} stream={stream}");
            let error = error_of(response, status).await;
            let expected_type = if status == 429 {
                "requests"
            } else {
                "server_error"
            };
            assert_eq!(error["type"], expected_type);
        }
        proxy.stop().await.unwrap();
    }
}

#[tokio::test]
async fn context_overflow_messages_are_openais_sentence() {
    // Found by the proxy before sending.
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = config(&backend.uri());
    server_config.models[0].context_window = 20;
    let mut proxy = Proxy::start(server_config).await;
    let error = error_of(proxy.chat(&request(false)).await, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    let message = error["message"].as_str().unwrap();
    let prompt_tokens = message
        .strip_prefix(
            "This model's maximum context length is 20 tokens. However, your messages resulted in ",
        )
        .and_then(|rest| {
            rest.split_once(" tokens. Please reduce the length of the messages. (request id req_")
        })
        .map(|(count, _)| count)
        .unwrap_or_else(|| panic!("not OpenAI's sentence: {message}"));
    assert!(prompt_tokens.parse::<u64>().unwrap() > 20, "{message}");
    proxy.stop().await.unwrap();

    // Reported by the backend (llama.cpp says both counts).
    let backend = backend_replying(ResponseTemplate::new(400).set_body_json(json!({"error": {
        "code": 400, "type": "exceed_context_size_error",
        "message": "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it",
        "n_prompt_tokens": 9000, "n_ctx": 8192}})))
    .await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let error = error_of(proxy.chat(&request(false)).await, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert_eq!(error["type"], "invalid_request_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages. (request id req_"),
        "{message}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn bodies_must_be_json_objects_sent_as_json() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let array = format!("[{}]", request(false));
    let error = error_of(post_raw(&proxy, array).await, 400).await;
    assert_eq!(error["code"], "invalid_request");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("The request body must be a JSON object, not an array."),
        "{message}"
    );

    let body = request(false).to_string();
    for content_type in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut post = client()
            .post(format!("{}/v1/chat/completions", proxy.url))
            .bearer_auth(API_KEY)
            .body(body.clone());
        if let Some(content_type) = content_type {
            post = post.header("content-type", content_type);
        }
        let error = error_of(post.send().await.unwrap(), 415).await;
        assert_eq!(error["code"], "unsupported_media_type", "{content_type:?}");
        assert_eq!(error["type"], "invalid_request_error");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("application/json"), "{message}");
    }
    assert_eq!(backend.received_requests().await.unwrap().len(), 0);

    let charset = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(charset.status(), 200);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn every_server_error_message_ends_with_the_request_id() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let responses = [
        proxy
            .post("/v1/chat/completions", None, &request(false))
            .await,
        proxy.post("/v2/nothing", Some(API_KEY), &json!({})).await,
        client()
            .get(format!("{}/v1/models/no-such-model", proxy.url))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap(),
        post_raw(&proxy, "{").await,
    ];
    for response in responses {
        let header_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert_eq!(request_id_of(message), header_id, "{message}");
    }
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn unparseable_model_output_is_a_502_carrying_the_text() {
    let backend = llamacpp("I refuse to answer in JSON, sorry").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let error = error_of(proxy.chat(&request(false)).await, 502).await;

    assert_eq!(error["code"], "output_parsing_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("I refuse to answer in JSON, sorry"),
        "{message}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_slow_backend_is_a_504_after_the_model_timeout() {
    let backend = slow_llamacpp(Duration::from_secs(3)).await;
    let mut server_config = config(&backend.uri());
    server_config.models[0].timeout_secs = Some(1.0);
    let mut proxy = Proxy::start(server_config).await;

    let started = std::time::Instant::now();
    let error: Value = error_of(proxy.chat(&request(false)).await, 504).await;

    assert_eq!(error["code"], "timeout");
    assert!(started.elapsed() < Duration::from_millis(2900));
    proxy.stop().await.unwrap();
}
