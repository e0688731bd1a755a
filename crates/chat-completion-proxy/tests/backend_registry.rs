//! Every registered endpoint type comes from an enabled backend plugin and states its
//! default endpoint and capabilities; the ones SPEC §3 names carry its values.
//!
//! `cargo xtask test-all` runs this with all features, with each plugin feature alone
//! and with none. A new backend plugin needs no edit here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::wire::{ImageInput, ImagePlacement};
use chat_completion_proxy::backend::{
    available_backends, find_backend, BackendCapabilities, BackendConstraints, ChatTemplateRoute,
    ConstraintField, ConstraintLanguage, ConstraintPlacement, HealthRoute,
};
use chat_completion_proxy::image::ImageFormat;
use chat_completion_proxy::ENABLED_PLUGINS;

/// A constraint field with no note.
const fn field(
    name: &'static str,
    language: ConstraintLanguage,
    placement: ConstraintPlacement,
) -> ConstraintField {
    ConstraintField {
        name,
        language,
        placement,
        note: "",
    }
}

const fn by_default(fields: &'static [ConstraintField]) -> BackendConstraints {
    BackendConstraints {
        fields,
        first_by_default: true,
    }
}

const GRAMMAR: ConstraintField = field(
    "grammar",
    ConstraintLanguage::Gbnf,
    ConstraintPlacement::Field("grammar"),
);
const GRAMMAR_STRING: ConstraintField = field(
    "grammar_string",
    ConstraintLanguage::Gbnf,
    ConstraintPlacement::Field("grammar_string"),
);
const RESPONSE_FORMAT: ConstraintField = field(
    "response_format",
    ConstraintLanguage::JsonSchema,
    ConstraintPlacement::ResponseFormat,
);
const LLAMACPP: BackendConstraints = by_default(&[
    GRAMMAR,
    ConstraintField {
        note: "the server converts it to a grammar itself",
        ..field(
            "json_schema",
            ConstraintLanguage::JsonSchema,
            ConstraintPlacement::Field("json_schema"),
        )
    },
]);
const KOBOLDCPP: BackendConstraints = by_default(&[GRAMMAR]);
const OLLAMA: BackendConstraints = by_default(&[ConstraintField {
    note: "ollama >= 0.5",
    ..field(
        "format",
        ConstraintLanguage::JsonSchema,
        ConstraintPlacement::Field("format"),
    )
}]);
const WEBUI: BackendConstraints = by_default(&[
    GRAMMAR_STRING,
    ConstraintField {
        note: "what llama.cpp's llama-server reads when it serves this API",
        ..GRAMMAR
    },
]);
const WEBUI_LEGACY: BackendConstraints = by_default(&[GRAMMAR_STRING]);
const LMSTUDIO: BackendConstraints = by_default(&[ConstraintField {
    note: "documented for /v1/chat/completions; unverified on /v1/completions",
    ..RESPONSE_FORMAT
}]);
const LMSTUDIO_LEGACY: BackendConstraints = by_default(&[RESPONSE_FORMAT]);
/// vLLM's version split: `structured_outputs` (0.10.2 on; the only one 0.12 reads)
/// first, `guided_json` for the servers before.
const VLLM: BackendConstraints = by_default(&[
    ConstraintField {
        note: "vLLM >= 0.10.2",
        ..field(
            "structured_outputs",
            ConstraintLanguage::JsonSchema,
            ConstraintPlacement::Nested {
                outer: "structured_outputs",
                inner: "json",
            },
        )
    },
    ConstraintField {
        note: "vLLM <= 0.11; 0.12 and later ignore it without an error",
        ..field(
            "guided_json",
            ConstraintLanguage::JsonSchema,
            ConstraintPlacement::Field("guided_json"),
        )
    },
]);
/// Groq: only on request (`constraint = "response_format"`), as only some models take it.
const GROQ: BackendConstraints = BackendConstraints {
    fields: &[ConstraintField {
        note: "only the models with structured outputs; set it per model",
        ..RESPONSE_FORMAT
    }],
    first_by_default: false,
};

/// SPEC §3: (plugin, endpoint type, default endpoint, capabilities).
const CONTRACT: &[(&str, &str, &str, BackendCapabilities)] = &[
    (
        "backend-llamacpp",
        "llamacpp",
        "http://localhost:8080",
        BackendCapabilities {
            constraints: LLAMACPP,
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
            chat_template: Some(ChatTemplateRoute {
                path: "/props",
                template_field: "chat_template",
                bos_token_field: Some("bos_token"),
                eos_token_field: Some("eos_token"),
            }),
            health: Some(HealthRoute { path: "/health" }),
        },
    ),
    (
        "backend-koboldcpp",
        "koboldcpp",
        "http://localhost:5001",
        BackendCapabilities {
            constraints: KOBOLDCPP,
            model_required: false,
            tokenizer: true,
            streaming: true,
            images: Some(ImageInput {
                placement: ImagePlacement::BeforePrompt,
                formats: &[ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif],
                max_images: Some(4),
            }),
            chat_template: None,
            health: Some(HealthRoute {
                path: "/api/v1/model",
            }),
        },
    ),
    (
        "backend-ollama",
        "ollama",
        "http://localhost:11434",
        BackendCapabilities {
            constraints: OLLAMA,
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
            chat_template: None,
            health: Some(HealthRoute {
                path: "/api/version",
            }),
        },
    ),
    (
        "backend-webui",
        "webui",
        "http://localhost:5000",
        BackendCapabilities {
            constraints: WEBUI,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
            chat_template: None,
            health: Some(HealthRoute {
                path: "/v1/internal/health",
            }),
        },
    ),
    (
        "backend-webui",
        "webui-legacy",
        "http://localhost:5000",
        BackendCapabilities {
            constraints: WEBUI_LEGACY,
            model_required: false,
            tokenizer: false,
            streaming: false,
            images: None,
            chat_template: None,
            health: Some(HealthRoute {
                path: "/api/v1/model",
            }),
        },
    ),
    (
        "backend-lmstudio",
        "lmstudio",
        "http://localhost:1234",
        BackendCapabilities {
            constraints: LMSTUDIO,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
            chat_template: None,
            health: Some(HealthRoute { path: "/v1/models" }),
        },
    ),
    (
        "backend-lmstudio",
        "lmstudio-legacy",
        "http://localhost:1234",
        BackendCapabilities {
            constraints: LMSTUDIO_LEGACY,
            model_required: false,
            tokenizer: false,
            streaming: true,
            images: None,
            chat_template: None,
            health: Some(HealthRoute { path: "/v1/models" }),
        },
    ),
    (
        "backend-vllm",
        "vllm",
        "http://localhost:8000",
        BackendCapabilities {
            constraints: VLLM,
            model_required: true,
            tokenizer: true,
            streaming: true,
            images: None,
            chat_template: None,
            health: Some(HealthRoute { path: "/health" }),
        },
    ),
    (
        "backend-groq",
        "groq",
        "https://api.groq.com/openai",
        BackendCapabilities {
            constraints: GROQ,
            model_required: true,
            tokenizer: false,
            streaming: true,
            images: None,
            chat_template: None,
            health: None,
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
