//! Backend plugins: registrations collected with `inventory`, looked up by endpoint
//! type through the generic [`Registry`].

use std::fmt;
use std::sync::OnceLock;

use super::wire::BackendCapabilities;
use super::CompletionBackend;
use crate::registry::{Registry, RegistryError};

/// A backend plugin's registration, submitted with
/// [`register_backend!`](crate::register_backend). Const-constructible.
#[derive(Debug)]
pub struct BackendRegistration {
    /// The package that registered it (filled in by
    /// [`register_backend!`](crate::register_backend)): the plugin crate, whose facade
    /// feature has the same name.
    pub plugin: &'static str,
    /// The endpoint type users give (`"llamacpp"`, `"webui-legacy"`, …).
    pub name: &'static str,
    /// One line saying which server this talks to.
    pub description: &'static str,
    /// Where that server listens by default.
    pub default_endpoint: &'static str,
    /// What it can do (for a [`WireFormat`](super::WireFormat): from its spec).
    pub capabilities: BackendCapabilities,
    /// Builds the backend; called once per process.
    pub build: fn() -> Box<dyn CompletionBackend>,
}

inventory::collect!(BackendRegistration);

/// A registered backend, built once.
pub struct RegisteredBackend {
    /// Its registration (name, default endpoint, capabilities).
    pub registration: &'static BackendRegistration,
    /// The backend itself.
    pub backend: Box<dyn CompletionBackend>,
}

impl fmt::Debug for RegisteredBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.registration.fmt(f)
    }
}

/// The process-wide backend registry (kind `"endpoint type"`).
pub fn backend_registry() -> &'static Registry<RegisteredBackend> {
    static REGISTRY: OnceLock<Registry<RegisteredBackend>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::build(
            "endpoint type",
            inventory::iter::<BackendRegistration>().map(|registration| {
                (
                    registration.name,
                    RegisteredBackend {
                        registration,
                        backend: (registration.build)(),
                    },
                )
            }),
        )
    })
}

/// The names of every registered endpoint type, sorted.
pub fn available_backends() -> Vec<&'static str> {
    backend_registry().names()
}

/// The backend registered for endpoint type `name`, with its registration; the error
/// lists the available endpoint types.
pub fn find_backend(name: &str) -> Result<&'static RegisteredBackend, RegistryError> {
    backend_registry().get(name)
}

/// Registers a [`CompletionBackend`] that does its own I/O under one or more endpoint
/// types. A backend that is a wire format (a body out, a reply in) implements
/// [`WireFormat`](super::WireFormat) instead and registers with
/// [`register_wire_format!`](crate::register_wire_format).
///
/// ```
/// use proxy_core::backend::{
///     BackendCapabilities, BackendCompletion, BackendError, BackendRequest, CompletionBackend,
/// };
///
/// struct MyServerBackend;
///
/// #[async_trait::async_trait]
/// impl CompletionBackend for MyServerBackend {
///     async fn complete(
///         &self,
///         _http: &reqwest::Client,
///         request: &BackendRequest<'_>,
///     ) -> Result<BackendCompletion, BackendError> {
///         Err(BackendError::InvalidRequest {
///             backend: "my-server",
///             reason: format!("this example sends nothing to {}", request.endpoint),
///         })
///     }
/// }
///
/// proxy_core::register_backend! {
///     name: "my-server",
///     description: "My inference server's raw completion API",
///     default_endpoint: "http://localhost:9000",
///     capabilities: BackendCapabilities {
///         constraints: proxy_core::backend::BackendConstraints::NONE,
///         model_required: false,
///         tokenizer: false,
///         streaming: false,
///         images: None,
///         chat_template: None,
///         health: None,
///     },
///     build: || Box::new(MyServerBackend),
/// }
///
/// assert!(proxy_core::backend::available_backends().contains(&"my-server"));
/// ```
#[macro_export]
macro_rules! register_backend {
    ($(
        name: $name:expr,
        description: $description:expr,
        default_endpoint: $default_endpoint:expr,
        capabilities: $capabilities:expr,
        build: $build:expr $(,)?
    );+ $(;)?) => {
        $(
            $crate::__private::inventory::submit! {
                $crate::backend::BackendRegistration {
                    plugin: ::core::env!("CARGO_PKG_NAME"),
                    name: $name,
                    description: $description,
                    default_endpoint: $default_endpoint,
                    capabilities: $capabilities,
                    build: $build,
                }
            }
        )+
    };
}
