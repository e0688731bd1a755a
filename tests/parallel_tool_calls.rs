//! `parallel_tool_calls` through the whole pipeline, over real HTTP on loopback
//! (llama.cpp's wire format on a wiremock server), with the real wrappers: a reply
//! holding two call objects is two `tool_calls` (unique ids, in order, each checked),
//! unless `parallel_tool_calls` is `false` or the caller uses legacy `functions`; the
//! stop string that ends a reply after its first object is sent only then.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::settings::CALL_END_STOP;
use chat_completion_proxy::{
    ChatCompletionEvent, ChatCompletionRequest, ErrorKind, ModelTarget, ProxyClient, ProxyError,
    ResolvedTarget, TokenCounting, WrapperSelection,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workspace_tests::llamacpp_mock::{bodies, llamacpp};

/// Two answers after chatml's `{\n  "function":` prefix: a memory edit, then a message.
const TWO_CALLS: &str = " \"core_memory_append\",\n  \"params\": {\n    \"inner_thoughts\": \"Save her name.\",\n    \"name\": \"human\",\n    \"content\": \"Name: Ada\"\n  }\n}\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Then greet her.\",\n    \"message\": \"Hi Ada!\"\n  }\n}";

fn functions() -> Value {
    json!([
        {"name": "send_message", "description": "Sends a message to the human user.",
         "parameters": {"type": "object", "properties": {
            "message": {"type": "string", "description": "Message contents."}},
            "required": ["message"]}},
        {"name": "core_memory_append", "description": "Append to the contents of core memory.",
         "parameters": {"type": "object", "properties": {
            "name": {"type": "string", "description": "Section of the memory to be edited."},
            "content": {"type": "string", "description": "Content to write to the memory."}},
            "required": ["name", "content"]}}
    ])
}

/// A MemGPT-shaped request answering a user message, with `tools` (or the legacy
/// `functions`), plus `extra` fields.
fn request(legacy: bool, extra: Value) -> ChatCompletionRequest {
    let mut body = json!({
        "model": "smol",
        "messages": [
            {"role": "system", "content": "You are MemGPT."},
            {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"I am Ada.\"}"}
        ]
    });
    if legacy {
        body["functions"] = functions();
    } else {
        body["tools"] = functions()
            .as_array()
            .unwrap()
            .iter()
            .map(|f| json!({"type": "function", "function": f}))
            .collect();
    }
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    serde_json::from_value(body).unwrap()
}

fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

fn target(server: &MockServer) -> ResolvedTarget {
    let mut target = ModelTarget::new("llamacpp", server.uri(), 4096);
    target.wrapper = WrapperSelection::Named("chatml".into());
    target.token_counting = TokenCounting::Cl100k;
    target.resolve().unwrap()
}

/// Whether the body's stop list holds the call-end stop string.
fn stops_after_one_call(body: &Value) -> bool {
    body["stop"]
        .as_array()
        .unwrap()
        .iter()
        .any(|stop| stop == CALL_END_STOP)
}

fn arguments(call: &Value) -> Value {
    serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn two_call_objects_are_two_tool_calls_with_their_own_ids_in_order() {
    let server = llamacpp(vec![TWO_CALLS]).await;
    let response = client()
        .get_chat_completion(&target(&server), &request(false, json!({})))
        .await
        .unwrap();

    let response = serde_json::to_value(&response).unwrap();
    let choice = &response["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let message = &choice["message"];
    assert_eq!(message["content"], "Save her name.\nThen greet her.");
    assert!(message.get("function_call").is_none());
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{message}");
    assert_eq!(calls[0]["function"]["name"], "core_memory_append");
    assert_eq!(calls[1]["function"]["name"], "send_message");
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert!(calls
        .iter()
        .all(|call| call["id"].as_str().unwrap().starts_with("call_")));
    assert_eq!(
        arguments(&calls[0]),
        json!({"name": "human", "content": "Name: Ada", "request_heartbeat": true}),
        "the heartbeat correction applies to each call"
    );
    assert_eq!(arguments(&calls[1]), json!({"message": "Hi Ada!"}));
    let sent = bodies(&server).await;
    assert!(
        !stops_after_one_call(&sent[0]),
        "the model may go on after its first call: {}",
        sent[0]["stop"]
    );
}

#[tokio::test]
async fn parallel_tool_calls_false_keeps_the_first_call_and_the_stop() {
    let server = llamacpp(vec![TWO_CALLS]).await;
    let response = client()
        .get_chat_completion(
            &target(&server),
            &request(false, json!({"parallel_tool_calls": false})),
        )
        .await
        .unwrap();

    let message = &response.choices[0].message;
    let calls = message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "core_memory_append");
    assert_eq!(message.content.as_deref(), Some("Save her name."));
    assert!(stops_after_one_call(&bodies(&server).await[0]));
}

#[tokio::test]
async fn legacy_functions_callers_get_one_function_call() {
    let server = llamacpp(vec![TWO_CALLS]).await;
    let response = client()
        .get_chat_completion(&target(&server), &request(true, json!({})))
        .await
        .unwrap();

    let message = &response.choices[0].message;
    assert!(message.tool_calls.is_none());
    assert_eq!(
        message
            .function_call
            .as_ref()
            .map(|call| call.name.as_str()),
        Some("core_memory_append")
    );
    assert_eq!(
        serde_json::to_value(response.choices[0].finish_reason).unwrap(),
        "function_call"
    );
    assert!(stops_after_one_call(&bodies(&server).await[0]));
}

#[tokio::test]
async fn every_call_is_checked_and_a_bad_second_call_is_asked_for_again() {
    let bad_second = " \"send_message\",\n  \"params\": {\"message\": \"Hi\"}\n}\n{\n  \"function\": \"launch_rockets\",\n  \"params\": {}\n}";
    let server = llamacpp(vec![bad_second, TWO_CALLS]).await;
    let response = client()
        .get_chat_completion(&target(&server), &request(false, json!({})))
        .await
        .unwrap();
    assert_eq!(bodies(&server).await.len(), 2, "one retry");
    assert_eq!(
        response.choices[0]
            .message
            .tool_calls
            .as_ref()
            .unwrap()
            .len(),
        2
    );

    let always_bad = llamacpp(vec![bad_second]).await;
    let error = client()
        .get_chat_completion(&target(&always_bad), &request(false, json!({})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidToolCall);
    match error {
        ProxyError::InvalidToolCall { reason, .. } => {
            assert!(
                reason.contains("call 2 of 2") && reason.contains("launch_rockets"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// llama.cpp's stream of `text` in pieces of a few characters, then the last chunk.
fn llamacpp_events(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut body = String::new();
    for piece in chars.chunks(5) {
        let piece: String = piece.iter().collect();
        body.push_str(&format!(
            "data: {}\n\n",
            json!({"content": piece, "stop": false})
        ));
    }
    body.push_str(&format!(
        "data: {}\n\n",
        json!({"content": "", "stop": true, "stop_type": "eos",
               "tokens_predicted": 40, "tokens_evaluated": 60})
    ));
    body
}

#[tokio::test]
async fn a_streamed_reply_with_two_calls_finishes_with_both() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(llamacpp_events(TWO_CALLS), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let streamed = request(false, json!({"stream": true}));
    let stream = client()
        .stream_chat_completion(&target(&server), &streamed)
        .await
        .unwrap();
    assert!(stream.is_streamed_from_backend());
    let mut content = String::new();
    let mut finished = None;
    for event in stream.collect::<Vec<_>>().await {
        match event.unwrap() {
            ChatCompletionEvent::Content(piece) => content.push_str(&piece),
            ChatCompletionEvent::Reasoning(piece) => panic!("no reasoning expected: {piece:?}"),
            ChatCompletionEvent::Finished { response, .. } => finished = Some(response),
        }
    }
    let response = finished.unwrap();
    let message = &response.choices[0].message;
    assert_eq!(content, "Save her name.\nThen greet her.");
    assert_eq!(message.content.as_deref(), Some(content.as_str()));
    let names: Vec<&str> = message
        .tool_calls
        .as_ref()
        .unwrap()
        .iter()
        .map(|call| call.function.name.as_str())
        .collect();
    assert_eq!(names, ["core_memory_append", "send_message"]);
}
