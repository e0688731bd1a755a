//! The `dolphin` prompt wrapper family (in progress).
