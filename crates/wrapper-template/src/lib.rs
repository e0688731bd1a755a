//! The chat-template wrapper plugin: renders a model's own Jinja chat template (the
//! one in its GGUF metadata, its `tokenizer_config.json`, a file, or served by the
//! backend) and reads replies in the model's native tool-call format.
//!
//! * [`render`]: the Jinja engine set up as Hugging Face `transformers` renders chat
//!   templates (minijinja with Python-compatible methods, `raise_exception`,
//!   `strftime_now`, `tojson` as Python writes it).
//! * [`tool_format`]: the native tool-call formats (Hermes/Qwen `<tool_call>`, Llama 3
//!   JSON, Mistral `[TOOL_CALLS]`, plain JSON): detection from a template, and
//!   parsing of replies.
//! * [`messages`]: OpenAI messages and functions in the shapes Hugging Face templates
//!   read (`messages`, `tools`).

pub mod messages;
pub mod render;
pub mod tool_format;
