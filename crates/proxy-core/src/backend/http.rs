//! The HTTP code every backend shares: auth headers, POSTing JSON to a path of the
//! checked [`Endpoint`] and turning every failure into a [`BackendError`].
//!
//! The caller owns the [`reqwest::Client`] (and so its timeouts and connection pool);
//! a client timeout shows up here as [`BackendError::Timeout`].

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::BackendAuth;
use super::completion::{BackendCompletion, BackendFinishReason};
use super::endpoint::Endpoint;
use super::error::BackendError;
use super::reply::{error_message, mentions_context_overflow};

/// One call to a backend server.
#[derive(Debug, Clone, Copy)]
pub struct BackendCall<'a> {
    /// The server's base URL, checked when the target was resolved.
    pub endpoint: &'a Endpoint,
    /// The API path (`/completion`, `/v1/completions`, …).
    pub path: &'a str,
    /// Optional credentials.
    pub auth: Option<&'a BackendAuth>,
    /// Which server should be running there, for error messages ("llama.cpp server").
    pub server: &'static str,
}

impl<'a> BackendCall<'a> {
    /// The call to `path` on `request`'s endpoint, with its credentials.
    pub fn for_request(
        request: &super::request::BackendRequest<'a>,
        path: &'a str,
        server: &'static str,
    ) -> Self {
        BackendCall {
            endpoint: request.endpoint,
            path,
            auth: request.auth,
            server,
        }
    }
}

/// A successful reply: the decoded value, with the raw body and URI kept as evidence.
#[derive(Debug, Clone)]
pub struct JsonReply<T> {
    /// The decoded reply.
    pub value: T,
    /// The reply body, as text.
    pub body: String,
    /// The full URI that was called.
    pub uri: String,
    /// Which server answered.
    pub server: &'static str,
}

impl<T> JsonReply<T> {
    /// Builds the completion from what the backend read out of this reply; empty text
    /// is [`BackendError::EmptyResponse`].
    pub fn into_completion(
        self,
        text: String,
        completion_tokens: Option<u64>,
        prompt_tokens: Option<u64>,
        finish_reason: BackendFinishReason,
    ) -> Result<BackendCompletion, BackendError> {
        if text.is_empty() {
            return Err(BackendError::EmptyResponse {
                body: self.body,
                uri: self.uri,
                server: self.server,
            });
        }
        Ok(BackendCompletion {
            text,
            completion_tokens,
            prompt_tokens,
            finish_reason,
        })
    }

    /// An [`BackendError::InvalidResponse`] about this reply.
    pub fn invalid(&self, detail: impl Into<String>) -> BackendError {
        BackendError::InvalidResponse {
            detail: detail.into(),
            body: self.body.clone(),
            uri: self.uri.clone(),
            server: self.server,
        }
    }
}

/// POSTs `body` as JSON and decodes a successful reply as `T`.
///
/// Errors: a bad auth header before sending; connection failure,
/// timeout, other transport failure; a non-success status (context-overflow bodies
/// become [`BackendError::ContextWindowExceeded`]); a 200 whose body is not JSON or
/// not shaped like `T`; a 200 whose body is an error object (`{"error": …}`).
pub async fn post_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    body: &Value,
) -> Result<JsonReply<T>, BackendError> {
    let (response, uri) = send(http, call, Some(body)).await?;
    read_json(response, uri, call).await
}

/// POSTs `body` as JSON and returns the response once its status is a success, with
/// the URI that was called; the body is left unread (for streaming replies).
///
/// Errors: as [`post_json`] up to the status; a non-success reply's body is read for
/// the error. A 429 or 503 (that is not a context overflow) is
/// [`BackendError::Unavailable`], with the server's `Retry-After`.
pub async fn send_json(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    body: &Value,
) -> Result<(reqwest::Response, String), BackendError> {
    send(http, call, Some(body)).await
}

/// GETs the call's path and decodes a successful reply as `T` (errors as
/// [`post_json`]'s).
pub async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
) -> Result<JsonReply<T>, BackendError> {
    let (response, uri) = send(http, call, None).await?;
    read_json(response, uri, call).await
}

/// GETs the call's path as a health check, waiting at most `timeout`: `Ok` when the
/// server answers with anything but a 5xx (a 4xx still shows a server that is up,
/// e.g. one that wants a key the probe lacks); the body is not read.
///
/// Errors: a connection failure, a timeout, another transport failure; a 5xx is
/// [`BackendError::Unavailable`] (503) or [`BackendError::Http`], without its body.
pub async fn probe(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    timeout: std::time::Duration,
) -> Result<(), BackendError> {
    let url = call.endpoint.url(call.path);
    let uri = url.as_str().to_owned();
    let response = dispatch(http.get(url).timeout(timeout), call, &uri).await?;
    let status = response.status();
    if !status.is_server_error() {
        return Ok(());
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return Err(BackendError::Unavailable {
            status: status.as_u16(),
            retry_after: retry_after(response.headers()),
            body: String::new(),
            uri,
            server: call.server,
        });
    }
    Err(BackendError::Http {
        status: status.as_u16(),
        body: String::new(),
        uri,
        server: call.server,
    })
}

/// Sends `request` (to `uri`) with the call's credentials; any answer is returned,
/// whatever its status; a failure to get one is the transport's error.
async fn dispatch(
    mut request: reqwest::RequestBuilder,
    call: &BackendCall<'_>,
    uri: &str,
) -> Result<reqwest::Response, BackendError> {
    if let Some(auth) = call.auth {
        let (name, value) = auth_header(auth)?;
        request = request.header(name, value);
    }
    request
        .send()
        .await
        .map_err(|error| transport_error(error, call.endpoint.as_str(), call.server, uri))
}

/// Reads a successful reply's body and decodes it as `T`.
async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    uri: String,
    call: &BackendCall<'_>,
) -> Result<JsonReply<T>, BackendError> {
    let text = response
        .text()
        .await
        .map_err(|error| transport_error(error, call.endpoint.as_str(), call.server, &uri))?;
    tracing::trace!("{uri} answered: {text}");
    decode_success(text, uri, call.server)
}

/// POSTs `body` as JSON, or GETs when there is none; the response once its status is
/// a success (see [`send_json`]).
async fn send(
    http: &reqwest::Client,
    call: &BackendCall<'_>,
    body: Option<&Value>,
) -> Result<(reqwest::Response, String), BackendError> {
    let url = call.endpoint.url(call.path);
    let uri = url.as_str().to_owned();
    let request = match body {
        Some(body) => {
            tracing::debug!("POST {uri} ({})", call.server);
            http.post(url)
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .json(body)
        }
        None => {
            tracing::debug!("GET {uri} ({})", call.server);
            http.get(url)
        }
    };
    let response = dispatch(request, call, &uri).await?;
    let status = response.status();
    if status.is_success() {
        return Ok((response, uri));
    }
    let retry_after = retry_after(response.headers());
    let text = response
        .text()
        .await
        .map_err(|error| transport_error(error, call.endpoint.as_str(), call.server, &uri))?;
    tracing::trace!("{uri} answered {status}: {text}");
    if mentions_context_overflow(&text) {
        return Err(BackendError::ContextWindowExceeded {
            status: status.as_u16(),
            body: text,
            uri,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        return Err(BackendError::Unavailable {
            status: status.as_u16(),
            retry_after,
            body: text,
            uri,
            server: call.server,
        });
    }
    Err(BackendError::Http {
        status: status.as_u16(),
        body: text,
        uri,
        server: call.server,
    })
}

/// The reply's `Retry-After`, if it is well formed: delta-seconds (digits) or an
/// HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`). Anything else is dropped, so only a
/// value fit for a client's `Retry-After` is kept.
fn retry_after(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds =
        !value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit());
    let date = value.len() <= 40
        && value.ends_with(" GMT")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b',' || b == b':');
    (seconds || date).then(|| value.to_owned())
}

/// Reads a 200 body: JSON, not an error object, shaped like `T`.
fn decode_success<T: DeserializeOwned>(
    text: String,
    uri: String,
    server: &'static str,
) -> Result<JsonReply<T>, BackendError> {
    let json: Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(error) => {
            return Err(BackendError::InvalidResponse {
                detail: format!("the body is not JSON: {error}"),
                body: text,
                uri,
                server,
            })
        }
    };
    if let Some(message) = error_message(&json) {
        if mentions_context_overflow(&text) {
            return Err(BackendError::ContextWindowExceeded {
                status: 200,
                body: text,
                uri,
            });
        }
        return Err(BackendError::ErrorReply {
            message,
            body: text,
            uri,
            server,
        });
    }
    match serde_json::from_value(json) {
        Ok(value) => Ok(JsonReply {
            value,
            body: text,
            uri,
            server,
        }),
        Err(error) => Err(BackendError::InvalidResponse {
            detail: format!("unexpected JSON shape: {error}"),
            body: text,
            uri,
            server,
        }),
    }
}

/// The header for `auth`, checked so that a key with, say, a newline is a clear error.
fn auth_header(auth: &BackendAuth) -> Result<(HeaderName, HeaderValue), BackendError> {
    let (name, value) = auth.header();
    let value = HeaderValue::from_str(&value).map_err(|_| BackendError::InvalidAuth {
        reason: "the auth key contains characters not allowed in an HTTP header".to_owned(),
    })?;
    Ok((HeaderName::from_static(name), value))
}

/// Sorts a reqwest failure into timeout, connection or other transport error.
pub(crate) fn transport_error(
    error: reqwest::Error,
    endpoint: &str,
    server: &'static str,
    uri: &str,
) -> BackendError {
    if error.is_timeout() {
        return BackendError::Timeout {
            uri: uri.to_owned(),
            server,
        };
    }
    let detail = error_chain(&error);
    if error.is_connect() {
        BackendError::Connection {
            endpoint: endpoint.to_owned(),
            uri: uri.to_owned(),
            server,
            detail,
        }
    } else {
        BackendError::Transport {
            uri: uri.to_owned(),
            server,
            detail,
        }
    }
}

/// The error's message followed by its sources' (reqwest hides "connection refused"
/// in a source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_retry_after_values_are_kept() {
        for (value, kept) in [
            ("120", Some("120")),
            (" 5 ", Some("5")),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            ),
            ("soon", None),
            ("-1", None),
            ("http://127.0.0.1:8080/", None),
            ("", None),
        ] {
            let mut headers = HeaderMap::new();
            if let Ok(header) = HeaderValue::from_str(value) {
                headers.insert(RETRY_AFTER, header);
            }
            assert_eq!(retry_after(&headers).as_deref(), kept, "{value:?}");
        }
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn a_bad_auth_key_is_an_auth_error_not_a_panic() {
        let result = auth_header(&BackendAuth::BearerToken("a\nb".into()));
        assert!(matches!(result, Err(BackendError::InvalidAuth { .. })));
    }
}
