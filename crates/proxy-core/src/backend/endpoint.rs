//! A backend server's base URL, checked and parsed once — when a target is resolved —
//! so that a request only joins its API path onto it and never parses the URL again.

use std::fmt;

use reqwest::Url;

use super::error::BackendError;

/// A checked `http://` or `https://` base URL naming a host (`http://localhost:8080`,
/// `https://api.groq.com/openai`). Made by [`Endpoint::parse`]; cheap to clone.
///
/// Paths are joined as MemGPT's `urljoin(endpoint.strip("/") + "/", path.strip("/"))`
/// joins them: any path already in the endpoint is kept, with exactly one `/` between
/// it and the API path.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as the user gave it, less surrounding whitespace.
    text: String,
    /// `text`, parsed.
    base: Url,
}

impl Endpoint {
    /// Checks that `endpoint` is an `http://` or `https://` URL naming a host, and
    /// parses it.
    ///
    /// Errors: [`BackendError::InvalidEndpoint`], saying what is wrong.
    pub fn parse(endpoint: &str) -> Result<Self, BackendError> {
        let invalid = |reason: String| BackendError::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let trimmed = endpoint.trim();
        let lowercase = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
        let scheme_length = if lowercase.starts_with("http://") {
            "http://".len()
        } else if lowercase.starts_with("https://") {
            "https://".len()
        } else {
            return Err(invalid("it must begin with http:// or https://".to_owned()));
        };
        // Checked on the text: the URL parser would read `http:///completion` as the
        // host `completion`.
        let authority = trimmed.get(scheme_length..).unwrap_or_default();
        if authority.is_empty() || authority.starts_with(['/', '?', '#']) {
            return Err(invalid("it names no host".to_owned()));
        }
        match Url::parse(trimmed) {
            Ok(base) if base.host().is_some() => Ok(Endpoint {
                text: trimmed.to_owned(),
                base,
            }),
            Ok(_) => Err(invalid("it names no host".to_owned())),
            Err(error) => Err(invalid(format!("it is not a valid URL ({error})"))),
        }
    }

    /// The URL as the user gave it (for messages and logs).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its `host:port` (the scheme's port when none is given), without scheme, path
    /// or credentials: how operators' routes (`/ready`) and metrics name a server.
    pub fn authority(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The URL of the API `path` on this server, joined without parsing the endpoint
    /// again.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            self.base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl std::str::FromStr for Endpoint {
    type Err = BackendError;

    fn from_str(endpoint: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(endpoint)
    }
}

/// A well-formed endpoint for unit tests that send nothing.
#[cfg(test)]
pub(crate) fn test_endpoint() -> &'static Endpoint {
    static ENDPOINT: std::sync::LazyLock<Endpoint> = std::sync::LazyLock::new(|| {
        Endpoint::parse("http://localhost:1").expect("a well-formed endpoint")
    });
    &ENDPOINT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_without_doubling_slashes() {
        for (endpoint, path, expected) in [
            (
                "http://localhost:8080",
                "/completion",
                "http://localhost:8080/completion",
            ),
            (
                "http://localhost:8080/",
                "/completion",
                "http://localhost:8080/completion",
            ),
            (
                "http://localhost:8080//",
                "completion",
                "http://localhost:8080/completion",
            ),
            (
                " https://api.groq.com/openai/ ",
                "/v1/chat/completions",
                "https://api.groq.com/openai/v1/chat/completions",
            ),
            ("http://127.0.0.1:9", "", "http://127.0.0.1:9/"),
        ] {
            let url = Endpoint::parse(endpoint).map(|endpoint| endpoint.url(path));
            assert_eq!(
                url.as_ref().map(Url::as_str).ok(),
                Some(expected),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn keeps_the_text_the_user_gave() {
        let endpoint = Endpoint::parse("  http://LocalHost:8080/v1/ ");
        assert_eq!(
            endpoint.as_ref().map(Endpoint::as_str).ok(),
            Some("http://LocalHost:8080/v1/")
        );
        assert_eq!(
            endpoint
                .map(|endpoint| endpoint.to_string())
                .ok()
                .as_deref(),
            Some("http://LocalHost:8080/v1/")
        );
    }

    #[test]
    fn refuses_endpoints_without_http_scheme_or_host() {
        for endpoint in [
            "localhost:8080",
            "ftp://host",
            "",
            "http://",
            "http:///x",
            "https://?q",
            "http://host:port",
        ] {
            let result = Endpoint::parse(endpoint);
            assert!(
                matches!(result, Err(BackendError::InvalidEndpoint { .. })),
                "{endpoint}: {result:?}"
            );
        }
        let message = Endpoint::parse("localhost:8080")
            .err()
            .map(|e| e.to_string());
        assert!(message.is_some_and(|m| m.contains("must begin with http:// or https://")));
    }
}
