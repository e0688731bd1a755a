//! [`JsonBody`]: the request-body extractor whose every rejection is an OpenAI error
//! envelope (axum's own rejections are plain text), with messages that name the
//! field and the JSON type it needs — never a Rust type (serde's own wording, such as
//! `invalid type: map, expected a sequence` or `expected struct ChatCompletionRequest`,
//! is rephrased).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::errors::{ApiError, ApiErrorKind};
use crate::state::ServerState;

/// A JSON object body deserialized into `T`, sent as `Content-Type:
/// application/json` (parameters such as `; charset=utf-8` allowed); the size limit is
/// the server's `max_body_bytes`.
///
/// Rejections: 415 `unsupported_media_type` for any other content type (a browser
/// form cannot POST here: a web page cannot send `application/json` to another
/// origin without a CORS preflight), 413 `payload_too_large` over the limit, 400
/// `invalid_json` for text that is not JSON, 400 `invalid_request` for JSON that is not
/// an object, and 400 `invalid_request` with `param` (the path of the field at fault)
/// for an object of the wrong shape.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ServerState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, ApiError> {
        check_content_type(request.headers())?;
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
                        "The request body could not be read; send a JSON object.",
                    )
                    .with_detail(rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Accepts `application/json`, with any parameters but a charset other than UTF-8.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = |what: &str| {
        ApiError::new(
            ApiErrorKind::UnsupportedMediaType,
            format!("The request body must be sent as `Content-Type: application/json`; {what}."),
        )
    };
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(refuse("this request has no Content-Type"));
    };
    let Ok(value) = value.to_str() else {
        return Err(refuse("this request's Content-Type is not readable text"));
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(refuse(&format!(
            "this request's is `{}`",
            printable(essence)
        )));
    }
    for parameter in parts {
        let Some((name, charset)) = parameter.split_once('=') else {
            continue;
        };
        let charset = charset.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset")
            && !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8"))
        {
            return Err(refuse(&format!(
                "the charset must be utf-8, not `{}`",
                printable(charset)
            )));
        }
    }
    Ok(())
}

/// `text` cut to 60 characters, for echoing a header back.
fn printable(text: &str) -> String {
    text.chars().take(60).collect()
}

/// Deserializes `bytes` as one JSON object of type `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    match first {
        None => {
            return Err(ApiError::new(
                ApiErrorKind::InvalidJson,
                "The request body is empty; send a JSON object.",
            ))
        }
        Some(b'{') => {}
        Some(_) => {
            // Valid JSON of another type (an array, a string, …), or not JSON at all.
            return Err(match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(value) => ApiError::new(
                    ApiErrorKind::InvalidBody,
                    format!(
                        "The request body must be a JSON object, not {}.",
                        json_type(&value)
                    ),
                ),
                Err(error) => not_json(&error),
            });
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    // A data error is reported on the finished value: check the text
                    // is JSON first, so a syntax error further on is reported as such.
                    if let Err(syntax) = serde_json::from_slice::<IgnoredAny>(bytes) {
                        return Err(not_json(&syntax));
                    }
                    invalid_field(&path, &inner)
                }
                _ => not_json(&inner),
            });
        }
    };
    deserializer.end().map_err(|error| not_json(&error))?;
    Ok(value)
}

/// The JSON type of `value`, with its article.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A 400 for the field at `path` (serde_path_to_error's `.` is the body itself),
/// in JSON's words.
fn invalid_field(path: &str, error: &serde_json::Error) -> ApiError {
    let text = error.to_string();
    // serde_json appends " at line L column C"; the path says where.
    let text = match text.rfind(" at line ") {
        Some(end) => text.get(..end).unwrap_or(&text),
        None => &text,
    };
    let (param, message) = describe(path, text);
    let error = ApiError::new(ApiErrorKind::InvalidBody, message).with_detail(error.to_string());
    match param {
        Some(param) => error.with_param(param),
        None => error,
    }
}

/// The field at fault and the message for serde's `text` about the value at `path`.
fn describe(path: &str, text: &str) -> (Option<String>, String) {
    let at_root = path == "." || path.is_empty();
    let field = |name: &str| -> String {
        if at_root {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let param = field(name);
        return (Some(param.clone()), format!("`{param}` is required."));
    }
    let subject = if at_root {
        "The request body".to_owned()
    } else {
        format!("`{path}`")
    };
    let param = (!at_root).then(|| path.to_owned());
    if let Some(rest) = text
        .strip_prefix("invalid type: ")
        .or_else(|| text.strip_prefix("invalid value: "))
    {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let got = got_type(got);
        let message = match expected_type(expected) {
            Some(expected) => format!("{subject} must be {expected}, not {got}."),
            None => format!("{subject} has the wrong type ({got})."),
        };
        return (param, message);
    }
    if let Some(rest) = text.strip_prefix("unknown variant ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let message = if expected.is_empty() {
            format!("{subject} has an unsupported value {got}.")
        } else {
            format!("{subject} has an unsupported value {got}; expected {expected}.")
        };
        return (param, message);
    }
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let name = rest.split(',').next().unwrap_or(rest);
        let bare = name.trim_matches('`');
        // serde_path_to_error's path ends with the unknown field itself.
        let parent = if path == bare {
            "."
        } else {
            path.strip_suffix(bare)
                .and_then(|parent| parent.strip_suffix('.'))
                .unwrap_or(path)
        };
        if parent == "." || parent.is_empty() {
            // OpenAI's wording, which clients and their users know.
            return (
                Some(bare.to_owned()),
                format!(
                    "Unrecognized request argument supplied: {bare} (this server takes OpenAI's Chat Completions fields and the MemGPT extras `wrapper`, `first_message` and `function_correction`)."
                ),
            );
        }
        return (
            Some(format!("{parent}.{bare}")),
            format!("`{parent}` has an unsupported field {name}."),
        );
    }
    if let Some(rest) = text.strip_prefix("invalid length ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let message = match expected_type(expected) {
            Some(expected) => format!("{subject} must be {expected} (it has {got} items)."),
            None => format!("{subject} has the wrong number of items ({got})."),
        };
        return (param, message);
    }
    if text.starts_with("data did not match any variant") {
        return (
            param,
            format!("{subject} does not have any of the accepted shapes."),
        );
    }
    // A message written by the request types themselves; it is kept unless it names
    // a Rust type.
    if names_rust_type(text) {
        (param, format!("{subject} is not valid."))
    } else {
        (param, format!("{subject} is not valid: {text}."))
    }
}

/// Whether serde's text names a Rust type rather than a JSON one.
fn names_rust_type(text: &str) -> bool {
    const RUST_WORDS: [&str; 20] = [
        "struct", "enum", "tuple", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "Option", "Vec", "HashMap",
    ];
    text.contains("::")
        || text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| RUST_WORDS.contains(&word))
}

/// serde's unexpected value (`string "hot"`, `map`, `integer `5``, …) in JSON's words.
fn got_type(got: &str) -> String {
    const KINDS: [(&str, &str); 11] = [
        ("floating point", "a number"),
        ("integer", "a number"),
        ("string", "a string"),
        ("character", "a string"),
        ("boolean", "a boolean"),
        ("map", "an object"),
        ("sequence", "an array"),
        ("null", "null"),
        ("unit value", "null"),
        ("unit", "null"),
        ("Option value", "null"),
    ];
    for (prefix, kind) in KINDS {
        if let Some(shown) = got.strip_prefix(prefix) {
            let shown = shown.trim();
            return if shown.is_empty() || shown.chars().count() > 40 {
                kind.to_owned()
            } else {
                format!("{kind} {shown}")
            };
        }
    }
    "a different JSON value".to_owned()
}

/// serde's expectation in JSON's words, if it is one serde_json or the derives write.
fn expected_type(expected: &str) -> Option<&'static str> {
    let expected = expected.trim();
    Some(match expected {
        "a string" | "a borrowed string" | "a char" => "a string",
        "a sequence" | "a tuple" => "an array",
        "a map" | "a JSON object" => "an object",
        "an array of JSON objects" => "an array of objects",
        "a boolean" | "bool" => "a boolean",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative whole number",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        _ if expected.starts_with("struct ") || expected.starts_with("a map") => "an object",
        _ if expected.starts_with("tuple") || expected.starts_with("a sequence") => "an array",
        _ if expected.starts_with("a string") => "a string",
        _ if expected.starts_with("an integer") || expected.starts_with("a number") => "a number",
        _ => return None,
    })
}

fn not_json(error: &serde_json::Error) -> ApiError {
    let position = format!("line {} column {}", error.line(), error.column());
    let what = match error.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        _ => "it has a syntax error",
    };
    ApiError::new(
        ApiErrorKind::InvalidJson,
        format!("The request body is not valid JSON: {what} at {position}; send a JSON object."),
    )
    .with_detail(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proxy_core::ChatCompletionRequest;

    fn refusal(body: &str) -> ApiError {
        match parse_json::<ChatCompletionRequest>(body.as_bytes()) {
            Ok(_) => panic!("accepted: {body}"),
            Err(error) => error,
        }
    }

    /// No serde or Rust wording reaches the client.
    fn assert_json_words(error: &ApiError) {
        for word in [
            "struct",
            "enum ",
            "sequence",
            " map",
            "u64",
            "u32",
            "f32",
            "ChatCompletionRequest",
            "invalid type",
        ] {
            assert!(!error.message.contains(word), "{word}: {}", error.message);
        }
    }

    #[test]
    fn malformed_json_wrong_types_and_trailing_text() {
        let error = refusal("{\"messages\": [");
        assert_eq!(error.kind, ApiErrorKind::InvalidJson);
        assert!(
            error.message.contains("line 1 column 14"),
            "{}",
            error.message
        );
        let error = refusal(r#"{"messages": "hi"}"#);
        assert_eq!(error.kind, ApiErrorKind::InvalidBody);
        assert_eq!(error.param.as_deref(), Some("messages"));
        assert_eq!(
            error.message,
            "`messages` must be an array of objects, not a string \"hi\"."
        );
        let error =
            refusal(r#"{"messages": [{"role": "system", "content": "x"}], "temperature": "hot"}"#);
        assert_eq!(error.param.as_deref(), Some("temperature"));
        assert_json_words(&error);
        let error = refusal(r#"{}"#);
        assert_eq!(error.message, "`messages` is required.");
        assert_eq!(error.param.as_deref(), Some("messages"));
        let error = refusal(r#"{"messages": []} trailing"#);
        assert_eq!(error.kind, ApiErrorKind::InvalidJson);
        assert!(parse_json::<ChatCompletionRequest>(br#"{"messages": []} "#).is_ok());
    }

    #[test]
    fn a_body_that_is_not_an_object_is_named() {
        for (body, what) in [
            (r#"[{"messages": []}]"#, "an array"),
            (r#""hello""#, "a string"),
            ("42", "a number"),
            ("null", "null"),
        ] {
            let error = refusal(body);
            assert_eq!(error.kind, ApiErrorKind::InvalidBody, "{body}");
            assert_eq!(
                error.message,
                format!("The request body must be a JSON object, not {what}.")
            );
        }
        assert_eq!(refusal("").kind, ApiErrorKind::InvalidJson);
        assert_eq!(refusal("[1, ").kind, ApiErrorKind::InvalidJson);
    }

    #[test]
    fn wrong_shapes_are_told_in_json_words() {
        for (body, param) in [
            (r#"{"messages": {"role": "user"}}"#, "messages"),
            (r#"{"messages": ["hi"]}"#, "messages[0]"),
            (r#"{"messages": [], "max_tokens": -1}"#, "max_tokens"),
            (r#"{"messages": [], "max_tokens": 1.5}"#, "max_tokens"),
            (r#"{"messages": [], "stream": "yes"}"#, "stream"),
            (r#"{"messages": [], "tools": {}}"#, "tools"),
            (r#"{"messages": [], "stop": 5}"#, "stop"),
        ] {
            let error = refusal(body);
            assert_eq!(error.kind, ApiErrorKind::InvalidBody, "{body}");
            assert_eq!(
                error.param.as_deref(),
                Some(param),
                "{body}: {}",
                error.message
            );
            assert!(
                error.message.starts_with(&format!("`{param}`")),
                "{body}: {}",
                error.message
            );
            assert_json_words(&error);
        }
        let error = refusal(r#"{"messages": {"role": "user"}}"#);
        assert_eq!(
            error.message,
            "`messages` must be an array of objects, not an object."
        );
    }

    #[test]
    fn describes_serdes_messages() {
        for (path, text, expected) in [
            (
                "n",
                "invalid type: string \"five\", expected u64",
                "`n` must be a non-negative whole number, not a string \"five\".",
            ),
            (
                ".",
                "invalid type: sequence, expected struct ChatCompletionRequest with 19 elements",
                "The request body must be an object, not an array.",
            ),
            (
                "messages[0].role",
                "unknown variant `robot`, expected one of `system`, `user`",
                "`messages[0].role` has an unsupported value `robot`; expected one of `system`, `user`.",
            ),
            (
                "tool_choice",
                "data did not match any variant of untagged enum ToolChoice",
                "`tool_choice` does not have any of the accepted shapes.",
            ),
            (
                "messages[1]",
                "missing field `role`",
                "`messages[1].role` is required.",
            ),
            (
                "x",
                "invalid type: floating point `1.5`, expected i64",
                "`x` must be a whole number, not a number `1.5`.",
            ),
            (
                "x",
                "invalid value: integer `-1`, expected u32",
                "`x` must be a non-negative whole number, not a number `-1`.",
            ),
            (
                ".",
                "unknown field `top_k`, expected one of `model`, `messages`",
                "Unrecognized request argument supplied: top_k (this server takes OpenAI's Chat Completions fields and the MemGPT extras `wrapper`, `first_message` and `function_correction`).",
            ),
            (
                "messages[0].colour",
                "unknown field `colour`, expected one of `role`, `content`",
                "`messages[0]` has an unsupported field `colour`.",
            ),
            (
                "top_k",
                "unknown field `top_k`, expected one of `model`, `messages`",
                "Unrecognized request argument supplied: top_k (this server takes OpenAI's Chat Completions fields and the MemGPT extras `wrapper`, `first_message` and `function_correction`).",
            ),
            (
                "messages[0]",
                "unknown field `colour`, expected one of `role`, `content`",
                "`messages[0]` has an unsupported field `colour`.",
            ),
            (
                "x",
                "invalid type: map, expected enum Stop",
                "`x` has the wrong type (an object).",
            ),
        ] {
            assert_eq!(describe(path, text).1, expected, "{text}");
        }
    }

    #[test]
    fn only_json_content_types_are_accepted() {
        let headers = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            }
            headers
        };
        for accepted in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
            "application/json; boundary=x",
        ] {
            assert!(
                check_content_type(&headers(Some(accepted))).is_ok(),
                "{accepted}"
            );
        }
        for refused in [
            None,
            Some("application/x-www-form-urlencoded"),
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
            Some("application/json-patch+json"),
            Some("application/json; charset=latin1"),
        ] {
            let error = check_content_type(&headers(refused)).unwrap_err();
            assert_eq!(
                error.kind,
                ApiErrorKind::UnsupportedMediaType,
                "{refused:?}"
            );
            assert!(
                error.message.contains("application/json"),
                "{}",
                error.message
            );
        }
    }
}
