//! Token counting with OpenAI's `cl100k_base` encoding (the reference counts with
//! tiktoken's `gpt-4` encoding, which is `cl100k_base`).
//!
//! The encoding ships inside `tiktoken-rs` (no download), is built once per process
//! and reused. This count is what the orchestrator uses to refuse a prompt longer than
//! the context window before any request, and for `usage` when the server reports
//! none. It is an approximation of the local model's own tokenizer; backends whose
//! server has a tokenize endpoint (llama.cpp, vLLM, koboldcpp) offer the exact count
//! through [`CompletionBackend::count_tokens`](crate::backend::CompletionBackend::count_tokens).
//!
//! Special-token text such as `<|endoftext|>` is counted as ordinary text (Python
//! tiktoken's `encode` would raise on it; a prompt may legitimately contain it).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// The name of the encoding used.
pub const ENCODING: &str = "cl100k_base";

fn encoding() -> Option<&'static CoreBPE> {
    static ENCODER: OnceLock<Option<CoreBPE>> = OnceLock::new();
    ENCODER
        .get_or_init(|| match tiktoken_rs::cl100k_base() {
            Ok(encoder) => Some(encoder),
            Err(error) => {
                tracing::warn!("cannot build the {ENCODING} tokenizer ({error}); token counts are estimated as characters / 4");
                None
            }
        })
        .as_ref()
}

/// Builds the encoding now, if it is not built yet (it takes a moment), so that the
/// first request that counts with it does not wait for it.
pub fn load_encoding() {
    let _ = encoding();
}

/// The number of `cl100k_base` tokens in `text`.
pub fn count_tokens(text: &str) -> u64 {
    let count = match encoding() {
        Some(encoder) => encoder.encode_ordinary(text).len(),
        None => text.chars().count().div_ceil(4),
    };
    u64::try_from(count).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_tiktoken_cl100k() {
        // Known cl100k_base encodings: "hello world" = [15339, 1917]; tiktoken's
        // README example "tiktoken is great!" = [83, 1609, 5963, 374, 2294, 0].
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens("tiktoken is great!"), 6);
    }

    #[test]
    fn special_token_text_is_counted_not_refused() {
        assert!(count_tokens("a <|endoftext|> b") > 3);
    }
}
