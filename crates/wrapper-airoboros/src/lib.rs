//! The `airoboros` prompt wrapper family (in progress).
