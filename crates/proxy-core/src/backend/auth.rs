//! [`BackendAuth`]: the optional credentials sent with every backend request.

use super::error::BackendError;

/// How to authenticate to the backend. Most local servers need none.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendAuth {
    /// `Authorization: Bearer KEY` (OpenAI-style servers, llama.cpp `--api-key`,
    /// koboldcpp `--password`, vLLM, Groq, LM Studio tokens).
    BearerToken(String),
    /// `api-key: KEY` (Azure-style).
    ApiKey(String),
}

impl BackendAuth {
    /// The names accepted by [`BackendAuth::from_parts`].
    pub const TYPES: [&'static str; 2] = ["bearer_token", "api_key"];

    /// Builds the auth from a configured type name and key, as MemGPT's
    /// `auth_type`/`auth_key` pair: no type means no auth (a key alone is ignored); a
    /// type without a key, an empty key, or an unknown type is an error.
    pub fn from_parts(
        auth_type: Option<&str>,
        auth_key: Option<&str>,
    ) -> Result<Option<BackendAuth>, BackendError> {
        let Some(auth_type) = auth_type else {
            if auth_key.is_some() {
                tracing::debug!("an auth key was given without an auth type; sending no auth");
            }
            return Ok(None);
        };
        let key = match auth_key {
            Some(key) if !key.is_empty() => key.to_owned(),
            _ => {
                return Err(BackendError::InvalidAuth {
                    reason: format!("auth type is `{auth_type}` but no auth key was given; set the key or drop the auth type"),
                })
            }
        };
        match auth_type {
            "bearer_token" => Ok(Some(BackendAuth::BearerToken(key))),
            "api_key" => Ok(Some(BackendAuth::ApiKey(key))),
            other => Err(BackendError::InvalidAuth {
                reason: format!(
                    "unsupported auth type `{other}`; use one of: {}",
                    BackendAuth::TYPES.join(", ")
                ),
            }),
        }
    }

    /// The header name and value this auth adds to a request.
    pub fn header(&self) -> (&'static str, String) {
        match self {
            BackendAuth::BearerToken(key) => ("authorization", format!("Bearer {key}")),
            BackendAuth::ApiKey(key) => ("api-key", key.clone()),
        }
    }
}

/// Never prints the key.
impl std::fmt::Debug for BackendAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendAuth::BearerToken(_) => f.write_str("BearerToken(***)"),
            BackendAuth::ApiKey(_) => f.write_str("ApiKey(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_build_their_header() {
        let bearer = BackendAuth::from_parts(Some("bearer_token"), Some("k1"));
        assert_eq!(
            bearer.map(|auth| auth.map(|a| a.header())),
            Ok(Some(("authorization", "Bearer k1".to_owned())))
        );
        let api_key = BackendAuth::from_parts(Some("api_key"), Some("k2"));
        assert_eq!(
            api_key.map(|auth| auth.map(|a| a.header())),
            Ok(Some(("api-key", "k2".to_owned())))
        );
    }

    #[test]
    fn type_without_key_and_unknown_type_are_errors() {
        for (auth_type, key) in [
            ("bearer_token", None),
            ("api_key", Some("")),
            ("basic", Some("k")),
        ] {
            let result = BackendAuth::from_parts(Some(auth_type), key);
            assert!(
                matches!(result, Err(BackendError::InvalidAuth { .. })),
                "{auth_type}: {result:?}"
            );
        }
    }

    #[test]
    fn no_type_means_no_auth_and_debug_hides_the_key() {
        assert_eq!(BackendAuth::from_parts(None, Some("k")), Ok(None));
        let shown = format!("{:?}", BackendAuth::BearerToken("secret".into()));
        assert!(!shown.contains("secret"));
    }
}
