//! Several servers of one model, over loopback: spread by load, retried, ejected and
//! probed; a bounded queue; fallbacks; `/ready`.

use std::time::Duration;

use proxy_server::{EndpointConfig, ModelConfig, ServerConfig};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    client, completion_reply, config, error_of, llamacpp, request, slow_llamacpp, Proxy, CALL_REPLY,
};

/// A generous bound, only so that a broken test cannot hang.
const PATIENCE: Duration = Duration::from_secs(30);

/// The completions `server` received.
async fn completions(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == "/completion")
        .count()
}

/// A loopback port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// A server answering every completion with `status`.
async fn failing(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(status).set_body_string("backend body 7c1f"))
        .mount(&server)
        .await;
    server
}

fn endpoint(url: &str) -> EndpointConfig {
    EndpointConfig {
        url: url.to_owned(),
        ..EndpointConfig::default()
    }
}

/// The test config's model `local` on `urls` instead of its one endpoint.
fn replicated(urls: &[&str], configure: impl FnOnce(&mut ModelConfig)) -> ServerConfig {
    let mut config = config("http://unused.invalid");
    let model = &mut config.models[0];
    model.endpoint = None;
    model.endpoints = Some(urls.iter().map(|url| endpoint(url)).collect());
    configure(model);
    config
}

async fn ready(proxy: &Proxy) -> (u16, Value) {
    let response = client()
        .get(format!("{}/ready", proxy.url))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn requests_are_spread_over_both_replicas() {
    let (a, b) = (llamacpp(CALL_REPLY).await, llamacpp(CALL_REPLY).await);
    let mut proxy = Proxy::start(replicated(&[&a.uri(), &b.uri()], |_| {})).await;
    for _ in 0..24 {
        assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    }
    let (to_a, to_b) = (completions(&a).await, completions(&b).await);
    assert_eq!(to_a + to_b, 24);
    assert!(to_a > 0 && to_b > 0, "a: {to_a}, b: {to_b}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn the_idle_replica_gets_the_next_request() {
    let delay = Duration::from_millis(800);
    let (a, b) = (slow_llamacpp(delay).await, slow_llamacpp(delay).await);
    let mut proxy = Proxy::start(replicated(&[&a.uri(), &b.uri()], |_| {})).await;
    let url = proxy.url.clone();
    let first = tokio::spawn(async move {
        client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(crate::common::API_KEY)
            .json(&request(false))
            .send()
            .await
            .map(|response| response.status().as_u16())
    });
    tokio::time::timeout(PATIENCE, async {
        while completions(&a).await + completions(&b).await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    assert_eq!(first.await.unwrap().unwrap(), 200);
    assert_eq!(
        (completions(&a).await, completions(&b).await),
        (1, 1),
        "the second request went to the replica with none in flight"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_refused_connection_is_retried_on_another_replica() {
    let (down, up) = (closed_port().await, llamacpp(CALL_REPLY).await);
    let mut proxy = Proxy::start(replicated(&[&down, &up.uri()], |_| {})).await;
    for _ in 0..16 {
        assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    }
    assert_eq!(completions(&up).await, 16);
    proxy.stop().await.unwrap();
}

/// A server that reads each request and closes the connection without answering (a
/// server killed mid-generation); counts the requests it took.
async fn dropping() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = taken.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0_u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    (url, taken)
}

#[tokio::test]
async fn a_connection_broken_before_the_answer_is_retried_on_another_replica() {
    let ((dropping, taken), up) = (dropping().await, llamacpp(CALL_REPLY).await);
    let mut proxy = Proxy::start(replicated(&[&dropping, &up.uri()], |_| {})).await;
    for _ in 0..8 {
        assert_eq!(proxy.chat(&request(false)).await.status(), 200);
    }
    assert_eq!(completions(&up).await, 8);
    assert!(
        taken.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the dropping replica was asked"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_replica_is_ejected_and_gets_nothing_during_its_cooldown() {
    let (failing, up) = (failing(503).await, llamacpp(CALL_REPLY).await);
    let config = replicated(&[&failing.uri(), &up.uri()], |model| {
        model.health.eject_after = Some(2);
        model.health.cooldown_secs = Some(3600.0);
    });
    let mut proxy = Proxy::start(config).await;
    for _ in 0..24 {
        assert_eq!(
            proxy.chat(&request(false)).await.status(),
            200,
            "retried on the other replica"
        );
    }
    assert_eq!(
        completions(&failing).await,
        2,
        "two faults, then no request while ejected"
    );
    assert_eq!(completions(&up).await, 24);

    let (status, body) = ready(&proxy).await;
    assert_eq!(status, 200, "the model still has a healthy replica: {body}");
    let replicas = &body["models"][0]["replicas"];
    assert_eq!(replicas[0]["healthy"], false, "{body}");
    assert_eq!(replicas[0]["ejections"], 1, "{body}");
    assert_eq!(replicas[1]["healthy"], true, "{body}");
    let address = failing.uri().trim_start_matches("http://").to_owned();
    assert_eq!(
        body["down"],
        json!([format!("local: replica 1 ({address})")])
    );
    assert!(!body.to_string().contains("backend body"), "{body}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn an_ejected_replica_is_probed_and_comes_back() {
    let (flaky, up) = (MockServer::start().await, llamacpp(CALL_REPLY).await);
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(completion_reply(CALL_REPLY))
        .mount(&flaky)
        .await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .mount(&flaky)
        .await;
    let config = replicated(&[&flaky.uri(), &up.uri()], |model| {
        model.health.eject_after = Some(1);
        model.health.cooldown_secs = Some(0.2);
        model.health.probe_interval_secs = Some(0.1);
    });
    let mut proxy = Proxy::start(config).await;
    tokio::time::timeout(PATIENCE, async {
        while completions(&flaky).await == 0 {
            let response = proxy.chat(&request(false)).await;
            assert_eq!(
                response.status(),
                200,
                "the 503 was retried on the other replica"
            );
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the flaky replica never got a request"));
    let healthy_again = tokio::time::timeout(PATIENCE, async {
        loop {
            let (_, body) = ready(&proxy).await;
            if body["down"] == json!([]) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the probe never brought the replica back");
    assert_eq!(healthy_again["models"][0]["replicas"][0]["ejections"], 1);
    let probes = flaky
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == "/health")
        .count();
    assert!(probes >= 1, "recovered by llama.cpp's /health probe");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn without_retry_budget_the_replicas_error_is_the_answer() {
    let (failing, up) = (failing(503).await, llamacpp(CALL_REPLY).await);
    let config = replicated(&[&failing.uri(), &up.uri()], |model| {
        model.health.eject_after = Some(1000);
        model.health.retry_ratio = Some(0.0);
        model.health.retry_min_per_sec = Some(0);
    });
    let mut proxy = Proxy::start(config).await;
    let mut refused = 0;
    for _ in 0..24 {
        let response = proxy.chat(&request(false)).await;
        if response.status() != 200 {
            let error = error_of(response, 503).await;
            assert_eq!(error["code"], "backend_unavailable");
            refused += 1;
        }
    }
    assert!(
        refused > 0,
        "no request was sent to the failing replica first"
    );
    assert_eq!(
        completions(&failing).await,
        refused,
        "no request was retried"
    );
    assert_eq!(completions(&failing).await + completions(&up).await, 24);
    proxy.stop().await.unwrap();
}

/// A llama.cpp stream that breaks off: one piece of content, then the end of the
/// body without the final chunk.
async fn broken_stream() -> MockServer {
    let server = MockServer::start().await;
    let events = format!(
        "data: {}\n\n",
        json!({"content": " \"send_", "stop": false})
    );
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "text/event-stream"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_stream_that_started_is_never_replayed() {
    let (a, b) = (broken_stream().await, broken_stream().await);
    let mut proxy = Proxy::start(replicated(&[&a.uri(), &b.uri()], |_| {})).await;
    let mut body = request(false);
    body["stream"] = json!(true);
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("\"error\""),
        "the client sees the error: {text}"
    );
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(
        completions(&a).await + completions(&b).await,
        1,
        "the other replica got no request"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn beyond_the_queue_the_answer_is_503_with_retry_after() {
    let slow = slow_llamacpp(Duration::from_millis(800)).await;
    let config = replicated(&[&slow.uri()], |model| {
        model.max_queue = Some(0);
        if let Some(endpoints) = model.endpoints.as_mut() {
            endpoints[0].max_in_flight = Some(1);
        }
    });
    let mut proxy = Proxy::start(config).await;
    let url = proxy.url.clone();
    let first = tokio::spawn(async move {
        client()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(crate::common::API_KEY)
            .json(&request(false))
            .send()
            .await
            .map(|response| response.status().as_u16())
    });
    tokio::time::timeout(PATIENCE, async {
        while completions(&slow).await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let error = error_of(response, 503).await;
    assert_eq!(error["code"], "overloaded");
    assert!(
        !error["message"].as_str().unwrap().contains("127.0.0.1"),
        "{error}"
    );
    assert_eq!(first.await.unwrap().unwrap(), 200);
    assert_eq!(completions(&slow).await, 1);
    proxy.stop().await.unwrap();
}

/// A second model `b` on `backend`, with `context_window` tokens.
fn second_model(backend: &str, name: &str, context_window: u64) -> ModelConfig {
    let mut model = config(backend).models.remove(0);
    model.name = name.to_owned();
    model.context_window = context_window;
    model
}

#[tokio::test]
async fn a_fallback_model_answers_when_every_replica_is_down() {
    let (down, up) = (closed_port().await, llamacpp(CALL_REPLY).await);
    let mut config = config(&down);
    config.models[0].fallbacks = vec!["b".into()];
    config.models.push(second_model(&up.uri(), "b", 2048));
    let mut proxy = Proxy::start(config).await;
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["model"], "b",
        "the answer names the model that answered"
    );
    assert_eq!(completions(&up).await, 1);

    let mut streamed = request(false);
    streamed["stream"] = json!(true);
    let text = proxy.chat(&streamed).await.text().await.unwrap();
    assert!(
        text.contains("[DONE]") && text.contains("\"model\":\"b\""),
        "{text}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_prompt_too_long_goes_to_the_context_window_fallback() {
    let (small, long) = (llamacpp(CALL_REPLY).await, llamacpp(CALL_REPLY).await);
    let mut config = config(&small.uri());
    config.models[0].context_window_fallback = Some("long".into());
    config.models.push(second_model(&long.uri(), "long", 16384));
    let mut proxy = Proxy::start(config).await;
    let mut body = request(false);
    body["messages"][1]["content"] = json!("word ".repeat(3000));
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["model"], "long");
    assert_eq!(
        (completions(&small).await, completions(&long).await),
        (0, 1)
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn ready_is_503_naming_the_replica_when_a_model_has_none_healthy() {
    let down = closed_port().await;
    let mut config = config(&down);
    config.models[0].health.eject_after = Some(1);
    let mut proxy = Proxy::start(config).await;
    let (status, body) = ready(&proxy).await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("ready")),
        "{body}"
    );

    error_of(proxy.chat(&request(false)).await, 502).await;
    let (status, body) = ready(&proxy).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["models"][0]["ready"], false);
    let address = down.trim_start_matches("http://");
    assert_eq!(
        body["down"],
        json!([format!("local: replica 1 ({address})")])
    );
    let health = client()
        .get(format!("{}/health", proxy.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "/health stays liveness");
    proxy.stop().await.unwrap();
}
