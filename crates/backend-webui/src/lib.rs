//! text-generation-webui (oobabooga), two endpoint types:
//!
//! * `webui`: the OpenAI-compatible API, `POST /v1/completions`. Body: the completion
//!   settings, `prompt`, `truncation_length` = the context window, `max_tokens` and
//!   `max_new_tokens` = context window − prompt tokens, `grammar_string` (GBNF) when
//!   asked, then the caller's sampling fields. Reply: `choices[0].text`,
//!   `usage.completion_tokens`, `choices[0].finish_reason` (computed heuristically
//!   by the server).
//! * `webui-legacy`: the API removed in November 2023, `POST /api/v1/generate`.
//!   Body: the settings, `stopping_strings` = the stop list (beside `stop`),
//!   `max_new_tokens` = 3072, `prompt`, `truncation_length`, `grammar_string`. Reply:
//!   `results[0].text`, no token counts.
//!
//! Neither exposes a tokenizer this client uses.

mod current;
mod legacy;

pub use current::WebUiBackend;
pub use legacy::WebUiLegacyBackend;

const SERVER: &str = "web UI server";

proxy_core::register_backend! {
    name: "webui",
    description: "text-generation-webui, OpenAI-compatible /v1/completions (GBNF grammars)",
    default_endpoint: "http://localhost:5000",
    supports_grammar: true,
    supports_tokenize: false,
    build: || Box::new(WebUiBackend);

    name: "webui-legacy",
    description: "text-generation-webui, legacy /api/v1/generate API (before Nov 2023)",
    default_endpoint: "http://localhost:5000",
    supports_grammar: true,
    supports_tokenize: false,
    build: || Box::new(WebUiLegacyBackend);
}
