//! Image content parts through `serve`: forwarded to a llama.cpp server in its
//! multimodal prompt with the marker it names, streamed as well as plain, and refused
//! with a 400 naming the part where they cannot go (the endpoint types without images
//! are covered in the backend crates: this binary links llamacpp only).

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, error_of, llamacpp, Proxy};

/// The first bytes of a PNG file, base64-encoded.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";

/// A fake multimodal llama.cpp server: `/props` names `marker`, `/completion` answers
/// `content`.
async fn vision_llamacpp(marker: &str, content: &str) -> MockServer {
    let server = llamacpp(content).await;
    Mock::given(method("GET"))
        .and(path("/props"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"media_marker": marker})))
        .mount(&server)
        .await;
    server
}

/// A chat request (no tools) whose user message holds text and one image at `url`.
fn image_request(url: &str) -> Value {
    json!({
        "model": "local",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What colour is this?"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}]
    })
}

/// The `/completion` bodies the fake server received.
async fn completion_bodies(backend: &MockServer) -> Vec<Value> {
    backend
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/completion")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn an_image_reaches_llamacpp_in_place_and_the_answer_is_the_models_text() {
    let backend = vision_llamacpp("<__media_51ab__>", "It is red.").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let response = proxy
        .chat(&image_request(&format!("data:image/png;base64,{PNG}")))
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "It is red.");
    let sent = completion_bodies(&backend).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["prompt"]["multimodal_data"], json!([PNG]));
    let prompt = sent[0]["prompt"]["prompt_string"].as_str().unwrap();
    assert!(
        prompt.contains("What colour is this?\n<__media_51ab__>"),
        "{prompt}"
    );
    assert_eq!(prompt.matches("<__media_51ab__>").count(), 1, "{prompt}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_streamed_image_request_streams_the_text() {
    let backend = vision_llamacpp("<__media__>", "It is red.").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;
    let mut request = image_request(&format!("data:image/png;base64,{PNG}"));
    request["stream"] = json!(true);

    let response = proxy.chat(&request).await;

    assert_eq!(response.status(), 200);
    let events = response.text().await.unwrap();
    let text: String = events
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str::<Value>(data).unwrap())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "It is red.");
    assert!(events.trim_end().ends_with("data: [DONE]"), "{events}");
    assert_eq!(
        completion_bodies(&backend).await[0]["prompt"]["multimodal_data"],
        json!([PNG])
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_remote_image_url_is_a_400_naming_the_part_and_nothing_is_fetched() {
    let backend = vision_llamacpp("<__media__>", "unused").await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let response = proxy
        .chat(&image_request("https://example.com/cat.png"))
        .await;

    let error = error_of(response, 400).await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`messages[0].content[1].image_url.url` is a remote URL"),
        "{message}"
    );
    assert!(backend.received_requests().await.unwrap().is_empty());
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn each_replica_gets_the_image_marker_its_own_server_names() {
    let (a, b) = (
        vision_llamacpp("<__media_aaaa__>", "It is red.").await,
        vision_llamacpp("<__media_bbbb__>", "It is red.").await,
    );
    let mut config = config("http://unused.invalid");
    config.models[0].endpoint = None;
    config.models[0].endpoints = Some(
        [a.uri(), b.uri()]
            .into_iter()
            .map(|url| proxy_server::EndpointConfig {
                url,
                ..Default::default()
            })
            .collect(),
    );
    let mut proxy = Proxy::start(config).await;
    for _ in 0..16 {
        let response = proxy
            .chat(&image_request(&format!("data:image/png;base64,{PNG}")))
            .await;
        assert_eq!(response.status(), 200);
    }
    for (server, own, other) in [
        (&a, "<__media_aaaa__>", "<__media_bbbb__>"),
        (&b, "<__media_bbbb__>", "<__media_aaaa__>"),
    ] {
        let sent = completion_bodies(server).await;
        assert!(!sent.is_empty(), "{own}: no request");
        for body in sent {
            let prompt = body["prompt"]["prompt_string"].as_str().unwrap();
            assert_eq!(prompt.matches(own).count(), 1, "{prompt}");
            assert!(!prompt.contains(other), "{prompt}");
        }
    }
    proxy.stop().await.unwrap();
}
