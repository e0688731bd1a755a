//! The replicas' health gauges are on `/metrics` from the start, before any request:
//! the recorder is installed before the models are resolved (resolving sets the
//! gauges). Its own test binary, so this process's recorder is installed by this
//! server alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

// Links the backend and wrapper plugins in.
use chat_completion_proxy as _;
use proxy_server::{EndpointConfig, ModelConfig, ServerConfig, ServerState};

#[tokio::test]
async fn every_replica_is_reported_healthy_before_the_first_request() {
    let mut model = ModelConfig::new("gauged", "llamacpp", 2048);
    model.wrapper = Some("chatml".into());
    model.endpoints = Some(
        ["http://127.0.0.1:9", "http://127.0.0.1:10"]
            .iter()
            .map(|url| EndpointConfig {
                url: (*url).to_owned(),
                ..EndpointConfig::default()
            })
            .collect(),
    );
    let config = ServerConfig {
        models: vec![model],
        ..ServerConfig::default()
    };
    let state = ServerState::from_config(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(proxy_server::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    for replica in ["127.0.0.1:9", "127.0.0.1:10"] {
        let series = format!("ccp_replica_healthy{{model=\"gauged\",replica=\"{replica}\"}} 1");
        assert!(page.contains(&series), "no `{series}` in:\n{page}");
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
