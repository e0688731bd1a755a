//! The `get_chat_completion` pipeline end to end over real HTTP on loopback: the
//! `llamacpp` (and `ollama`) backends against a wiremock server speaking their wire
//! format, with the real wrappers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use std::sync::Arc;

use chat_completion_proxy::grammar::{
    AnswerShape, GeneratedGrammar, GrammarError, GrammarGenerator,
};
use chat_completion_proxy::settings::SettingsPreset;
use chat_completion_proxy::{
    ChatCompletionRequest, FunctionSchema, ModelTarget, ProxyClient, TokenCounting,
    WrapperSelection,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MEMGPT_SYSTEM: &str = "You are MemGPT, a digital companion.";

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

fn request(extra: Value) -> ChatCompletionRequest {
    let mut body = json!({
        "model": "smol",
        "messages": [
            {"role": "system", "content": MEMGPT_SYSTEM},
            {"role": "user", "content": "{\"type\": \"user_message\", \"message\": \"My name is Ada.\"}"}
        ],
        "tools": functions().as_array().unwrap().iter()
            .map(|f| json!({"type": "function", "function": f})).collect::<Vec<_>>()
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    serde_json::from_value(body).unwrap()
}

fn client() -> ProxyClient {
    ProxyClient::builder().settings_file(None).build().unwrap()
}

/// `target` counting with cl100k_base, so no `/tokenize` request is made.
fn counting_with_cl100k(mut target: ModelTarget) -> ModelTarget {
    target.token_counting = TokenCounting::Cl100k;
    target
}

/// Checks a plain-text answer: its content, no tool call, and its finish reason.
fn assert_text_answer(
    response: &chat_completion_proxy::ChatCompletionResponse,
    content: &str,
    finish_reason: &str,
) {
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some(content)
    );
    assert!(response.choices[0].message.tool_calls.is_none());
    assert_eq!(
        serde_json::to_value(response.choices[0].finish_reason).unwrap(),
        finish_reason
    );
}

fn target(server: &MockServer, endpoint_type: &str) -> ModelTarget {
    ModelTarget::new(endpoint_type, server.uri(), 4096)
}

/// A `/completion` reply continuing the chatml prefix `\n{\n  "function":`.
fn llamacpp_reply(content: &str, stop_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "content": content, "tokens_predicted": 17, "tokens_evaluated": 0,
        "stop_type": stop_type, "stopped_eos": stop_type == "eos"
    }))
}

async fn mock_llamacpp(server: &MockServer, content: &str, prompt_tokens: usize) {
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"tokens": vec![1; prompt_tokens]})),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(llamacpp_reply(content, "eos"))
        .mount(server)
        .await;
}

async fn completion_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == "/completion")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

const CORE_MEMORY_CALL: &str = " \"core_memory_append\",\n  \"params\": {\"inner_thoughts\": \"Remember her name.\", \"name\": \"human\", \"content\": \"Name: Ada\"}\n}";

#[tokio::test]
async fn tools_request_through_llamacpp_returns_a_tool_call_with_usage() {
    let server = MockServer::start().await;
    mock_llamacpp(&server, CORE_MEMORY_CALL, 123).await;
    let mut target = target(&server, "llamacpp");
    target.wrapper = WrapperSelection::Named("chatml".into());
    let response = client()
        .get_chat_completion(&target.resolve().unwrap(), &request(json!({})))
        .await
        .unwrap();

    let bodies = completion_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    let prompt = bodies[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with(&format!("<|im_start|>system\n{MEMGPT_SYSTEM}\n")),
        "{prompt}"
    );
    assert!(
        prompt.ends_with("<|im_start|>assistant\n{\n  \"function\":"),
        "{prompt}"
    );
    assert!(bodies[0]["stop"]
        .as_array()
        .unwrap()
        .contains(&json!("<|im_end|>")));
    assert!(bodies[0].get("grammar").is_none());

    let value = serde_json::to_value(&response).unwrap();
    assert!(value["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(value["object"], "chat.completion");
    assert_eq!(value["model"], "smol");
    let choice = &value["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Remember her name.");
    assert!(choice["message"].get("function_call").is_none());
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "core_memory_append");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    // Function correction: the last message is a user message, so a non-messaging
    // call asks for a heartbeat.
    assert_eq!(
        arguments,
        json!({"name": "human", "content": "Name: Ada", "request_heartbeat": true})
    );
    // The prompt fits, so it was not counted before the call; the backend reported
    // no prompt tokens (0), so the server's tokenizer counted it after; the backend
    // reported the completion.
    assert_eq!(
        value["usage"],
        json!({"prompt_tokens": 123, "completion_tokens": 17, "total_tokens": 140})
    );
}

#[tokio::test]
async fn function_correction_can_be_switched_off_per_request_and_per_client() {
    let server = MockServer::start().await;
    mock_llamacpp(&server, CORE_MEMORY_CALL, 10).await;
    let target = target(&server, "llamacpp");
    let arguments = |response: chat_completion_proxy::ChatCompletionResponse| -> Value {
        let calls = response.choices[0].message.tool_calls.clone().unwrap();
        serde_json::from_str(&calls[0].function.arguments).unwrap()
    };
    let off = request(json!({"function_correction": false, "wrapper": "chatml"}));
    let response = client()
        .get_chat_completion(&target.resolve().unwrap(), &off)
        .await
        .unwrap();
    assert_eq!(
        arguments(response),
        json!({"name": "human", "content": "Name: Ada"})
    );
    let no_correction = ProxyClient::builder()
        .settings_file(None)
        .function_correction(false)
        .build()
        .unwrap();
    let response = no_correction
        .get_chat_completion(
            &target.resolve().unwrap(),
            &request(json!({"wrapper": "chatml"})),
        )
        .await
        .unwrap();
    assert_eq!(
        arguments(response),
        json!({"name": "human", "content": "Name: Ada"})
    );
}

#[tokio::test]
async fn legacy_functions_get_function_call_and_counted_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": " \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Greet.\", \"message\": \"Hi Ada!\"}\n}"
        })))
        .mount(&server)
        .await;
    let mut req = request(json!({"wrapper": "chatml"}));
    req.tools = None;
    req.functions = Some(serde_json::from_value::<Vec<FunctionSchema>>(functions()).unwrap());
    let response = client()
        .get_chat_completion(
            &counting_with_cl100k(target(&server, "llamacpp"))
                .resolve()
                .unwrap(),
            &req,
        )
        .await
        .unwrap();
    let value = serde_json::to_value(&response).unwrap();
    let choice = &value["choices"][0];
    assert_eq!(choice["finish_reason"], "function_call");
    assert_eq!(choice["message"]["function_call"]["name"], "send_message");
    assert!(
        choice["message"].get("tool_calls").is_none(),
        "OpenAI answers a functions caller with function_call alone: {choice}"
    );
    // No /tokenize with cl100k counting, and no counts in the reply: both counted.
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, vec!["/completion"]);
    let usage = &value["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 20, "{usage}");
    assert!(usage["completion_tokens"].as_u64().unwrap() > 5, "{usage}");
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
}

#[tokio::test]
async fn an_inner_thoughts_only_answer_cut_at_the_limit_finishes_with_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(llamacpp_reply(
            " \"Just thinking.\",\n  \"function\": null\n}",
            "limit",
        ))
        .mount(&server)
        .await;
    let mut target = target(&server, "llamacpp");
    target.wrapper = WrapperSelection::Named("chatml-noforce".into());
    let response = client()
        .get_chat_completion(
            &counting_with_cl100k(target).resolve().unwrap(),
            &request(json!({})),
        )
        .await
        .unwrap();
    assert_text_answer(&response, "Just thinking.", "length");
}

#[tokio::test]
async fn a_prompt_over_the_context_window_is_refused_before_the_completion_call() {
    let server = MockServer::start().await;
    mock_llamacpp(&server, CORE_MEMORY_CALL, 5000).await;
    // A window smaller than the prompt's bytes: only the server's count can tell.
    let mut target = target(&server, "llamacpp");
    target.context_window = 300;
    let error = client()
        .get_chat_completion(
            &target.resolve().unwrap(),
            &request(json!({"wrapper": "chatml"})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::ContextWindowExceeded
    );
    assert_eq!(
        error.to_string(),
        "This model's maximum context length is 300 tokens. However, your messages resulted in 5000 tokens. Please reduce the length of the messages."
    );
    assert!(completion_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn a_prompt_that_surely_fits_is_not_sent_to_the_tokenizer_first() {
    // Setup: a backend that reports the prompt's tokens, and a window larger than
    // the prompt's bytes.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": CORE_MEMORY_CALL, "tokens_predicted": 17, "tokens_evaluated": 150,
            "stop_type": "eos"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tokenize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tokens": [1]})))
        .expect(0)
        .mount(&server)
        .await;
    let mut target = target(&server, "llamacpp");
    target.wrapper = WrapperSelection::Named("chatml".into());

    // Exec
    let response = client()
        .get_chat_completion(&target.resolve().unwrap(), &request(json!({})))
        .await
        .unwrap();

    // Check: one request, and the usage the server reported.
    assert_eq!(response.usage.prompt_tokens, 150);
    assert_eq!(response.usage.completion_tokens, 17);
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1
    );
}

#[tokio::test]
async fn unknown_names_and_unsupported_choices_are_refused_without_a_request() {
    let server = MockServer::start().await;
    let error = client()
        .get_chat_completion(
            &target(&server, "llamacpp").resolve().unwrap(),
            &request(json!({"wrapper": "nope"})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::InvalidRequest
    );
    let message = error.to_string();
    assert!(
        message.contains("unknown wrapper `nope`") && message.contains("chatml-grammar"),
        "{message}"
    );

    let error = target(&server, "llama").resolve().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("unknown endpoint type `llama`") && message.contains("llamacpp, lmstudio"),
        "{message}"
    );

    let error = client()
        .get_chat_completion(
            &target(&server, "llamacpp").resolve().unwrap(),
            &request(
                json!({"tool_choice": {"type": "function", "function": {"name": "not_offered"}}}),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("tool_choice") && error.to_string().contains("not_offered"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_summarizer_prompt_gets_the_summary_wrapper_and_plain_text_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(llamacpp_reply("Ada introduced herself.", "eos"))
        .mount(&server)
        .await;
    let summarizer = chat_completion_proxy::wrapper_choice::SUMMARIZER_SYSTEM_PROMPT;
    let req: ChatCompletionRequest = serde_json::from_value(json!({
        "messages": [
            {"role": "system", "content": summarizer},
            {"role": "user", "content": "user: My name is Ada."}
        ]
    }))
    .unwrap();
    let mut target = target(&server, "llamacpp");
    target.wrapper = WrapperSelection::Named("chatml".into());
    let response = client()
        .get_chat_completion(&counting_with_cl100k(target).resolve().unwrap(), &req)
        .await
        .unwrap();
    assert_text_answer(&response, "Ada introduced herself.", "stop");
    let prompt = completion_bodies(&server).await[0]["prompt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !prompt.contains("<|im_start|>"),
        "summary prompt, not chatml: {prompt}"
    );
}

struct FixedGrammar;

impl GrammarGenerator for FixedGrammar {
    fn generate(
        &self,
        functions: &[FunctionSchema],
        shape: AnswerShape,
    ) -> Result<GeneratedGrammar, GrammarError> {
        Ok(GeneratedGrammar {
            gbnf: format!(
                "root ::= \"{{}}\" # {} functions, {:?}, thoughts {:?}",
                functions.len(),
                shape.style,
                shape.max_thought_chars
            ),
            documentation: None,
        })
    }

    fn generate_value(&self, schema: &Value) -> Result<GeneratedGrammar, GrammarError> {
        Ok(GeneratedGrammar {
            gbnf: format!("root ::= \"{{}}\" # value of {schema}"),
            documentation: None,
        })
    }
}

#[tokio::test]
async fn grammar_wrappers_send_a_grammar_only_to_backends_that_take_one() {
    let server = MockServer::start().await;
    mock_llamacpp(&server, "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"x\", \"message\": \"Hi\"}}", 10).await;
    let client = ProxyClient::builder()
        .settings_file(None)
        .grammar_generator(Arc::new(FixedGrammar))
        .build()
        .unwrap();
    let mut llamacpp = target(&server, "llamacpp");
    llamacpp.wrapper = WrapperSelection::Named("chatml-grammar".into());
    let response = client
        .get_chat_completion(&llamacpp.resolve().unwrap(), &request(json!({})))
        .await
        .unwrap();
    assert_eq!(
        response.choices[0].message.tool_calls.as_ref().unwrap()[0]
            .function
            .name,
        "send_message"
    );
    let body = &completion_bodies(&server).await[0];
    assert_eq!(
        body["grammar"],
        "root ::= \"{}\" # 2 functions, InnerThoughtsInParams, thoughts Some(400)"
    );
    assert!(
        body["prompt"]
            .as_str()
            .unwrap()
            .ends_with("<|im_start|>assistant"),
        "no prefix extras"
    );

    // ollama takes no GBNF: the grammar is dropped (with a warning), the call still works.
    Mock::given(method("POST"))
        .and(path("/api/generate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "response": "{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"x\", \"message\": \"Hi\"}}",
            "done": true, "eval_count": 9
        })))
        .mount(&server)
        .await;
    let mut ollama = target(&server, "ollama");
    ollama.wrapper = WrapperSelection::Named("chatml-grammar".into());
    ollama.settings_preset = SettingsPreset::Simple;
    let response = client
        .get_chat_completion(&ollama.resolve().unwrap(), &request(json!({})))
        .await
        .unwrap();
    assert_eq!(response.usage.completion_tokens, 9);
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests.last().unwrap().body).unwrap();
    assert_eq!(
        body["model"], "smol",
        "the request's model is used when the target has none"
    );
    assert!(
        body.get("grammar").is_none() && body.get("format").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn connection_refused_names_the_endpoint() {
    // A port nothing listens on (wiremock pools its servers, so a dropped one may still answer).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let target = ModelTarget::new("llamacpp", endpoint.clone(), 4096);
    let error = client()
        .get_chat_completion(&target.resolve().unwrap(), &request(json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        chat_completion_proxy::ErrorKind::ConnectionError
    );
    assert!(
        error
            .to_string()
            .contains(&format!("Unable to connect to endpoint {endpoint}")),
        "{error}"
    );
}

#[tokio::test]
async fn an_uncounted_prompt_is_counted_only_when_the_token_limit_needs_clamping() {
    // Setup: llama.cpp with its own tokenizer (the prompt is 300 tokens) and a
    // 4096-token window, larger than the prompt's bytes: the prompt is not counted
    // before the call unless the limit asks for more than its byte bound leaves.
    let server = MockServer::start().await;
    mock_llamacpp(&server, CORE_MEMORY_CALL, 300).await;
    let mut target = target(&server, "llamacpp");
    target.wrapper = WrapperSelection::Named("chatml".into());
    let target = target.resolve().unwrap();
    let client = client();

    // Exec: a small limit, a limit between the byte bound's room and the real room,
    // and an absurd one.
    for extra in [
        json!({"max_completion_tokens": 50}),
        json!({"max_tokens": 3000, "max_completion_tokens": 3500}),
        json!({"max_tokens": 1_000_000_000_000_u64}),
    ] {
        client
            .get_chat_completion(&target, &request(extra))
            .await
            .unwrap();
    }

    // Check: sent as asked, as asked (the byte bound did not shrink it), and clamped
    // to 4096 - 300. The first prompt went to /tokenize only after the call (for
    // `usage`: this reply has no count); the other two before it, for the clamp.
    let limits: Vec<Value> = completion_bodies(&server)
        .await
        .iter()
        .map(|body| body["n_predict"].clone())
        .collect();
    assert_eq!(limits, vec![json!(50), json!(3500), json!(3796)]);
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/completion",
            "/tokenize",
            "/tokenize",
            "/completion",
            "/tokenize",
            "/completion"
        ]
    );
}
