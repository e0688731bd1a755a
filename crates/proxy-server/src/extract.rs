//! [`JsonBody`]: the request-body extractor whose every rejection is an OpenAI error
//! envelope (axum's own rejections are plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::errors::{ApiError, ApiErrorKind};
use crate::state::ServerState;

/// A JSON body deserialized into `T`. The `Content-Type` is not checked (`curl -d`
/// sends a form type), the size limit is the server's `max_body_bytes`.
///
/// Rejections: 413 `payload_too_large` over the limit, 400 `invalid_json` for text
/// that is not JSON, 400 `invalid_request` (with `param`, the path of the field at
/// fault) for JSON of the wrong shape.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ServerState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ApiErrorKind::PayloadTooLarge,
                        format!(
                            "The request body is larger than this server's limit of {} bytes (`max_body_bytes`).",
                            state.max_body_bytes()
                        ),
                    )
                } else {
                    ApiError::new(
                        ApiErrorKind::InvalidJson,
                        format!("The request body could not be read: {}", rejection.body_text()),
                    )
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Deserializes `bytes` as one JSON value of type `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let error = ApiError::new(
                        ApiErrorKind::InvalidBody,
                        format!("Invalid request body at `{path}`: {inner}"),
                    );
                    if path == "." {
                        error
                    } else {
                        error.with_param(path)
                    }
                }
                _ => not_json(&inner),
            });
        }
    };
    deserializer.end().map_err(|error| not_json(&error))?;
    Ok(value)
}

fn not_json(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ApiErrorKind::InvalidJson,
        format!("The request body is not valid JSON ({error}); send a JSON object."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_core::ChatCompletionRequest;

    #[test]
    fn malformed_json_wrong_types_and_trailing_text() {
        let error = parse_json::<ChatCompletionRequest>(b"{\"messages\": [").unwrap_err();
        assert_eq!(error.kind, ApiErrorKind::InvalidJson);
        let error = parse_json::<ChatCompletionRequest>(br#"{"messages": "hi"}"#).unwrap_err();
        assert_eq!(error.kind, ApiErrorKind::InvalidBody);
        assert_eq!(error.param.as_deref(), Some("messages"));
        let error = parse_json::<ChatCompletionRequest>(
            br#"{"messages": [{"role": "system", "content": "x"}], "temperature": "hot"}"#,
        )
        .unwrap_err();
        assert_eq!(error.param.as_deref(), Some("temperature"));
        let error = parse_json::<ChatCompletionRequest>(br#"{}"#).unwrap_err();
        assert!(error.message.contains("messages"), "{}", error.message);
        let error =
            parse_json::<ChatCompletionRequest>(br#"{"messages": []} trailing"#).unwrap_err();
        assert_eq!(error.kind, ApiErrorKind::InvalidJson);
        assert!(parse_json::<ChatCompletionRequest>(br#"{"messages": []} "#).is_ok());
    }
}
