//! The `zephyr` prompt wrapper family (in progress).
