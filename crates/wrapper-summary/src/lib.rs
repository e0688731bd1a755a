//! The `summary` prompt wrapper family (in progress).
