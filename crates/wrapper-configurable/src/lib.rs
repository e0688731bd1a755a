//! The `configurable` prompt wrapper family (in progress).
