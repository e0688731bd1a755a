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

/// The server, for error messages.
const SERVER: &str = "web UI server";
/// Where text-generation-webui listens by default.
const DEFAULT_ENDPOINT: &str = "http://localhost:5000";

proxy_core::register_wire_format!(WebUiBackend, WebUiLegacyBackend);
