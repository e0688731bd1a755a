//! Every registered endpoint type comes from an enabled backend plugin and states its
//! default endpoint and capabilities; the ones SPEC §3 names carry its values.
//!
//! `cargo xtask test-all` runs this with all features, with each plugin feature alone
//! and with none. A new backend plugin needs no edit here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::wire::{ImageInput, ImagePlacement};
use chat_completion_proxy::backend::{available_backends, find_backend, BackendCapabilities};
use chat_completion_proxy::image::ImageFormat;
use chat_completion_proxy::ENABLED_PLUGINS;

/// SPEC §3: (plugin, endpoint type, default endpoint, capabilities).
const CONTRACT: &[(&str, &str, &str, BackendCapabilities)] = &[
    (
        "backend-llamacpp",
        "llamacpp",
        "http://localhost:8080",
        BackendCapabilities {
            grammar: true,
            json_schema: false,
            model_required: false,
            tokenizer: true,
            streaming: true,
            images: Some(ImageInput {
                placement: ImagePlacement::AnnouncedMarker {
                    path: "/props",
                    field: "media_marker",
                    default: "<__media__>",
                },
                formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif],
                max_images: None,
            }),
        },
    ),
    (
        "backend-koboldcpp",
        "koboldcpp",
        "http://localhost:5001",
        BackendCapabilities {
            grammar: true,
            json_schema: false,
            model_required: false,
            tokenizer: true,
            streaming: true,
            images: Some(ImageInput {
                placement: ImagePlacement::BeforePrompt,
                formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif],
                max_images: Some(4),
            }),
        },
    ),
    (
        "backend-ollama",
        "ollama",
        "http://localhost:11434",
        BackendCapabilities {
            grammar: false,
            json_schema: true,
            model_required: true,
            tokenizer: false,
            streaming: true,
            images: Some(ImageInput {
                placement: ImagePlacement::NumberedMarker {
                    prefix: "[img-",
                    suffix: "]",
                },
                formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp],
                max_images: None,
            }),
        },
    ),
    (
        "backend-webui",
        "webui",
        "http://localhost:5000",
        BackendCapabilities {
            grammar: true,
            json_schema: false,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
        },
    ),
    (
        "backend-webui",
        "webui-legacy",
        "http://localhost:5000",
        BackendCapabilities {
            grammar: true,
            json_schema: false,
            model_required: false,
            tokenizer: false,
            streaming: false,
            images: None,
        },
    ),
    (
        "backend-lmstudio",
        "lmstudio",
        "http://localhost:1234",
        BackendCapabilities {
            grammar: false,
            json_schema: false,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
        },
    ),
    (
        "backend-lmstudio",
        "lmstudio-legacy",
        "http://localhost:1234",
        BackendCapabilities {
            grammar: false,
            json_schema: false,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
        },
    ),
    (
        "backend-vllm",
        "vllm",
        "http://localhost:8000",
        BackendCapabilities {
            grammar: false,
            json_schema: true,
            model_required: true,
            tokenizer: true,
            streaming: true,
            images: None,
        },
    ),
    (
        "backend-groq",
        "groq",
        "https://api.groq.com/openai",
        BackendCapabilities {
            grammar: false,
            json_schema: false,
            model_required: true,
            tokenizer: false,
            streaming: true,
            images: None,
        },
    ),
];

#[test]
fn every_endpoint_type_comes_from_an_enabled_plugin_and_states_its_defaults() {
    for name in available_backends() {
        let registration = find_backend(name).unwrap().registration;
        assert!(
            ENABLED_PLUGINS.contains(&registration.plugin),
            "`{name}` comes from `{}`, which is not enabled: {ENABLED_PLUGINS:?}",
            registration.plugin
        );
        assert_eq!(registration.name, name);
        assert!(!registration.description.is_empty(), "{name}");
        assert!(
            registration.default_endpoint.starts_with("http://")
                || registration.default_endpoint.starts_with("https://"),
            "{name}: {}",
            registration.default_endpoint
        );
    }
    for plugin in ENABLED_PLUGINS
        .iter()
        .filter(|plugin| plugin.starts_with("backend-"))
    {
        assert!(
            available_backends()
                .iter()
                .any(|name| find_backend(name).unwrap().registration.plugin == *plugin),
            "`{plugin}` is enabled but registers no endpoint type"
        );
    }
}

#[test]
fn the_contracts_endpoint_types_carry_its_defaults_and_capabilities() {
    for (plugin, name, endpoint, capabilities) in CONTRACT {
        let registered = find_backend(name);
        assert_eq!(
            registered.is_ok(),
            ENABLED_PLUGINS.contains(plugin),
            "`{name}` is registered exactly when `{plugin}` is enabled"
        );
        if let Ok(registered) = registered {
            let registration = registered.registration;
            assert_eq!(registration.plugin, *plugin, "{name}");
            assert_eq!(registration.default_endpoint, *endpoint, "{name}");
            assert_eq!(registration.capabilities, *capabilities, "{name}");
        }
    }
}

#[test]
fn unknown_endpoint_type_error_lists_the_available_ones() {
    let error = find_backend("openai").err().map(|error| error.to_string());
    let expected = format!(
        "unknown endpoint type `openai`; available: {}",
        available_backends().join(", ")
    );
    assert_eq!(error.as_deref(), Some(expected.as_str()));
}
