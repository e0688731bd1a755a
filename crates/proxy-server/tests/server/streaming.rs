//! `stream: true`: the chunks, in order, then `[DONE]`.

use serde_json::{json, Value};

use crate::common::{assert_send_message_call, config, llamacpp, request, Proxy, CALL_REPLY};

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|event| !event.trim().is_empty())
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
    assert!(response.headers().contains_key("x-proxy-overhead-ms"));
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
    assert_eq!(chunks.len(), 5, "{chunks:#?}");
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
    assert_eq!(delta(1), json!({"content": "Say hi."}));
    let call = &delta(2)["tool_calls"][0];
    assert_eq!(call["index"], 0);
    assert_send_message_call(call);
    for chunk in &chunks[..3] {
        assert!(chunk["choices"][0]["finish_reason"].is_null());
        assert!(chunk["usage"].is_null());
    }
    assert_eq!(delta(3), json!({}));
    assert_eq!(finish(3), "tool_calls");
    assert_eq!(chunks[4]["choices"], json!([]));
    assert_eq!(
        chunks[4]["usage"],
        json!({"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52})
    );
}

#[tokio::test]
async fn legacy_function_call_chunks_without_usage() {
    let mut body = request(true);
    body["stream"] = json!(true);

    let (chunks, last) = stream(body, CALL_REPLY).await;

    assert_eq!(last, "[DONE]");
    assert_eq!(chunks.len(), 4, "{chunks:#?}");
    let delta = &chunks[2]["choices"][0]["delta"];
    assert_eq!(delta["function_call"]["name"], "send_message");
    assert_eq!(delta["tool_calls"][0]["function"]["name"], "send_message");
    assert_eq!(chunks[3]["choices"][0]["finish_reason"], "function_call");
    assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
}

#[tokio::test]
async fn an_error_before_streaming_is_a_json_envelope() {
    let mut body = request(false);
    body["stream"] = json!(true);
    let backend = llamacpp("not json at all").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let response = proxy.chat(&body).await;

    let error = crate::common::error_of(response, 502).await;
    assert_eq!(error["code"], "output_parsing_error");
    proxy.stop().await.unwrap();
}
