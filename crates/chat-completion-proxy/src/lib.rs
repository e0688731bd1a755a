//! chat-completion-proxy: the drop-in replacement for OpenAI's ChatCompletion call on
//! local LLM servers.
//!
//! This facade re-exports [`proxy_core`] and links the plugin crates chosen by Cargo
//! features: one feature per wrapper family (`wrapper-chatml`, `wrapper-llama3`, …),
//! all on through the default `full` feature. Plugins register themselves with
//! `inventory`; a plugin crate that nothing references is not linked, so each enabled
//! plugin is referenced below with a `use … as _;` line.
#![deny(unused_crate_dependencies)]

pub use proxy_core::*;

#[cfg(feature = "backend-groq")]
use backend_groq as _;
#[cfg(feature = "backend-koboldcpp")]
use backend_koboldcpp as _;
#[cfg(feature = "backend-llamacpp")]
use backend_llamacpp as _;
#[cfg(feature = "backend-lmstudio")]
use backend_lmstudio as _;
#[cfg(feature = "backend-ollama")]
use backend_ollama as _;
#[cfg(feature = "backend-vllm")]
use backend_vllm as _;
#[cfg(feature = "backend-webui")]
use backend_webui as _;
#[cfg(feature = "grammar-gbnf")]
use grammar_gbnf as _;
#[cfg(feature = "wrapper-airoboros")]
use wrapper_airoboros as _;
#[cfg(feature = "wrapper-chatml")]
use wrapper_chatml as _;
/// User-defined wrappers loaded from a file (the `wrapper-configurable` feature).
#[cfg(feature = "wrapper-configurable")]
pub use wrapper_configurable as configurable;
#[cfg(feature = "wrapper-dolphin")]
use wrapper_dolphin as _;
#[cfg(feature = "wrapper-llama3")]
use wrapper_llama3 as _;
#[cfg(feature = "wrapper-summary")]
use wrapper_summary as _;
#[cfg(feature = "wrapper-zephyr")]
use wrapper_zephyr as _;
