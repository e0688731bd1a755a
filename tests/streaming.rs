//! `ProxyClient::stream_chat_completion` over real HTTP on loopback: llama.cpp's
//! `/completion` streamed as server-sent events by a wiremock server (one event per
//! token), ollama's newline-delimited JSON, and text-generation-webui's legacy API
//! (which cannot stream) for the fallback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{
    ChatCompletionEvent, ChatCompletionRequest, ModelTarget, ProxyClient, TokenCounting,
    WrapperSelection,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request() -> ChatCompletionRequest {
    serde_json::from_value(json!({
        "model": "smol",
        "stream": true,
        "messages": [
            {"role": "system", "content": "You are MemGPT."},
            {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"Hi, I am Ada.\"}"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "send_message", "description": "Sends a message.",
            "parameters": {"type": "object", "properties": {
                "message": {"type": "string", "description": "Message contents."}},
                "required": ["message"]}}}]
    }))
    .unwrap()
}

fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

fn target(server: &MockServer, endpoint_type: &str, wrapper: &str) -> ModelTarget {
    let mut target = ModelTarget::new(endpoint_type, server.uri(), 4096);
    target.wrapper = WrapperSelection::Named(wrapper.into());
    target.model = Some("smol".into());
    target.token_counting = TokenCounting::Cl100k;
    target
}

/// llama.cpp's stream of `pieces` (one `data:` event each), then the last chunk.
fn llamacpp_events(pieces: &[&str]) -> String {
    let mut body = String::from(": ping\n\n");
    for piece in pieces {
        body.push_str(&format!(
            "data: {}\n\n",
            json!({"content": piece, "stop": false, "index": 0})
        ));
    }
    body.push_str(&format!(
        "data: {}\n\n",
        json!({"content": "", "stop": true, "stop_type": "eos",
               "tokens_predicted": pieces.len(), "tokens_evaluated": 60})
    ));
    body
}

async fn mock_stream(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .mount(server)
        .await;
}

/// The content pieces and the finished response's JSON.
async fn run(target: &ModelTarget) -> (Vec<String>, Value, bool) {
    let stream = client()
        .stream_chat_completion(&target.resolve().unwrap(), &request())
        .await
        .unwrap();
    let live = stream.is_streamed_from_backend();
    let header = stream.header().clone();
    let events: Vec<_> = stream.collect().await;
    let mut pieces = Vec::new();
    let mut finished = None;
    for event in events {
        match event.unwrap() {
            ChatCompletionEvent::Content(piece) => {
                assert!(finished.is_none(), "content after the end");
                pieces.push(piece);
            }
            ChatCompletionEvent::Reasoning(piece) => panic!("no reasoning expected: {piece:?}"),
            ChatCompletionEvent::Finished { response, .. } => {
                assert_eq!(response.id, header.id);
                finished = Some(serde_json::to_value(&*response).unwrap());
            }
        }
    }
    (pieces, finished.expect("a finished response"), live)
}

#[tokio::test]
async fn llamacpp_tokens_become_content_pieces_then_the_tool_call() {
    // Setup: the reply continues chatml's `{\n  "function":` prefix, token by token,
    // with escapes cut in the middle.
    let server = MockServer::start().await;
    let pieces = [
        " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"",
        "Ada is",
        " new",
        ". Say \\",
        "\"hi\\",
        "\" \\u00",
        "e9",
        "\\ud83d",
        "\\ude00\", \"message\": \"Hi Ada!\"}\n}",
    ];
    mock_stream(&server, llamacpp_events(&pieces)).await;

    // Exec
    let (content, response, live) = run(&target(&server, "llamacpp", "chatml")).await;

    // Check: the thoughts arrived in several pieces that join into the final content.
    assert!(live);
    let thoughts = "Ada is new. Say \"hi\" \u{e9}\u{1f600}";
    assert!(content.len() >= 4, "{content:?}");
    assert_eq!(content.concat(), thoughts);
    let message = &response["choices"][0]["message"];
    assert_eq!(message["content"], thoughts);
    assert_eq!(message["tool_calls"][0]["function"]["name"], "send_message");
    assert_eq!(response["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(response["usage"]["prompt_tokens"], 60);
    assert_eq!(response["usage"]["completion_tokens"], pieces.len());
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["stream"], true);
}

#[tokio::test]
async fn noforce_thoughts_stream_too() {
    let server = MockServer::start().await;
    mock_stream(
        &server,
        llamacpp_events(&[" \"Just", " thinking.\"", ", \"function\": null}"]),
    )
    .await;
    let (content, response, _) = run(&target(&server, "llamacpp", "chatml-noforce")).await;
    assert_eq!(content, vec!["Just", " thinking."]);
    assert_eq!(
        response["choices"][0]["message"]["content"],
        "Just thinking."
    );
    assert_eq!(response["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn noforce_replies_that_restart_the_seeded_answer_stream_their_thoughts() {
    // Setup: the model repeats the seeded `{"inner_thoughts":`, or opens a code fence
    // after it, then writes the whole answer, token by token.
    let answer = [
        "{\n  \"inner",
        "_thoughts\": \"I should",
        " greet.\", \"function\": \"send_message\",",
        " \"params\": {\"message\": \"hi\"}}",
    ];
    for opening in [&[" "][..], &["`", "``json\n"], &["```\n"]] {
        let server = MockServer::start().await;
        let mut pieces = opening.to_vec();
        pieces.extend(answer);
        if opening != [" "] {
            pieces.push("\n```");
        }
        mock_stream(&server, llamacpp_events(&pieces)).await;

        // Exec
        let (content, response, _) = run(&target(&server, "llamacpp", "chatml-noforce")).await;

        // Check: only the thoughts were streamed, and the call was read.
        assert_eq!(content.concat(), "I should greet.", "opening {opening:?}");
        let message = &response["choices"][0]["message"];
        assert_eq!(message["content"], "I should greet.");
        assert_eq!(message["tool_calls"][0]["function"]["name"], "send_message");
        let arguments: Value = serde_json::from_str(
            message["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(arguments["message"], "hi");
    }
}

#[tokio::test]
async fn an_error_in_the_stream_ends_it() {
    let server = MockServer::start().await;
    let body = format!(
        "{}data: {}\n\n",
        "data: {\"content\": \" \\\"send_message\\\"\", \"stop\": false}\n\n",
        json!({"error": {"code": 500, "message": "slot crashed", "type": "server_error"}})
    );
    mock_stream(&server, body).await;
    let stream = client()
        .stream_chat_completion(
            &target(&server, "llamacpp", "chatml").resolve().unwrap(),
            &request(),
        )
        .await
        .unwrap();
    let events: Vec<_> = stream.collect().await;
    let error = events.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::BackendErrorReply
    );
    assert!(error.to_string().contains("slot crashed"), "{error}");
}

#[tokio::test]
async fn unparseable_output_is_an_error_at_the_end() {
    let server = MockServer::start().await;
    mock_stream(&server, llamacpp_events(&["I will", " not", " write JSON"])).await;
    let stream = client()
        .stream_chat_completion(
            &target(&server, "llamacpp", "chatml").resolve().unwrap(),
            &request(),
        )
        .await
        .unwrap();
    let events: Vec<_> = stream.collect().await;
    assert_eq!(events.len(), 1, "no content from text that is not a reply");
    let error = events[0].as_ref().unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::OutputParsingError
    );
}

#[tokio::test]
async fn errors_before_generation_come_before_the_stream() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "type": "exceed_context_size_error",
            "message": "request (9000 tokens) exceeds the available context size (4096 tokens)"}})))
        .mount(&server)
        .await;
    let error = client()
        .stream_chat_completion(
            &target(&server, "llamacpp", "chatml").resolve().unwrap(),
            &request(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::ContextWindowExceeded
    );
}

#[tokio::test]
async fn a_backend_that_cannot_stream_gives_the_whole_content_then_the_end() {
    // text-generation-webui's legacy API has no streaming over HTTP.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [{
            "text": " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"Hi\"}\n}"
        }]})))
        .mount(&server)
        .await;
    let (content, response, live) = run(&target(&server, "webui-legacy", "chatml")).await;
    assert!(!live);
    assert_eq!(content, vec!["Greet."]);
    assert_eq!(
        response["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "send_message"
    );
}

#[tokio::test]
async fn ollama_lines_become_content_pieces() {
    let server = MockServer::start().await;
    let lines: String = [
        " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Gre",
        "et.\", \"message\": \"Hi\"}\n}",
    ]
    .iter()
    .map(|piece| {
        format!(
            "{}\n",
            json!({"model": "smol", "response": piece, "done": false})
        )
    })
    .chain([format!(
        "{}\n",
        json!({"model": "smol", "response": "", "done": true, "done_reason": "stop",
               "prompt_eval_count": 50, "eval_count": 20})
    )])
    .collect();
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(lines, "application/x-ndjson"))
        .mount(&server)
        .await;
    let (content, response, live) = run(&target(&server, "ollama", "chatml")).await;
    assert!(live);
    assert_eq!(content, vec!["Gre", "et."]);
    assert_eq!(response["usage"]["prompt_tokens"], 50);
    assert_eq!(response["choices"][0]["finish_reason"], "tool_calls");
}

/// A wrapper that reads a leading `<think>…</think>` as reasoning and the rest as
/// text (what the chat-template wrappers do), for the reasoning stream.
struct Thinking;

impl chat_completion_proxy::PromptWrapper for Thinking {
    fn render_prompt(
        &self,
        _: &chat_completion_proxy::RenderRequest<'_>,
    ) -> Result<String, chat_completion_proxy::WrapperError> {
        Ok("<|user|>Hi<|assistant|>".into())
    }

    fn parse_output(
        &self,
        raw: &str,
        _: bool,
    ) -> Result<chat_completion_proxy::AssistantMessage, chat_completion_proxy::WrapperError> {
        Ok(self.parse_text_output(raw))
    }

    fn supports_text_answers(&self) -> bool {
        true
    }

    fn parse_text_output(&self, raw: &str) -> chat_completion_proxy::AssistantMessage {
        let raw = raw.trim_start();
        let (reasoning, answer) = match raw.strip_prefix("<think>") {
            Some(inside) => inside.split_once("</think>").unwrap_or((inside, "")),
            None => ("", raw),
        };
        let mut message = chat_completion_proxy::text_answer(answer, &[]);
        message.reasoning = Some(reasoning.trim().to_owned()).filter(|text| !text.is_empty());
        message
    }
}

#[tokio::test]
async fn reasoning_streams_before_the_content() {
    // Setup: a reply that thinks first, token by token.
    let server = MockServer::start().await;
    let pieces = ["<think>", "Ada is ", "new.", "</think>", "\nHello", " Ada!"];
    mock_stream(&server, llamacpp_events(&pieces)).await;
    let mut target = target(&server, "llamacpp", "chatml");
    target.wrapper = WrapperSelection::Custom {
        name: "thinking".into(),
        wrapper: std::sync::Arc::new(Thinking),
    };
    let request: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "smol", "stream": true,
        "messages": [{"role": "user", "content": "Hi, I am Ada."}]
    }))
    .unwrap();

    // Exec
    let stream = client()
        .stream_chat_completion(&target.resolve().unwrap(), &request)
        .await
        .unwrap();
    let events: Vec<ChatCompletionEvent> = stream.map(Result::unwrap).collect().await;

    // Check: every reasoning piece comes before the first content piece, and the
    // pieces join to the response's fields.
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| match event {
            ChatCompletionEvent::Reasoning(_) => "reasoning",
            ChatCompletionEvent::Content(_) => "content",
            ChatCompletionEvent::Finished { .. } => "finished",
        })
        .collect();
    assert_eq!(
        kinds,
        ["reasoning", "reasoning", "content", "content", "finished"]
    );
    let joined = |reasoning: bool| -> String {
        events
            .iter()
            .filter_map(|event| match event {
                ChatCompletionEvent::Reasoning(piece) if reasoning => Some(piece.as_str()),
                ChatCompletionEvent::Content(piece) if !reasoning => Some(piece.as_str()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(joined(true), "Ada is new.");
    assert_eq!(joined(false), "Hello Ada!");
    let Some(ChatCompletionEvent::Finished { response, .. }) = events.last() else {
        panic!("the stream ends with the response");
    };
    let message = serde_json::to_value(&response.choices[0].message).unwrap();
    assert_eq!(message["reasoning_content"], "Ada is new.");
    assert_eq!(message["content"], "Hello Ada!");
}

#[tokio::test]
async fn a_backend_that_cannot_stream_sends_the_reasoning_first() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/generate"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [{
                "text": "<think>Greet her.</think>Hi!"
            }]})),
        )
        .mount(&server)
        .await;
    let mut target = target(&server, "webui-legacy", "chatml");
    target.wrapper = WrapperSelection::Custom {
        name: "thinking".into(),
        wrapper: std::sync::Arc::new(Thinking),
    };
    let request: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "smol", "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]
    }))
    .unwrap();
    let stream = client()
        .stream_chat_completion(&target.resolve().unwrap(), &request)
        .await
        .unwrap();
    assert!(!stream.is_streamed_from_backend());
    let events: Vec<ChatCompletionEvent> = stream.map(Result::unwrap).collect().await;
    assert!(matches!(
        events.as_slice(),
        [
            ChatCompletionEvent::Reasoning(reasoning),
            ChatCompletionEvent::Content(content),
            ChatCompletionEvent::Finished { .. }
        ] if reasoning == "Greet her." && content == "Hi!"
    ));
}
