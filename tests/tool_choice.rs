//! Plain chat and every `tool_choice` form through the whole pipeline, over real HTTP
//! on loopback (llama.cpp's wire format on a wiremock server), with the real wrappers:
//! what the prompt asks for, what the grammar admits, how the answer is checked and
//! retried.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{
    ChatCompletionRequest, ErrorKind, ModelTarget, ProxyClient, ProxyError, ResolvedTarget,
    TokenCounting, WrapperSelection,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workspace_tests::llamacpp_mock::{bodies, llamacpp, llamacpp_scripted, Stop};

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "send_message", "description": "Sends a message.",
         "parameters": {"type": "object", "properties": {"message": {"type": "string"}},
            "required": ["message"]}}},
        {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}}}
    ])
}

fn request(body: Value) -> ChatCompletionRequest {
    serde_json::from_value(body).unwrap()
}

/// A client with no settings file and the registered grammar generator (grammar-gbnf).
fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

fn target(server: &MockServer, wrapper: &str) -> ResolvedTarget {
    let mut target = ModelTarget::new("llamacpp", server.uri(), 4096);
    target.wrapper = WrapperSelection::Named(wrapper.into());
    target.token_counting = TokenCounting::Cl100k;
    target.resolve().unwrap()
}

#[tokio::test]
async fn a_plain_chat_without_system_message_or_tools_is_an_ordinary_turn() {
    let server = llamacpp(vec![" Hello! How can I help?"]).await;
    let response = client()
        .get_chat_completion(
            &target(&server, "chatml"),
            &request(json!({"messages": [{"role": "user", "content": "hi"}]})),
        )
        .await
        .unwrap();
    let message = &response.choices[0].message;
    assert_eq!(message.content.as_deref(), Some("Hello! How can I help?"));
    assert!(message.tool_calls.is_none());
    assert_eq!(
        serde_json::to_value(response.choices[0].finish_reason).unwrap(),
        "stop"
    );
    let prompt = bodies(&server).await[0]["prompt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        prompt,
        "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "no function list, no JSON pre-seed"
    );
}

#[tokio::test]
async fn developer_messages_are_system_turns_and_none_means_no_call() {
    let server = llamacpp(vec!["Sunny, I think."]).await;
    let response = client()
        .get_chat_completion(
            &target(&server, "llama3"),
            &request(json!({
                "messages": [{"role": "developer", "content": "Be brief."},
                             {"role": "user", "content": "Weather in Oslo?"}],
                "tools": tools(), "tool_choice": "none"
            })),
        )
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("Sunny, I think.")
    );
    let prompt = bodies(&server).await[0]["prompt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        prompt.contains("system<|end_header_id|>\n\nBe brief."),
        "{prompt}"
    );
    assert!(
        !prompt.contains("get_weather"),
        "tool_choice none lists no tools: {prompt}"
    );
}

#[tokio::test]
async fn every_built_in_wrapper_renders_plain_chat_without_the_function_block() {
    let server = llamacpp(vec!["Hi."]).await;
    for wrapper in chat_completion_proxy::available_wrappers() {
        let target = target(&server, wrapper);
        let response = client()
            .get_chat_completion(
                &target,
                &request(
                    json!({"messages": [{"role": "system", "content": "Be kind."},
                                             {"role": "user", "content": "hi"}]}),
                ),
            )
            .await
            .unwrap_or_else(|error| panic!("{wrapper}: {error}"));
        assert_eq!(
            response.choices[0].message.content.as_deref(),
            Some("Hi."),
            "{wrapper}"
        );
        let prompt = bodies(&server).await.last().unwrap()["prompt"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !prompt.contains("Available functions") && !prompt.contains("\"function\""),
            "{wrapper}: {prompt}"
        );
    }
}

#[tokio::test]
async fn a_named_function_is_the_only_one_offered_and_admitted() {
    let server = llamacpp(vec![
        "{\"function\": \"get_weather\", \"params\": {\"inner_thoughts\": \"Look.\", \"city\": \"Oslo\"}}",
    ])
    .await;
    let response = client()
        .get_chat_completion(
            &target(&server, "chatml-grammar"),
            &request(json!({
                "messages": [{"role": "user", "content": "Weather in Oslo?"}],
                "tools": tools(),
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
            })),
        )
        .await
        .unwrap();
    let call = &response.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    let body = &bodies(&server).await[0];
    let grammar = body["grammar"].as_str().unwrap();
    assert!(
        grammar.contains("get-weather") && !grammar.contains("send-message"),
        "{grammar}"
    );
    assert!(!body["prompt"].as_str().unwrap().contains("send_message"));
}

#[tokio::test]
async fn required_makes_the_noforce_grammar_drop_its_thoughts_only_branch() {
    let server = llamacpp(vec![
        "{\"inner_thoughts\": \"Greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"Hi\"}}",
    ])
    .await;
    let response = client()
        .get_chat_completion(
            &target(&server, "chatml-noforce-grammar"),
            &request(json!({"messages": [{"role": "user", "content": "hi"}],
                            "tools": tools(), "tool_choice": "required"})),
        )
        .await
        .unwrap();
    assert!(response.choices[0].message.tool_calls.is_some());
    let grammar = bodies(&server).await[0]["grammar"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!grammar.contains("\"null\""), "{grammar}");
}

#[tokio::test]
async fn an_invalid_call_is_asked_for_again_then_refused_with_the_raw_text() {
    // The first answer calls a function never offered; the retry is valid.
    let server = llamacpp(vec![
        " \"launch_rockets\", \"params\": {\"inner_thoughts\": \"Go.\"}}",
        " \"send_message\", \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"Hi\"}}",
    ])
    .await;
    let ask = request(
        json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools(), "seed": 7}),
    );
    let response = client()
        .get_chat_completion(&target(&server, "chatml"), &ask)
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].message.tool_calls.as_ref().unwrap()[0]
            .function
            .name,
        "send_message"
    );
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0]["seed"].clone(), sent[1]["seed"].clone()),
        (json!(7), json!(8))
    );

    // Arguments that fail the schema every time: one retry (the default), then an error.
    let bad = llamacpp(vec![
        " \"get_weather\", \"params\": {\"inner_thoughts\": \"Hm.\", \"city\": 3}}",
    ])
    .await;
    let error = client()
        .get_chat_completion(&target(&bad, "chatml"), &ask)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidToolCall);
    match &error {
        ProxyError::InvalidToolCall { reason, raw_output } => {
            assert!(reason.contains("/city"), "{reason}");
            assert!(raw_output.contains("\"city\": 3"), "{raw_output}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bodies(&bad).await.len(), 2, "one call and one retry");
}

#[tokio::test]
async fn a_reply_cut_at_the_token_limit_is_the_text_produced_with_finish_reason_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": " \"send_message\", \"params\": {\"inner_thou", "tokens_predicted": 10,
            "stop": true, "stop_type": "limit"
        })))
        .mount(&server)
        .await;
    let response = client()
        .get_chat_completion(
            &target(&server, "chatml"),
            &request(json!({"messages": [{"role": "user", "content": "hi"}],
                            "tools": tools(), "max_tokens": 10})),
        )
        .await
        .unwrap();
    let choice = &response.choices[0];
    assert_eq!(
        serde_json::to_value(choice.finish_reason).unwrap(),
        "length"
    );
    assert_eq!(
        choice.message.content.as_deref(),
        Some("\"send_message\", \"params\": {\"inner_thou")
    );
    assert!(choice.message.tool_calls.is_none());
}

/// A `send_message` answer whose `message` loops until the token limit cut it: the
/// repaired JSON is a valid call, but not the answer the model meant.
const LOOPING_CALL: &str =
    "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"1313131313";
const GOOD_CALL: &str =
    "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"Hi\"}}";

#[tokio::test]
async fn a_constrained_reply_cut_at_the_token_limit_is_asked_for_again_with_the_next_seed() {
    let server = llamacpp_scripted(vec![(LOOPING_CALL, Stop::Limit), (GOOD_CALL, Stop::Eos)]).await;
    let ask = request(json!({"messages": [{"role": "user", "content": "hi"}],
                             "tools": tools(), "seed": 3, "max_tokens": 64}));
    let response = client()
        .get_chat_completion(&target(&server, "chatml-grammar"), &ask)
        .await
        .unwrap();
    let choice = &response.choices[0];
    assert_eq!(
        serde_json::to_value(choice.finish_reason).unwrap(),
        "tool_calls"
    );
    let call = &choice.message.tool_calls.as_ref().unwrap()[0].function;
    assert_eq!(call.name, "send_message");
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).unwrap(),
        json!({"message": "Hi"})
    );
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2, "the cut reply and one retry");
    assert!(sent.iter().all(|body| body["grammar"].is_string()));
    assert_eq!(
        (sent[0]["seed"].clone(), sent[1]["seed"].clone()),
        (json!(3), json!(4))
    );
}

#[tokio::test]
async fn a_cut_reply_is_answered_as_it_is_when_no_retry_is_left_or_nothing_constrains_it() {
    let ask = request(json!({"messages": [{"role": "user", "content": "hi"}],
                             "tools": tools(), "max_tokens": 64}));
    // Every attempt cut: the default one retry, then the last reply, repaired, with
    // finish_reason `length`.
    let server = llamacpp_scripted(vec![(LOOPING_CALL, Stop::Limit)]).await;
    let response = client()
        .get_chat_completion(&target(&server, "chatml-grammar"), &ask)
        .await
        .unwrap();
    assert_eq!(bodies(&server).await.len(), 2, "one call and one retry");
    let choice = &response.choices[0];
    assert_eq!(
        serde_json::to_value(choice.finish_reason).unwrap(),
        "length"
    );
    let call = &choice.message.tool_calls.as_ref().unwrap()[0].function;
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).unwrap(),
        json!({"message": "1313131313"})
    );

    // No retries configured: one call.
    let server = llamacpp_scripted(vec![(LOOPING_CALL, Stop::Limit), (GOOD_CALL, Stop::Eos)]).await;
    let mut no_retries = ModelTarget::new("llamacpp", server.uri(), 4096);
    no_retries.wrapper = WrapperSelection::Named("chatml-grammar".into());
    no_retries.token_counting = TokenCounting::Cl100k;
    no_retries.max_retries = 0;
    let response = client()
        .get_chat_completion(&no_retries.resolve().unwrap(), &ask)
        .await
        .unwrap();
    assert_eq!(bodies(&server).await.len(), 1);
    assert_eq!(
        serde_json::to_value(response.choices[0].finish_reason).unwrap(),
        "length"
    );

    // Unconstrained (`chatml`): a cut is the caller's token limit at work, not a loop
    // the constraint's bounds should have prevented; answered at once.
    let server = llamacpp_scripted(vec![(LOOPING_CALL, Stop::Limit), (GOOD_CALL, Stop::Eos)]).await;
    client()
        .get_chat_completion(&target(&server, "chatml"), &ask)
        .await
        .unwrap();
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn n_choices_are_concurrent_calls_with_distinct_seeds() {
    let server = llamacpp(vec![" Hi."]).await;
    let ask = request(json!({"messages": [{"role": "user", "content": "hi"}], "n": 3, "seed": 10}));
    let response = client()
        .get_chat_completion(&target(&server, "chatml"), &ask)
        .await
        .unwrap();
    let indexes: Vec<u32> = response.choices.iter().map(|choice| choice.index).collect();
    assert_eq!(indexes, vec![0, 1, 2]);
    assert!(response
        .choices
        .iter()
        .all(|choice| choice.message.content.as_deref() == Some("Hi.")));
    assert_eq!(
        response.usage.completion_tokens, 21,
        "three replies of 7 tokens"
    );
    let mut seeds: Vec<i64> = bodies(&server)
        .await
        .iter()
        .map(|body| body["seed"].as_i64().unwrap())
        .collect();
    seeds.sort_unstable();
    assert_eq!(
        seeds,
        vec![10, 12, 14],
        "one seed per choice, room for its retry between"
    );

    let too_many = request(json!({"messages": [{"role": "user", "content": "hi"}], "n": 9}));
    let error = client()
        .get_chat_completion(&target(&server, "chatml"), &too_many)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("`n` is 9"), "{error}");
    let streamed =
        request(json!({"messages": [{"role": "user", "content": "hi"}], "n": 2, "stream": true}));
    let error = client()
        .stream_chat_completion(&target(&server, "chatml"), &streamed)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("`n`"), "{error}");
}
