//! `stream: true`: the chunks, in order, then `[DONE]`; content forwarded while the
//! backend is still generating.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::common::{
    assert_send_message_call, client, config, llamacpp, request, Proxy, API_KEY, CALL_REPLY,
};

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|event| !event.trim().is_empty() && !event.starts_with(':'))
        .map(|event| {
            event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {event:?}"))
                .to_owned()
        })
        .collect()
}

async fn stream(body: Value, legacy_backend_reply: &str) -> (Vec<Value>, String) {
    let backend = llamacpp(legacy_backend_reply).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(
        !response.headers().contains_key("x-proxy-overhead-ms"),
        "a stream's headers go out before the proxy's time is known"
    );
    let text = response.text().await.unwrap();
    proxy.stop().await.unwrap();
    let mut events = events(&text);
    let last = events.pop().unwrap();
    let chunks = events
        .iter()
        .map(|event| serde_json::from_str(event).unwrap())
        .collect();
    (chunks, last)
}

#[tokio::test]
async fn tool_call_chunks_with_usage_then_done() {
    let mut body = request(false);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});

    let (chunks, last) = stream(body, CALL_REPLY).await;

    assert_eq!(last, "[DONE]");
    let id = &chunks[0]["id"];
    assert!(id.as_str().unwrap().starts_with("chatcmpl-"));
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(&chunk["id"], id);
        assert_eq!(chunk["model"], "local");
        assert_eq!(
            chunk["system_fingerprint"],
            proxy_core::orchestrator::SYSTEM_FINGERPRINT
        );
    }
    for chunk in &chunks[..chunks.len() - 1] {
        let choice = &chunk["choices"][0];
        assert!(
            choice.get("logprobs").is_some_and(Value::is_null),
            "{chunk}"
        );
    }
    let delta = |index: usize| chunks[index]["choices"][0]["delta"].clone();
    let finish = |index: usize| chunks[index]["choices"][0]["finish_reason"].clone();
    assert_eq!(
        delta(0),
        json!({"role": "assistant", "content": ""}),
        "OpenAI's first delta"
    );
    // The inner thoughts came in pieces as the fake server sent the reply 4
    // characters at a time.
    let content: Vec<String> = chunks[1..]
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .map(str::to_owned)
        .collect();
    assert!(content.len() > 1, "{content:?}");
    assert_eq!(content.concat(), "Say hi.");
    let n = chunks.len();
    assert_eq!(n, 1 + content.len() + 3, "{chunks:#?}");
    let call = &delta(n - 3)["tool_calls"][0];
    assert_eq!(call["index"], 0);
    assert_send_message_call(call);
    for chunk in &chunks[..n - 2] {
        assert!(chunk["choices"][0]["finish_reason"].is_null());
        assert!(chunk["usage"].is_null());
    }
    assert_eq!(delta(n - 2), json!({}));
    assert_eq!(finish(n - 2), "tool_calls");
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert_eq!(
        chunks[n - 1]["usage"],
        json!({"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52})
    );
}

/// Two answers after chatml's prefix: a memory edit, then a message.
const TWO_CALLS_REPLY: &str = " \"core_memory_append\",\n  \"params\": {\"inner_thoughts\": \"Save it.\", \"name\": \"human\", \"content\": \"Ada\"}\n}\n{\n  \"function\": \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Say hi.\", \"message\": \"Hello!\"}\n}";

#[tokio::test]
async fn parallel_tool_calls_stream_as_one_delta_each_with_its_index() {
    let mut body = request(false);
    body["stream"] = json!(true);
    body["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "function", "function": {
        "name": "core_memory_append", "description": "Appends to core memory.",
        "parameters": {"type": "object", "properties": {
            "name": {"type": "string"}, "content": {"type": "string"}},
            "required": ["name", "content"]}}}));

    let (chunks, last) = stream(body.clone(), TWO_CALLS_REPLY).await;

    assert_eq!(last, "[DONE]");
    let n = chunks.len();
    let calls = chunks[n - 2]["choices"][0]["delta"]["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{chunks:#?}"));
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0]["index"], 0);
    assert_eq!(calls[0]["function"]["name"], "core_memory_append");
    assert_eq!(calls[1]["index"], 1);
    assert_send_message_call(&calls[1]);
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert_eq!(chunks[n - 1]["choices"][0]["finish_reason"], "tool_calls");
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Save it.\nSay hi.");

    // With parallel_tool_calls false, the first call alone.
    body["parallel_tool_calls"] = json!(false);
    let (chunks, _) = stream(body, TWO_CALLS_REPLY).await;
    let calls = chunks[chunks.len() - 2]["choices"][0]["delta"]["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{chunks:#?}"))
        .clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["function"]["name"], "core_memory_append");
}

#[tokio::test]
async fn legacy_function_call_chunks_without_usage() {
    let mut body = request(true);
    body["stream"] = json!(true);

    let (chunks, last) = stream(body, CALL_REPLY).await;

    assert_eq!(last, "[DONE]");
    let n = chunks.len();
    let delta = &chunks[n - 2]["choices"][0]["delta"];
    assert_eq!(delta["function_call"]["name"], "send_message");
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["choices"][0]["delta"].get("tool_calls").is_none()),
        "a legacy caller gets the call once, as function_call: {chunks:#?}"
    );
    assert_eq!(
        chunks[n - 1]["choices"][0]["finish_reason"],
        "function_call"
    );
    assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
}

#[tokio::test]
async fn an_error_before_streaming_is_a_json_envelope() {
    let mut body = request(false);
    body["stream"] = json!(true);
    // Nothing listens on the backend's port.
    let mut proxy = Proxy::start(config("http://127.0.0.1:9")).await;

    let response = proxy.chat(&body).await;

    let error = crate::common::error_of(response, 502).await;
    assert_eq!(error["code"], "connection_error");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn an_error_during_the_stream_is_an_error_event_without_done() {
    let mut body = request(false);
    body["stream"] = json!(true);
    let (chunks, last) = stream(body, "not json at all").await;

    assert_eq!(
        chunks,
        vec![chunks[0].clone()],
        "only the role chunk came first"
    );
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let error: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(error["error"]["code"], "output_parsing_error");
    assert_eq!(error["error"]["type"], "backend_error");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not json at all"));
}

/// A llama.cpp stand-in that sends `first` as soon as the request arrives and the
/// rest only when told to, so the test can see what the proxy forwards while the
/// backend is still generating.
async fn held_back_llamacpp(
    first: &'static str,
    rest: &'static str,
) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let (go, wait) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read the headers, then the body (Content-Length bytes).
        let body_start = loop {
            let n = socket.read(&mut buffer).await.unwrap();
            request.extend_from_slice(&buffer[..n]);
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let headers = String::from_utf8_lossy(&request[..body_start]).to_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|value| value.trim().parse().unwrap())
            .unwrap();
        while request.len() < body_start + length {
            let n = socket.read(&mut buffer).await.unwrap();
            request.extend_from_slice(&buffer[..n]);
        }
        let body: Value = serde_json::from_slice(&request[body_start..]).unwrap();
        assert_eq!(body["stream"], true);
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        socket.write_all(first.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        let _ = wait.await;
        socket.write_all(rest.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    (uri, go)
}

#[tokio::test]
async fn content_is_forwarded_while_the_backend_is_still_generating() {
    // Setup: the backend sends the beginning of the inner thoughts and then waits.
    let (backend, go) = held_back_llamacpp(
        "data: {\"content\": \" \\\"send_message\\\",\\n  \\\"params\\\": {\\\"inner_thoughts\\\": \\\"Say\", \"stop\": false}\n\n",
        concat!(
            "data: {\"content\": \" hi.\\\", \\\"message\\\": \\\"Hello!\\\"}\\n}\", \"stop\": false}\n\n",
            "data: {\"content\": \"\", \"stop\": true, \"stop_type\": \"eos\", \"tokens_predicted\": 9, \"tokens_evaluated\": 30}\n\n"
        ),
    )
    .await;
    let mut proxy = Proxy::start(config(&backend)).await;
    let mut body = request(false);
    body["stream"] = json!(true);
    let mut response = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Exec: read until the first content delta. If the proxy waited for the whole
    // completion, it would never come (the backend is waiting for us): the timeout
    // turns that deadlock into a failure.
    let mut text = String::new();
    let early = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .expect("the stream ended early");
            text.push_str(&String::from_utf8_lossy(&chunk));
            let contents: Vec<String> = events(&text)
                .iter()
                .filter_map(|event| serde_json::from_str::<Value>(event).ok())
                .filter_map(|chunk| {
                    chunk["choices"][0]["delta"]["content"]
                        .as_str()
                        .filter(|content| !content.is_empty())
                        .map(str::to_owned)
                })
                .collect();
            if !contents.is_empty() {
                return contents;
            }
        }
    })
    .await
    .expect("no content was forwarded before the backend finished");
    go.send(()).unwrap();
    while let Some(chunk) = response.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }

    // Check
    assert_eq!(early, vec!["Say".to_owned()]);
    let events = events(&text);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|event| serde_json::from_str(event).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Say hi.");
    let call = chunks
        .iter()
        .find_map(|chunk| chunk["choices"][0]["delta"].get("tool_calls"))
        .unwrap();
    assert_send_message_call(&call[0]);
    proxy.stop().await.unwrap();
}

/// One SSE event as a client reads it, and when it arrived.
#[derive(Debug)]
struct Timed {
    /// Since the request was sent.
    at: Duration,
    /// The event's text (`: keep-alive`, `data: {...}`).
    text: String,
}

impl Timed {
    fn is_comment(&self) -> bool {
        self.text.starts_with(':')
    }

    fn content(&self) -> Option<String> {
        let chunk: Value = serde_json::from_str(self.text.strip_prefix("data: ")?).ok()?;
        chunk["choices"][0]["delta"]["content"]
            .as_str()
            .filter(|content| !content.is_empty())
            .map(str::to_owned)
    }
}

/// POSTs `body` to the proxy over a bare TCP connection (HTTP/1.1, the chunked
/// body decoded by hand) and returns the status line and every SSE event with the
/// time it arrived: what a client with a read timeout sees, with no HTTP library
/// buffering in between.
async fn raw_stream(proxy_url: &str, body: &Value) -> (String, Vec<Timed>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let address = proxy_url.strip_prefix("http://").unwrap();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {API_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let started = std::time::Instant::now();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(socket);
    let mut status = String::new();
    reader.read_line(&mut status).await.unwrap();
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        chunked |= line.to_lowercase() == "transfer-encoding: chunked\r\n";
    }
    assert!(chunked, "an SSE body of unknown length is chunked");
    let mut events = Vec::new();
    let mut text = String::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).await.unwrap() == 0 {
            break;
        }
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        let mut data = vec![0u8; size + 2];
        reader.read_exact(&mut data).await.unwrap();
        text.push_str(std::str::from_utf8(&data[..size]).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event = text[..end].to_owned();
            text.drain(..end + 2);
            events.push(Timed {
                at: started.elapsed(),
                text: event,
            });
        }
    }
    (status, events)
}

/// Asserts that no two events (nor the request and the first one) are more than a
/// second apart, until the first content arrives.
fn assert_never_a_second_of_silence(events: &[Timed]) {
    let mut last = Duration::ZERO;
    for event in events.iter().take_while(|event| event.content().is_none()) {
        assert!(
            event.at - last < Duration::from_secs(1),
            "{:?} of silence before {event:?}",
            event.at - last
        );
        last = event.at;
    }
}

#[tokio::test]
async fn a_backend_slow_to_accept_gets_keep_alive_comments_before_the_first_content() {
    // Setup: llama.cpp reading a long prompt: nothing at all (not even headers) for
    // 2.5 s.
    let backend = crate::common::slow_llamacpp(Duration::from_millis(2500)).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    body["stream"] = json!(true);

    // Exec
    let (status, events) = raw_stream(&proxy.url, &body).await;

    // Check
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let first_content = events
        .iter()
        .position(|event| event.content().is_some())
        .unwrap_or_else(|| panic!("no content: {events:#?}"));
    let comments_before = events[..first_content]
        .iter()
        .filter(|event| event.is_comment())
        .count();
    assert!(comments_before >= 2, "{events:#?}");
    assert!(events[0].is_comment(), "{events:#?}");
    assert_eq!(events[0].text, ": keep-alive");
    assert_never_a_second_of_silence(&events);
    let content: String = events.iter().filter_map(Timed::content).collect();
    assert_eq!(content, "Say hi.");
    assert_eq!(
        events.last().map(|event| event.text.as_str()),
        Some("data: [DONE]")
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_backend_silent_after_accepting_gets_keep_alive_comments_after_the_role_chunk() {
    // Setup: llama.cpp that answers with its headers at once, then says nothing
    // until told to (prompt processing).
    let (backend, go) = held_back_llamacpp(
        "",
        concat!(
            "data: {\"content\": \" \\\"send_message\\\",\\n  \\\"params\\\": {\\\"inner_thoughts\\\": \\\"Say hi.\\\", \\\"message\\\": \\\"Hello!\\\"}\\n}\", \"stop\": false}\n\n",
            "data: {\"content\": \"\", \"stop\": true, \"stop_type\": \"eos\", \"tokens_predicted\": 9, \"tokens_evaluated\": 30}\n\n"
        ),
    )
    .await;
    let mut proxy = Proxy::start(config(&backend)).await;
    let mut body = request(false);
    body["stream"] = json!(true);
    let released = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1800)).await;
        go.send(()).unwrap();
    });

    // Exec
    let (status, events) = raw_stream(&proxy.url, &body).await;

    // Check
    released.await.unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(
        events[0].text.contains("\"role\":\"assistant\""),
        "{events:#?}"
    );
    let first_content = events
        .iter()
        .position(|event| event.content().is_some())
        .unwrap_or_else(|| panic!("no content: {events:#?}"));
    let comments = events[1..first_content]
        .iter()
        .filter(|event| event.is_comment())
        .count();
    assert!(comments >= 2, "{events:#?}");
    assert_never_a_second_of_silence(&events);
    assert_eq!(
        events.last().map(|event| event.text.as_str()),
        Some("data: [DONE]")
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_refusal_after_the_headers_went_out_is_an_error_event() {
    // Setup: a backend that refuses, but only after a second.
    let backend = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/completion"))
        .respond_with(
            wiremock::ResponseTemplate::new(500)
                .set_body_string("boom")
                .set_delay(Duration::from_millis(1200)),
        )
        .mount(&backend)
        .await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut body = request(false);
    body["stream"] = json!(true);

    // Exec
    let (status, events) = raw_stream(&proxy.url, &body).await;

    // Check: keep-alives while waiting, then the error envelope, and no [DONE].
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(events[0].is_comment(), "{events:#?}");
    let last = events.last().unwrap();
    let error: Value = serde_json::from_str(last.text.strip_prefix("data: ").unwrap()).unwrap();
    assert!(error["error"]["message"].is_string(), "{error}");
    assert!(error["error"]["code"].is_string(), "{error}");
    assert!(events.iter().all(|event| event.text != "data: [DONE]"));
    assert_never_a_second_of_silence(&events);
    proxy.stop().await.unwrap();
}
