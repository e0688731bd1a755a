//! The `chatml` prompt wrapper family (in progress).
