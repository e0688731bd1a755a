//! chat-completion-proxy: the drop-in replacement for OpenAI's ChatCompletion call on
//! local LLM servers.
//!
//! This facade re-exports [`proxy_core`] and links the plugin crates chosen by Cargo
//! features: one feature per plugin crate, named after it (`wrapper-chatml`,
//! `backend-llamacpp`, `grammar-gbnf`, …), all on through the default `full` feature.
//! Plugins register themselves with `inventory`; a plugin crate that nothing references
//! is not linked, so each one is referenced below by one `plugin!` line, which also
//! lists it in [`ENABLED_PLUGINS`] when its feature is on.
#![deny(unused_crate_dependencies)]

pub use proxy_core::*;

// A dev-dependency of the integration tests (the plugin list from `cargo metadata`).
#[cfg(test)]
use workspace_meta as _;

/// Links each plugin crate whose feature is on and lists those features in
/// [`ENABLED_PLUGINS`]: one line per plugin, `"feature-name" => crate_name`.
macro_rules! plugins {
    ($($feature:literal => $krate:ident),+ $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            use $krate as _;
        )+

        /// The plugin features this build was compiled with (each names the plugin
        /// crate it links), in the order of the facade's list.
        pub const ENABLED_PLUGINS: &[&str] = &[$(
            #[cfg(feature = $feature)]
            $feature,
        )+];
    };
}

plugins! {
    "wrapper-chatml" => wrapper_chatml,
    "wrapper-llama3" => wrapper_llama3,
    "wrapper-airoboros" => wrapper_airoboros,
    "wrapper-dolphin" => wrapper_dolphin,
    "wrapper-zephyr" => wrapper_zephyr,
    "wrapper-configurable" => wrapper_configurable,
    "wrapper-summary" => wrapper_summary,
    "wrapper-template" => wrapper_template,
    "backend-llamacpp" => backend_llamacpp,
    "backend-koboldcpp" => backend_koboldcpp,
    "backend-ollama" => backend_ollama,
    "backend-webui" => backend_webui,
    "backend-lmstudio" => backend_lmstudio,
    "backend-vllm" => backend_vllm,
    "backend-groq" => backend_groq,
    "grammar-gbnf" => grammar_gbnf,
}

/// The configurable wrapper's API (user-defined wrappers from TOML files).
#[cfg(feature = "wrapper-configurable")]
pub use wrapper_configurable as configurable;
