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
    }
    let delta = |index: usize| chunks[index]["choices"][0]["delta"].clone();
    let finish = |index: usize| chunks[index]["choices"][0]["finish_reason"].clone();
    assert_eq!(delta(0), json!({"role": "assistant"}));
    // The inner thoughts came in pieces as the fake server sent the reply 4
    // characters at a time.
    let content: Vec<String> = chunks
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

#[tokio::test]
async fn legacy_function_call_chunks_without_usage() {
    let mut body = request(true);
    body["stream"] = json!(true);

    let (chunks, last) = stream(body, CALL_REPLY).await;

    assert_eq!(last, "[DONE]");
    let n = chunks.len();
    let delta = &chunks[n - 2]["choices"][0]["delta"];
    assert_eq!(delta["function_call"]["name"], "send_message");
    assert_eq!(delta["tool_calls"][0]["function"]["name"], "send_message");
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
        json!({"role": "assistant"})
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
