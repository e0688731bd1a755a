//! The `llama3` prompt wrapper family (in progress).
