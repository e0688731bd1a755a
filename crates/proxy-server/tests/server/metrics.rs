//! `GET /metrics`: what chat requests record, in Prometheus' text format.
//!
//! Every test binary shares one recorder (it is process-wide) and the tests run at
//! once, so each test serves a model of its own name and reads only that model's
//! series (or, for series every test touches, a difference that only grows).

use std::time::Duration;

use proxy_server::ServerConfig;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{client, completion_reply, config, llamacpp, request, Proxy, CALL_REPLY};

/// A proxy serving one model named `name` (llamacpp, chatml) in front of `backend`.
async fn proxy_for(name: &str, backend: &MockServer) -> Proxy {
    let mut config = config(&backend.uri());
    config.models[0].name = name.to_owned();
    Proxy::start(config).await
}

/// The `/metrics` page, after checking its status and content type.
async fn scrape(proxy: &Proxy) -> String {
    let response = client()
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no key is needed");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    response.text().await.unwrap()
}

/// The value of the series `name` whose labels include every one of `labels`
/// (summed over the series that match), `None` when there is none.
fn value(page: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in page.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, number)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let has_all = labels
            .iter()
            .all(|(key, wanted)| series_labels.contains(&format!("{key}=\"{wanted}\"")));
        if series_name == name && has_all {
            *found.get_or_insert(0.0) += number.parse::<f64>().unwrap();
        }
    }
    found
}

/// A backend answering `/completion` with a 500 after `delay`.
async fn failing_backend(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_string("boom")
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

/// The page once `name` with `labels` is on it (a stream's request is recorded
/// when the server has dropped its body, which it does in its own time).
async fn scrape_until(proxy: &Proxy, name: &str, labels: &[(&str, &str)]) -> String {
    for _ in 0..200 {
        let page = scrape(proxy).await;
        if value(&page, name, labels).is_some() {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} {labels:?} was never recorded");
}

#[tokio::test]
async fn a_completion_and_a_backend_failure_are_counted_with_their_durations_and_tokens() {
    // Setup: one model that answers, one whose backend fails.
    let (ok_model, failing_model) = ("metrics-ok-model", "metrics-failing-model");
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = proxy_for(ok_model, &backend).await;
    let broken = failing_backend(Duration::ZERO).await;
    let mut failing = proxy_for(failing_model, &broken).await;

    // Exec
    let response = proxy.chat(&request(false)).await;
    assert_eq!(response.status(), 200);
    let completion: Value = response.json().await.unwrap();
    let failed = failing.chat(&request(false)).await;
    assert_eq!(failed.status(), 502);
    let page = scrape(&proxy).await;

    // Check: the success.
    let ok = [("model", ok_model)];
    assert_eq!(
        value(
            &page,
            "ccp_requests_total",
            &[("model", ok_model), ("status", "200"), ("kind", "ok")]
        ),
        Some(1.0),
        "{page}"
    );
    for histogram in [
        "ccp_request_duration_seconds_count",
        "ccp_backend_duration_seconds_count",
        "ccp_proxy_overhead_seconds_count",
    ] {
        assert_eq!(
            value(&page, histogram, &ok),
            Some(1.0),
            "{histogram}: {page}"
        );
    }
    assert!(
        value(
            &page,
            "ccp_request_duration_seconds_bucket",
            &[("model", ok_model), ("le", "120")]
        )
        .is_some(),
        "the configured buckets: {page}"
    );
    let usage = &completion["usage"];
    assert_eq!(
        value(&page, "ccp_prompt_tokens_total", &ok),
        usage["prompt_tokens"].as_f64()
    );
    assert_eq!(
        value(&page, "ccp_completion_tokens_total", &ok),
        usage["completion_tokens"].as_f64()
    );
    assert_eq!(
        value(
            &page,
            "ccp_constrained_requests_total",
            &[("model", ok_model), ("constraint", "none")]
        ),
        Some(1.0),
        "chatml sends no grammar: {page}"
    );
    assert_eq!(value(&page, "ccp_json_repairs_total", &ok), None);
    assert_eq!(
        value(&page, "ccp_time_to_first_token_seconds_count", &ok),
        None
    );

    // Check: the failure, with the error kind the client got.
    let failing_labels = [("model", failing_model)];
    assert_eq!(
        value(
            &page,
            "ccp_requests_total",
            &[
                ("model", failing_model),
                ("status", "502"),
                ("kind", "http_error")
            ]
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(&page, "ccp_request_duration_seconds_count", &failing_labels),
        Some(1.0)
    );
    assert_eq!(
        value(&page, "ccp_prompt_tokens_total", &failing_labels),
        None,
        "a failed request completed nothing"
    );

    // Check: the metrics are described once each.
    assert_eq!(
        page.matches("# HELP ccp_requests_total ").count(),
        1,
        "{page}"
    );
    assert!(page.contains("# TYPE ccp_request_duration_seconds histogram"));

    proxy.stop().await.unwrap();
    failing.stop().await.unwrap();
}

#[tokio::test]
async fn a_streamed_request_records_its_time_to_first_token_when_it_ends() {
    // Setup
    let model = "metrics-stream-model";
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = proxy_for(model, &backend).await;
    let mut body = request(false);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});

    // Exec: the whole stream is read before the scrape.
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    let events = response.text().await.unwrap();
    assert!(events.contains("[DONE]"), "{events}");
    let page = scrape(&proxy).await;

    // Check
    let labels = [("model", model)];
    assert_eq!(
        value(&page, "ccp_time_to_first_token_seconds_count", &labels),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "ccp_requests_total",
            &[("model", model), ("status", "200"), ("kind", "ok")]
        ),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(&page, "ccp_backend_duration_seconds_count", &labels),
        Some(1.0)
    );
    let usage: Value = events
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .find_map(|chunk| chunk.get("usage").filter(|usage| !usage.is_null()).cloned())
        .unwrap();
    assert_eq!(
        value(&page, "ccp_completion_tokens_total", &labels),
        usage["completion_tokens"].as_f64()
    );

    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_repaired_reply_and_its_constraint_are_counted() {
    // Setup: a `response_format` answer sent as llama.cpp's `json_schema`; the
    // model's JSON lacks its closing brace.
    let model = "metrics-repair-model";
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(completion_reply(r#"{"city": "Paris""#))
        .mount(&backend)
        .await;
    let mut config = config(&backend.uri());
    config.models[0].name = model.to_owned();
    config.models[0].constraint = Some("json_schema".to_owned());
    let mut proxy = Proxy::start(config).await;
    let body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "Where is the Louvre?"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "place",
            "schema": {"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"]}}},
    });

    // Exec
    let response = proxy.chat(&body).await;
    let status = response.status();
    let completion: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{completion}");
    let page = scrape(&proxy).await;

    // Check
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(
        value(&page, "ccp_json_repairs_total", &[("model", model)]),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "ccp_constrained_requests_total",
            &[("model", model), ("constraint", "json_schema")]
        ),
        Some(1.0),
        "{page}"
    );

    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn refused_keys_are_counted_without_a_model() {
    // Setup
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = proxy_for("metrics-keys-model", &backend).await;
    let labels = [
        ("model", ""),
        ("status", "401"),
        ("kind", "invalid_api_key"),
    ];
    let before = value(&scrape(&proxy).await, "ccp_requests_total", &labels).unwrap_or(0.0);

    // Exec
    let response = proxy
        .post("/v1/chat/completions", Some("sk-wrong"), &request(false))
        .await;
    assert_eq!(response.status(), 401);
    let after = value(&scrape(&proxy).await, "ccp_requests_total", &labels).unwrap_or(0.0);

    // Check: other tests may refuse keys meanwhile, so at least one more.
    assert!(after >= before + 1.0, "{before} then {after}");

    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_off_means_no_route() {
    // Setup
    let backend = llamacpp(CALL_REPLY).await;
    let mut config = config(&backend.uri());
    config.metrics = false;
    let mut proxy = Proxy::start(config).await;

    // Exec
    let response = client()
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .unwrap();

    // Check
    assert_eq!(response.status(), 404);
    assert_eq!(proxy.chat(&request(false)).await.status(), 200);

    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_stream_that_fails_after_its_headers_is_a_200_with_the_error_kind() {
    // Setup: the backend refuses after the stream's headers went out (ACCEPT_GRACE).
    let model = "metrics-late-failure-model";
    let backend = failing_backend(Duration::from_millis(800)).await;
    let mut proxy = proxy_for(model, &backend).await;
    let mut body = request(false);
    body["stream"] = json!(true);

    // Exec
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    let events = response.text().await.unwrap();
    assert!(events.contains("\"error\""), "{events}");
    let labels = [("model", model), ("status", "200"), ("kind", "http_error")];
    let page = scrape_until(&proxy, "ccp_requests_total", &labels).await;

    // Check
    assert_eq!(
        value(&page, "ccp_requests_total", &labels),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "ccp_time_to_first_token_seconds_count",
            &[("model", model)]
        ),
        None,
        "the model wrote nothing: {page}"
    );

    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_stream_the_client_leaves_is_cancelled() {
    // Setup: a backend that takes long to accept; the client reads the headers only.
    let model = "metrics-cancelled-model";
    let backend = failing_backend(Duration::from_secs(5)).await;
    let mut proxy = proxy_for(model, &backend).await;
    let mut body = request(false);
    body["stream"] = json!(true);

    // Exec
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200);
    drop(response);
    let labels = [("model", model), ("status", "200"), ("kind", "cancelled")];
    let page = scrape_until(&proxy, "ccp_requests_total", &labels).await;

    // Check
    assert_eq!(
        value(&page, "ccp_requests_total", &labels),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "ccp_request_duration_seconds_count",
            &[("model", model)]
        ),
        Some(1.0)
    );

    proxy.stop().await.unwrap();
}

#[test]
fn the_config_turns_metrics_off() {
    let model =
        "\n[[models]]\nname = \"local\"\nendpoint_type = \"llamacpp\"\ncontext_window = 4096\n";
    let off = ServerConfig::from_toml_str(&format!("metrics = false{model}")).unwrap();
    assert!(!off.metrics);
    assert!(
        ServerConfig::from_toml_str(model).unwrap().metrics,
        "on by default"
    );
    assert!(ServerConfig::from_toml_str(&format!("metrics = \"no\"{model}")).is_err());
}

#[test]
fn every_metric_name_is_described_once_and_follows_the_conventions() {
    let names: Vec<&str> = proxy_server::metrics::METRICS
        .iter()
        .map(|metric| metric.name)
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for metric in proxy_server::metrics::METRICS {
        assert!(metric.name.starts_with("ccp_"), "{}", metric.name);
        let counter = metric.kind == proxy_server::metrics::MetricType::Counter;
        assert_eq!(metric.name.ends_with("_total"), counter, "{}", metric.name);
        if metric.kind == proxy_server::metrics::MetricType::Histogram {
            assert!(metric.name.ends_with("_seconds"), "{}", metric.name);
        }
    }
}
