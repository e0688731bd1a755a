//! API keys: [`Secret`] (a string that never prints), [`ApiKeys`] (checked in
//! constant time) and the middleware that asks for `Authorization: Bearer KEY`.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::{Choice, ConstantTimeEq};

use crate::errors::{ApiError, ApiErrorKind};

/// A key or password: `Debug` and `Display` show `***`, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The keys clients may present; none means the server is open.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(Vec<Secret>);

impl ApiKeys {
    /// The accepted keys.
    pub fn new(keys: Vec<Secret>) -> Self {
        ApiKeys(keys)
    }

    /// Whether no key is required.
    pub fn is_open(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` is one of the keys. Every key is compared, and each
    /// comparison takes the same time whatever `presented` holds, so the timing tells
    /// nothing about the keys' contents.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = presented.as_bytes();
        let mut matched = Choice::from(0);
        for key in &self.0 {
            let key = key.expose().as_bytes();
            let mut equal = (key.len() as u64).ct_eq(&(presented.len() as u64));
            for (index, byte) in key.iter().enumerate() {
                let other = presented.get(index).copied().unwrap_or(0);
                equal &= byte.ct_eq(&other);
            }
            matched |= equal;
        }
        matched.into()
    }

    /// Checks a request's `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), ApiError> {
        if self.is_open() {
            return Ok(());
        }
        let Some(value) = authorization else {
            return Err(ApiError::new(
                ApiErrorKind::InvalidApiKey,
                "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
            ));
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::new(
                    ApiErrorKind::InvalidApiKey,
                    "The Authorization header must be `Bearer KEY`.",
                ))
            }
        };
        if self.accepts(token) {
            Ok(())
        } else {
            Err(ApiError::new(
                ApiErrorKind::InvalidApiKey,
                "Incorrect API key provided. Check the key given to the server's `api_keys`.",
            ))
        }
    }
}

/// Middleware: refuses the request with a 401 envelope unless it carries an accepted
/// key (or the server has none).
pub(crate) async fn require_api_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    match keys.check(header) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys::new(vec![Secret::new("sk-one"), Secret::new("sk-second-key")])
    }

    #[test]
    fn accepts_only_exact_keys() {
        let keys = keys();
        assert!(keys.accepts("sk-one"));
        assert!(keys.accepts("sk-second-key"));
        for wrong in [
            "",
            "sk-on",
            "sk-one2",
            "SK-ONE",
            "sk-second-kez",
            "sk-one\0",
        ] {
            assert!(!keys.accepts(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn header_forms() {
        let keys = keys();
        assert!(keys.check(Some("Bearer sk-one")).is_ok());
        assert!(keys.check(Some("bearer sk-one")).is_ok());
        for bad in [
            None,
            Some("sk-one"),
            Some("Basic sk-one"),
            Some("Bearer nope"),
        ] {
            let error = keys.check(bad).unwrap_err();
            assert_eq!(error.kind, ApiErrorKind::InvalidApiKey);
            assert!(!error.message.contains("nope"), "{}", error.message);
        }
        assert!(ApiKeys::default().check(None).is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert!(!format!("{:?}", keys()).contains("sk-one"));
    }
}
