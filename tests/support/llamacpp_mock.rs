//! A llama.cpp server on loopback (wiremock) answering `/completion` with scripted
//! replies, and the bodies it received.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How a scripted reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The model's end-of-sequence token (`stop_type: "eos"`).
    Eos,
    /// The token limit (`stop_type: "limit"`: cut at `n_predict`).
    Limit,
}

/// Answers `/completion` with the given contents in turn (the last one repeats).
struct Replies(Vec<(&'static str, Stop)>, AtomicUsize);

impl Respond for Replies {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let index = self.1.fetch_add(1, Ordering::SeqCst);
        let last = self.0.len().saturating_sub(1);
        let (content, stop) = self
            .0
            .get(index.min(last))
            .copied()
            .unwrap_or(("", Stop::Eos));
        let stop_type = match stop {
            Stop::Eos => "eos",
            Stop::Limit => "limit",
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "content": content, "tokens_predicted": 7, "tokens_evaluated": 30,
            "stop": true, "stop_type": stop_type
        }))
    }
}

/// A llama.cpp server answering `/completion` with `replies` in turn (the last one
/// repeats), each ended by the end-of-sequence token.
pub async fn llamacpp(replies: Vec<&'static str>) -> MockServer {
    llamacpp_scripted(
        replies
            .into_iter()
            .map(|reply| (reply, Stop::Eos))
            .collect(),
    )
    .await
}

/// A llama.cpp server answering `/completion` with `replies` in turn (the last one
/// repeats), each ended as its [`Stop`] says.
pub async fn llamacpp_scripted(replies: Vec<(&'static str, Stop)>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/completion"))
        .respond_with(Replies(replies, AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

/// The JSON bodies `server` received, in order; panics (failing the test) on a body
/// that is not JSON.
pub async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(error) => panic!("a body that is not JSON ({error})"),
        })
        .collect()
}
