//! The server over real HTTP: the router on an ephemeral loopback port, driven with
//! reqwest, in front of a wiremock server speaking llama.cpp's `/completion` (the
//! llamacpp backend and the chatml wrapper are linked through the facade).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy as _;

mod common;

mod completions;
mod errors;
mod images;
mod lifecycle;
mod logging;
mod metrics;
mod models;
mod replicas;
mod streaming;
