//! Wrapper discovery: registrations collected at link time with `inventory`, gathered
//! once per process into a sorted map, and the generic [`Registry`] other plugin kinds
//! (proxy-core's backends and grammar generators) are gathered into too.
//!
//! Wrapper plugins register with [`register_wrapper!`](crate::register_wrapper) and
//! wrapper-file loaders with
//! [`register_wrapper_file_loader!`](crate::register_wrapper_file_loader); nothing else
//! needs to name `inventory`. The order in which `inventory` yields registrations is
//! never relied upon.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use crate::wrapper::{PromptWrapper, WrapperError};

/// Why a plugin could not be looked up by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No plugin of this kind is registered under the name.
    #[error("unknown {kind} `{name}`; available: {}", available.join(", "))]
    Unknown {
        /// `"wrapper"` or `"endpoint type"`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// Every registered name, sorted.
        available: Vec<String>,
    },
    /// Two plugins registered the same name; neither is used.
    #[error("{kind} `{name}` is registered more than once (by {count} plugins); remove one of the crates that register it")]
    Duplicate {
        /// `"wrapper"` or `"endpoint type"`.
        kind: &'static str,
        /// The name registered twice.
        name: String,
        /// How many registrations share the name.
        count: usize,
    },
}

/// A sorted, once-built table of named plugins of one kind.
pub struct Registry<T> {
    kind: &'static str,
    entries: BTreeMap<&'static str, T>,
    duplicates: BTreeMap<&'static str, usize>,
}

impl<T> Registry<T> {
    /// Builds a registry from `(name, entry)` pairs; names given more than once are
    /// remembered as duplicates and refused on lookup.
    pub fn build(kind: &'static str, items: impl IntoIterator<Item = (&'static str, T)>) -> Self {
        let mut entries = BTreeMap::new();
        let mut duplicates: BTreeMap<&'static str, usize> = BTreeMap::new();
        for (name, entry) in items {
            if entries.contains_key(name) || duplicates.contains_key(name) {
                entries.remove(name);
                *duplicates.entry(name).or_insert(1) += 1;
            } else {
                entries.insert(name, entry);
            }
        }
        Registry {
            kind,
            entries,
            duplicates,
        }
    }

    /// Every usable name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.keys().copied().collect()
    }

    /// The entries, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &T)> {
        self.entries.iter().map(|(name, entry)| (*name, entry))
    }

    /// Looks a name up; the error lists the available names.
    pub fn get(&self, name: &str) -> Result<&T, RegistryError> {
        self.resolve(name).map(|(_, entry)| entry)
    }

    /// Looks a name up and returns the registered (`'static`) name with the entry.
    pub fn resolve(&self, name: &str) -> Result<(&'static str, &T), RegistryError> {
        if let Some((registered, entry)) = self.entries.get_key_value(name) {
            return Ok((*registered, entry));
        }
        if let Some(count) = self.duplicates.get(name) {
            return Err(RegistryError::Duplicate {
                kind: self.kind,
                name: name.to_owned(),
                count: *count,
            });
        }
        Err(RegistryError::Unknown {
            kind: self.kind,
            name: name.to_owned(),
            available: self.names().into_iter().map(str::to_owned).collect(),
        })
    }
}

impl<T> fmt::Debug for Registry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kind", &self.kind)
            .field("names", &self.names())
            .finish()
    }
}

/// A wrapper plugin's registration, submitted with [`register_wrapper!`](crate::register_wrapper).
#[derive(Debug)]
pub struct WrapperRegistration {
    /// The package that registered it (filled in by
    /// [`register_wrapper!`](crate::register_wrapper)): the plugin crate, whose facade
    /// feature has the same name.
    pub plugin: &'static str,
    /// The name users type (`"chatml"`, `"chatml-grammar"`, ...).
    pub name: &'static str,
    /// One line saying which model family the format is for.
    pub description: &'static str,
    /// Builds the wrapper; called once per process.
    pub build: fn() -> Box<dyn PromptWrapper>,
}

inventory::collect!(WrapperRegistration);

/// A registered wrapper, built once.
pub struct RegisteredWrapper {
    /// Its registration.
    pub registration: &'static WrapperRegistration,
    /// The wrapper itself.
    pub wrapper: Box<dyn PromptWrapper>,
}

impl fmt::Debug for RegisteredWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.registration.fmt(f)
    }
}

/// The process-wide wrapper registry.
pub fn wrapper_registry() -> &'static Registry<RegisteredWrapper> {
    static REGISTRY: OnceLock<Registry<RegisteredWrapper>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::build(
            "wrapper",
            inventory::iter::<WrapperRegistration>().map(|registration| {
                (
                    registration.name,
                    RegisteredWrapper {
                        registration,
                        wrapper: (registration.build)(),
                    },
                )
            }),
        )
    })
}

/// The names of every registered wrapper, sorted.
pub fn available_wrappers() -> Vec<&'static str> {
    wrapper_registry().names()
}

/// The wrapper registered under `name`; the error lists the available names.
pub fn find_wrapper(name: &str) -> Result<&'static dyn PromptWrapper, RegistryError> {
    wrapper_registry()
        .get(name)
        .map(|entry| entry.wrapper.as_ref())
}

/// Registers a [`PromptWrapper`] under one or more names.
///
/// The registration is collected at link time: the wrapper is listed by
/// [`available_wrappers`] and found by [`find_wrapper`] in any program that links the
/// crate holding it (reference the crate with `use my_plugin as _;` if nothing else
/// names it). A crate that depends on proxy-core alone can invoke it as
/// `proxy_core::register_wrapper!` (a re-export of this macro).
///
/// ```
/// use prompt_kit::{AssistantMessage, ChatMessage, PromptWrapper, RenderRequest, Role, WrapperError};
///
/// /// Each message's text on its own line.
/// struct LinesWrapper;
///
/// impl PromptWrapper for LinesWrapper {
///     fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
///         let lines: Vec<String> = request.messages.iter().map(ChatMessage::text_or_empty).collect();
///         Ok(lines.join("\n"))
///     }
///
///     fn parse_output(&self, raw_output: &str, _first_message: bool) -> Result<AssistantMessage, WrapperError> {
///         Ok(AssistantMessage::text(Some(raw_output.trim().to_owned())))
///     }
/// }
///
/// prompt_kit::register_wrapper! {
///     name: "my-format",
///     description: "My model's prompt format",
///     build: || Box::new(LinesWrapper),
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     assert!(prompt_kit::available_wrappers().contains(&"my-format"));
///     let wrapper = prompt_kit::find_wrapper("my-format")?;
///     let messages = [ChatMessage::new(Role::System, "Be brief."), ChatMessage::new(Role::User, "hi")];
///     assert_eq!(wrapper.render_prompt(&RenderRequest::new(&messages, &[]))?, "Be brief.\nhi");
///     assert_eq!(wrapper.parse_output(" ok ", false)?.content.as_deref(), Some("ok"));
///     Ok(())
/// }
/// ```
#[macro_export]
macro_rules! register_wrapper {
    ($(name: $name:expr, description: $description:expr, build: $build:expr $(,)?);+ $(;)?) => {
        $(
            $crate::__private::inventory::submit! {
                $crate::registry::WrapperRegistration {
                    plugin: ::core::env!("CARGO_PKG_NAME"),
                    name: $name,
                    description: $description,
                    build: $build,
                }
            }
        )+
    };
}

/// A plugin that builds wrappers from user-written definition files, submitted with
/// [`register_wrapper_file_loader!`](crate::register_wrapper_file_loader).
#[derive(Debug)]
pub struct WrapperFileLoaderRegistration {
    /// The package that registered it (filled in by the macro).
    pub plugin: &'static str,
    /// Reads the file at the path and builds the wrapper it defines.
    pub load: fn(&std::path::Path) -> Result<Box<dyn PromptWrapper>, WrapperError>,
}

inventory::collect!(WrapperFileLoaderRegistration);

/// Builds the wrapper defined in the file at `path` with the linked-in loader plugin
/// (`wrapper-configurable`: TOML files); an error when no loader is linked.
pub fn load_wrapper_file(path: &std::path::Path) -> Result<Box<dyn PromptWrapper>, WrapperError> {
    let loader = inventory::iter::<WrapperFileLoaderRegistration>()
        .min_by_key(|registration| registration.plugin)
        .ok_or_else(|| {
            WrapperError::InvalidDefinition(format!(
                "cannot load {}: this build links no wrapper-file loader; build with the \
                 `wrapper-configurable` feature to use wrapper files",
                path.display()
            ))
        })?;
    (loader.load)(path)
}

/// Registers the function that builds wrappers from definition files (see
/// [`load_wrapper_file`]).
#[macro_export]
macro_rules! register_wrapper_file_loader {
    (load: $load:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::registry::WrapperFileLoaderRegistration {
                plugin: ::core::env!("CARGO_PKG_NAME"),
                load: $load,
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_and_lookup_lists_them() {
        let registry = Registry::build("wrapper", [("b", 2), ("a", 1), ("c", 3)]);
        assert_eq!(registry.names(), vec!["a", "b", "c"]);
        assert_eq!(registry.get("b").ok(), Some(&2));
        let error = registry.get("zz").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("unknown wrapper `zz`; available: a, b, c")
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let registry = Registry::build("wrapper", [("a", 1), ("b", 2), ("a", 3)]);
        assert_eq!(registry.names(), vec!["b"]);
        assert!(matches!(
            registry.get("a"),
            Err(RegistryError::Duplicate { count: 2, .. })
        ));
    }
}
