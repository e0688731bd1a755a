//! A model whose chat template the backend serves (llama.cpp's `GET /props`), over real
//! HTTP on loopback: fetched at the first request and kept (one `/props` call for
//! many requests), rendered into the prompt, the stop token sent, the reply read in
//! the template's own format, with the grammar for a required call; a server with no
//! template is an error that names neither its address nor its body, and is asked
//! again next time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::chat_template_source::TemplateSource;
use chat_completion_proxy::{ErrorKind, WrapperSelection};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workspace_tests::llamacpp_mock::llamacpp;
use workspace_tests::pipeline::{client, configured_target, tools_request};

const HERMES_TEMPLATE: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if tools %}<tools>{{ tools | tojson }}</tools>{% endif %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}{# <tool_call> #}";

const HERMES_CALL: &str =
    "<tool_call>\n{\"name\": \"send_message\", \"arguments\": {\"message\": \"Hi Ada!\"}}\n</tool_call>";

async fn props(server: &MockServer, body: serde_json::Value, expected_calls: u64) {
    Mock::given(method("GET"))
        .and(path("/props"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(expected_calls)
        .mount(server)
        .await;
}

/// The bodies of the `/completion` calls `server` received, in order.
async fn completion_bodies(server: &MockServer) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == "/completion")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

fn served_target(server: &MockServer) -> chat_completion_proxy::ResolvedTarget {
    configured_target(server, "llamacpp", "unused", |target| {
        target.wrapper = WrapperSelection::Template {
            source: TemplateSource::Backend,
            tool_call_format: None,
        };
    })
}

#[tokio::test]
async fn the_served_template_is_fetched_once_and_drives_prompt_stop_grammar_and_parse() {
    let server = llamacpp(vec![HERMES_CALL, HERMES_CALL]).await;
    props(
        &server,
        json!({"chat_template": HERMES_TEMPLATE, "bos_token": "<s>", "eos_token": "<|im_end|>"}),
        1,
    )
    .await;
    let target = served_target(&server);
    let mut request = tools_request();
    request.tool_choice = Some(json!("required"));

    for _ in 0..2 {
        let response = client()
            .get_chat_completion(&target, &request)
            .await
            .unwrap();
        let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].function.name, "send_message");
        let arguments: serde_json::Value =
            serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert_eq!(arguments, json!({"message": "Hi Ada!"}));
    }

    let completions = completion_bodies(&server).await;
    assert_eq!(completions.len(), 2);
    let prompt = completions[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("<|im_start|>system\nYou are an agent.<|im_end|>\n<|im_start|>user\nSay hi to Ada.<|im_end|>\n<tools>[{\"type\": \"function\""),
        "{prompt}"
    );
    assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt}");
    let stops = completions[0]["stop"].as_array().unwrap();
    assert!(stops.contains(&json!("<|im_end|>")), "{stops:?}");
    let grammar = completions[0]["grammar"].as_str().unwrap();
    assert!(
        grammar.contains("<tool_call>"),
        "a required call in the Hermes syntax: {grammar}"
    );
}

#[tokio::test]
async fn a_server_without_a_template_is_a_clear_error_and_is_asked_again() {
    let server = llamacpp(vec![HERMES_CALL]).await;
    props(&server, json!({"chat_template": ""}), 2).await;
    let target = served_target(&server);

    for _ in 0..2 {
        let error = client()
            .get_chat_completion(&target, &tools_request())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
        assert!(
            error.to_string().contains("without a chat template"),
            "{error}"
        );
    }
    assert!(
        completion_bodies(&server).await.is_empty(),
        "nothing is sent for completion"
    );
}

#[test]
fn a_backend_that_serves_no_template_is_refused_at_start_up() {
    let mut target = chat_completion_proxy::ModelTarget::new("ollama", "http://localhost:9", 4096);
    target.model = Some("m".into());
    target.wrapper = WrapperSelection::Template {
        source: TemplateSource::Backend,
        tool_call_format: None,
    };
    let error = target.resolve().unwrap_err().to_string();
    assert!(
        error.contains("the `ollama` backend does not serve a chat template"),
        "{error}"
    );
}
