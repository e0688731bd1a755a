//! [`TokenCounting`]: how a prompt is counted.

/// How the prompt is counted for the context-window check and `usage.prompt_tokens`:
/// the one choice behind the server config's `tokenizer` and the CLI's `--tokenizer`,
/// written `server` or `cl100k`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum TokenCounting {
    /// The server's own tokenizer where the backend has one (llama.cpp and vLLM
    /// `/tokenize`, koboldcpp's token count), exact for the loaded model at the cost
    /// of one extra request; cl100k_base elsewhere, or when the server's tokenizer
    /// fails with anything but a connection error or timeout.
    #[default]
    #[serde(rename = "server")]
    ServerWhereAvailable,
    /// Always cl100k_base (offline, as the reference; an approximation for most local
    /// models).
    #[serde(rename = "cl100k")]
    Cl100k,
}

impl TokenCounting {
    /// The name users write (`server`, `cl100k`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenCounting::ServerWhereAvailable => "server",
            TokenCounting::Cl100k => "cl100k",
        }
    }
}

impl std::fmt::Display for TokenCounting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenCounting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [TokenCounting::ServerWhereAvailable, TokenCounting::Cl100k]
            .into_iter()
            .find(|counting| counting.as_str() == text)
            .ok_or_else(|| format!("unknown tokenizer `{text}`; use `server` or `cl100k`"))
    }
}

#[cfg(test)]
mod tests {
    use super::TokenCounting;

    #[test]
    fn the_names_users_write_round_trip() {
        for counting in [TokenCounting::ServerWhereAvailable, TokenCounting::Cl100k] {
            assert_eq!(counting.to_string().parse::<TokenCounting>(), Ok(counting));
            let from_json: TokenCounting =
                serde_json::from_value(serde_json::json!(counting.as_str())).unwrap();
            assert_eq!(from_json, counting);
        }
        assert_eq!(
            "gpt2".parse::<TokenCounting>(),
            Err("unknown tokenizer `gpt2`; use `server` or `cl100k`".to_owned())
        );
    }
}
