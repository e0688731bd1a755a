//! The `llamacpp` endpoint type: llama.cpp's `llama-server`, native `POST /completion`.
//!
//! Body: the completion settings, `prompt`, `stop` (always a JSON array: the server
//! ignores a bare string), `grammar` (GBNF) when asked, and the caller's sampling
//! fields (`max_tokens` becomes `n_predict`). Reply: the text from `content`,
//! generated tokens from `tokens_predicted`, the stop reason from `stop_type` (newer
//! servers) or `stopped_eos`/`stopped_word`/`stopped_limit` (before Dec 2024).
//! Streaming: the same body with `"stream": true`; the reply is server-sent events,
//! one `data: {"content": …}` per token, the last with `"stop": true` and the
//! counts (no `[DONE]`). Token counting uses the server's `POST /tokenize`.

mod wire;

use async_trait::async_trait;
use proxy_core::backend::http::{post_json, send_json, BackendCall};
use proxy_core::backend::streaming::sse_completion_stream;
use proxy_core::backend::{
    BackendCompletion, BackendError, BackendRequest, BackendStream, CompletionBackend,
    TokenCountRequest,
};

/// The completion path.
pub const COMPLETION_PATH: &str = "/completion";
/// The tokenizer path.
pub const TOKENIZE_PATH: &str = "/tokenize";
const SERVER: &str = "llama.cpp server";

/// The llama.cpp `llama-server` backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct LlamaCppBackend;

#[async_trait]
impl CompletionBackend for LlamaCppBackend {
    async fn complete(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<BackendCompletion, BackendError> {
        let reply = post_json::<wire::CompletionReply>(
            http,
            &completion_call(request),
            &wire::body(request, false),
        )
        .await?;
        wire::completion(reply)
    }

    async fn complete_streaming(
        &self,
        http: &reqwest::Client,
        request: &BackendRequest<'_>,
    ) -> Result<Option<BackendStream>, BackendError> {
        let call = completion_call(request);
        let (response, uri) = send_json(http, &call, &wire::body(request, true)).await?;
        Ok(Some(sse_completion_stream(
            response,
            &call,
            uri,
            wire::stream_chunk,
        )))
    }

    async fn count_tokens(
        &self,
        http: &reqwest::Client,
        request: &TokenCountRequest<'_>,
    ) -> Result<Option<u64>, BackendError> {
        let call = BackendCall {
            endpoint: request.endpoint,
            path: TOKENIZE_PATH,
            auth: request.auth,
            server: SERVER,
        };
        let body = serde_json::json!({ "content": request.text });
        let reply = post_json::<wire::TokenizeReply>(http, &call, &body).await?;
        Ok(Some(reply.value.tokens.len() as u64))
    }
}

/// The `/completion` call for `request`.
fn completion_call<'a>(request: &BackendRequest<'a>) -> BackendCall<'a> {
    BackendCall::for_request(request, COMPLETION_PATH, SERVER)
}

proxy_core::register_backend! {
    name: "llamacpp",
    description: "llama.cpp llama-server, native /completion API (GBNF grammars)",
    default_endpoint: "http://localhost:8080",
    supports_grammar: true,
    supports_tokenize: true,
    build: || Box::new(LlamaCppBackend),
}
