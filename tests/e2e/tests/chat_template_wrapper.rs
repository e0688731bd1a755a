//! The model's own chat template on the real server (SmolLM2-135M-Instruct): the
//! proxy renders it exactly as llama-server does (`POST /apply-template`), from the
//! template `/props` serves and from the GGUF file's metadata; and `serve` with the
//! template from the backend answers plain chat and, with the grammar, a required
//! tool call. Run with `cargo xtask e2e`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::{find_backend, Endpoint};
use chat_completion_proxy::{
    build_chat_template_wrapper, load_local, ChatMessage, ChatTemplateSpec, FunctionSchema,
    RenderRequest, ResponseMessage, TemplateSource,
};
use e2e_tests::{check_call, context_size, fixture_conversations, model_path, server_url};
use proxy_server::{ModelConfig, ServerConfig, ServerState};
use serde_json::{json, Value};

/// The conversations both render: each fixture conversation's system, user and
/// assistant text turns (llama-server reads tool turns its own way), and one with
/// non-ASCII text and several turns.
fn conversations() -> Vec<Value> {
    let mut all: Vec<Value> = fixture_conversations()
        .unwrap()
        .into_iter()
        .map(|conversation| {
            let turns: Vec<Value> = conversation
                .request
                .messages
                .iter()
                .filter(|message| {
                    matches!(message.role.as_str(), "system" | "user" | "assistant")
                        && message.calls().is_empty()
                })
                .map(|message| json!({"role": message.role.as_str(), "content": message.text_or_empty()}))
                .collect();
            Value::Array(turns)
        })
        .collect();
    all.push(json!([
        {"role": "system", "content": "Réponds en français."},
        {"role": "user", "content": "Bonjour ! Quel temps fait-il à Zürich ?"},
        {"role": "assistant", "content": "Il fait beau. 🌞"},
        {"role": "user", "content": "Et demain ?"}
    ]));
    assert!(all.len() >= 5, "{} conversations", all.len());
    all
}

async fn served_template(http: &reqwest::Client) -> ChatTemplateSpec {
    let endpoint = Endpoint::parse(&server_url().unwrap()).unwrap();
    find_backend("llamacpp")
        .unwrap()
        .backend
        .chat_template(http, &endpoint, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_proxy_renders_smollm2s_template_as_llama_server_does() {
    // Setup
    let http = reqwest::Client::new();
    let url = server_url().unwrap();
    let specs = [
        ("/props", served_template(&http).await),
        (
            "GGUF metadata",
            load_local(&TemplateSource::Gguf(model_path().unwrap()), None).unwrap(),
        ),
    ];

    for (source, spec) in specs {
        let wrapper = build_chat_template_wrapper(&spec).unwrap();
        for conversation in conversations() {
            // Exec
            let messages: Vec<ChatMessage> = serde_json::from_value(conversation.clone()).unwrap();
            let ours = wrapper
                .render_prompt(&RenderRequest::new(&messages, &[]))
                .unwrap();
            let theirs: Value = http
                .post(format!("{url}/apply-template"))
                .json(&json!({"messages": conversation}))
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .await
                .unwrap();

            // Check
            assert_eq!(
                Some(ours.as_str()),
                theirs["prompt"].as_str(),
                "the template from {source} on {conversation}"
            );
        }
    }
}

/// Serves the real server's model with the template it serves; the completions URL
/// and the stop switch.
async fn serve_with_the_backends_template() -> (String, tokio::sync::oneshot::Sender<()>) {
    let mut model = ModelConfig::new("smollm2", "llamacpp", context_size());
    model.endpoint = Some(server_url().unwrap());
    model.chat_template_from_backend = true;
    let config = ServerConfig {
        models: vec![model],
        ..ServerConfig::default()
    };
    let state = ServerState::from_config(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(proxy_server::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

async fn ask(url: &str, body: Value) -> ResponseMessage {
    let reply: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(reply["choices"][0]["message"].clone())
        .unwrap_or_else(|error| panic!("{error}: {reply}"))
}

#[tokio::test]
async fn serve_with_the_backends_template_answers_chat_and_a_required_tool_call() {
    // Setup
    let (url, stop) = serve_with_the_backends_template().await;
    let weather: FunctionSchema = serde_json::from_value(json!({
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city."}},
            "required": ["city"]
        }
    }))
    .unwrap();

    // Exec
    let chat = ask(
        &url,
        json!({"model": "smollm2", "seed": 42, "temperature": 0.0, "max_tokens": 48,
               "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}),
    )
    .await;
    let mut calls = Vec::new();
    for city in ["Paris", "Oslo", "Tokyo"] {
        calls.push(
            ask(
                &url,
                json!({"model": "smollm2", "seed": 42, "temperature": 0.0, "max_tokens": 96,
                       "messages": [{"role": "user", "content": format!("What is the weather in {city}?")}],
                       "tools": [{"type": "function", "function": weather}],
                       "tool_choice": "required"}),
            )
            .await,
        );
    }
    let _ = stop.send(());

    // Check
    let text = chat.content.as_deref().unwrap_or_default();
    assert!(!text.trim().is_empty(), "{chat:?}");
    assert!(chat.tool_calls.is_none(), "{chat:?}");
    assert!(
        !text.contains("<|im_end|>"),
        "the end token is not content: {text:?}"
    );
    for call in &calls {
        check_call(call, std::slice::from_ref(&weather))
            .unwrap_or_else(|error| panic!("{error}: {call:?}"));
    }
}
