//! Model names: aliases, the single or default model serving unknown names (the
//! response echoes the name sent), `GET /v1/models` and `GET /v1/models/{id}`, CORS.

use serde_json::{json, Value};

use crate::common::{client, config, error_of, llamacpp, request, Proxy, API_KEY, CALL_REPLY};

/// Two models, `local` (aliases `gpt-4o`, `gpt-4o-mini`) and `big` (alias
/// `meta-llama/Llama-3-8B`), on the same fake backend.
fn two_models(backend: &str) -> proxy_server::ServerConfig {
    let mut server_config = config(backend);
    server_config.models[0].aliases = vec!["gpt-4o".into(), "gpt-4o-mini".into()];
    let mut big = server_config.models[0].clone();
    big.name = "big".into();
    big.aliases = vec!["meta-llama/Llama-3-8B".into()];
    server_config.models.push(big);
    server_config
}

async fn get(proxy: &Proxy, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", proxy.url))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
}

/// The `model` of a plain answer and of every chunk of a streamed one.
async fn answered_models(proxy: &Proxy, model: Option<&str>) -> (String, Vec<String>) {
    let mut body = request(false);
    match model {
        Some(model) => body["model"] = json!(model),
        None => {
            body.as_object_mut().unwrap().remove("model");
        }
    }
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200, "{model:?}");
    let plain: Value = response.json().await.unwrap();
    body["stream"] = json!(true);
    let response = proxy.chat(&body).await;
    assert_eq!(response.status(), 200, "{model:?}");
    let text = response.text().await.unwrap();
    let chunks: Vec<String> = text
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .map(|chunk| chunk["model"].as_str().unwrap().to_owned())
        .collect();
    assert!(!chunks.is_empty(), "{text}");
    (plain["model"].as_str().unwrap().to_owned(), chunks)
}

#[tokio::test]
async fn aliases_are_served_and_echoed() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(two_models(&backend.uri())).await;

    for name in [
        "local",
        "gpt-4o",
        "gpt-4o-mini",
        "big",
        "meta-llama/Llama-3-8B",
    ] {
        let (plain, chunks) = answered_models(&proxy, Some(name)).await;
        assert_eq!(plain, name);
        assert!(chunks.iter().all(|model| model == name), "{chunks:?}");
    }
    // Several models, no default: an unknown name is still a 404 listing them.
    let mut body = request(false);
    body["model"] = json!("o1");
    let error = error_of(proxy.chat(&body).await, 404).await;
    assert_eq!(error["code"], "model_not_found");
    assert!(error["message"].as_str().unwrap().contains("local, big"));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn one_model_serves_any_name_and_echoes_it() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(config(&backend.uri())).await;

    let (plain, chunks) = answered_models(&proxy, Some("gpt-4o")).await;
    assert_eq!(plain, "gpt-4o");
    assert!(chunks.iter().all(|model| model == "gpt-4o"), "{chunks:?}");
    let (plain, chunks) = answered_models(&proxy, None).await;
    assert_eq!(plain, "local");
    assert!(chunks.iter().all(|model| model == "local"), "{chunks:?}");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn the_default_model_serves_unknown_names() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut server_config = two_models(&backend.uri());
    server_config.default_model = Some("big".into());
    let mut proxy = Proxy::start(server_config).await;

    let (plain, chunks) = answered_models(&proxy, Some("claude-3")).await;
    assert_eq!(plain, "claude-3");
    assert!(chunks.iter().all(|model| model == "claude-3"), "{chunks:?}");
    let (plain, _) = answered_models(&proxy, None).await;
    assert_eq!(plain, "big", "no name: the default model's own");
    let (plain, _) = answered_models(&proxy, Some("gpt-4o")).await;
    assert_eq!(plain, "gpt-4o");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn models_are_listed_with_their_aliases_and_retrieved_by_id() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut proxy = Proxy::start(two_models(&backend.uri())).await;

    let list: Value = get(&proxy, "/v1/models").await.json().await.unwrap();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "local",
            "gpt-4o",
            "gpt-4o-mini",
            "big",
            "meta-llama/Llama-3-8B"
        ]
    );
    for model in list["data"].as_array().unwrap() {
        assert_eq!(model["object"], "model");
        assert!(model["created"].as_u64().unwrap() > 0);
        assert_eq!(model["owned_by"], "chat-completion-proxy");
    }

    for id in ["local", "gpt-4o", "meta-llama/Llama-3-8B"] {
        let response = get(&proxy, &format!("/v1/models/{id}")).await;
        assert_eq!(response.status(), 200, "{id}");
        let model: Value = response.json().await.unwrap();
        assert_eq!(model["id"], id);
        assert_eq!(model["object"], "model");
        assert_eq!(model["owned_by"], "chat-completion-proxy");
    }
    let error = error_of(get(&proxy, "/v1/models/gpt-5").await, 404).await;
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["param"], "model");
    assert!(error["message"].as_str().unwrap().contains("gpt-5"));

    // The key is needed here as on every /v1 route.
    let unkeyed = client()
        .get(format!("{}/v1/models/local", proxy.url))
        .send()
        .await
        .unwrap();
    error_of(unkeyed, 401).await;
    proxy.stop().await.unwrap();
}

/// A browser's preflight for a keyed POST from `origin`.
async fn preflight(proxy: &Proxy, origin: &str) -> reqwest::Response {
    client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chat/completions", proxy.url),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-stainless-os",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_the_configured_origins() {
    let backend = llamacpp(CALL_REPLY).await;
    let mut closed = Proxy::start(config(&backend.uri())).await;
    let response = preflight(&closed, "https://app.example").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin"),
        "no CORS unless configured"
    );
    closed.stop().await.unwrap();

    let mut server_config = config(&backend.uri());
    server_config.cors_origins = vec!["https://app.example".into()];
    let mut open = Proxy::start(server_config).await;
    let response = preflight(&open, "https://app.example").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(
        allowed.contains("authorization") && allowed.contains("x-stainless-os"),
        "{allowed}"
    );
    let other = preflight(&open, "https://evil.example").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    // The request itself: allowed, and the page may read the request id.
    let response = client()
        .post(format!("{}/v1/chat/completions", open.url))
        .bearer_auth(API_KEY)
        .header("origin", "https://app.example")
        .json(&request(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    open.stop().await.unwrap();

    let mut server_config = config(&backend.uri());
    server_config.cors_origins = vec!["*".into()];
    let mut any = Proxy::start(server_config).await;
    let response = preflight(&any, "https://anything.example").await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    any.stop().await.unwrap();
}
