//! [`TemplateSourceError`]: why a chat template could not be had from its source.

use std::path::PathBuf;

use crate::backend::BackendError;
use crate::error_kind::ErrorKind;

/// The flags and settings that give a template by hand, for the messages below.
const GIVE_ONE: &str =
    "give one with --chat-template-file (`chat_template_file` in the server config)";

/// Why a chat template could not be read from its [`TemplateSource`](super::TemplateSource).
/// Each message names the file or server and the field, and says what to do;
/// [`TemplateSourceError::kind`] is the stable kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateSourceError {
    /// The file could not be opened or read.
    #[error("cannot read the chat template source `{}`: {detail}; check the path and its permissions", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        detail: String,
    },
    /// The template text is empty (or only white space).
    #[error(
        "the chat template from {origin} is empty; {GIVE_ONE} holding the model's Jinja template"
    )]
    EmptyTemplate {
        /// Where it came from ([`TemplateSource::describe`](super::TemplateSource::describe)).
        origin: String,
    },
    /// The file does not start with the GGUF magic.
    #[error("`{}` is not a GGUF file (it starts with {found}, not \"GGUF\"); give the model's .gguf file", path.display())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Its first bytes, escaped.
        found: String,
    },
    /// A GGUF version this reader does not read (1: 32-bit lengths; a big-endian file
    /// also lands here, its version read backwards).
    #[error("`{}` is GGUF version {version}; only versions 2 and 3 (little-endian) are read; convert the model again with a recent llama.cpp", path.display())]
    UnsupportedGgufVersion {
        /// The file.
        path: PathBuf,
        /// The version it states.
        version: u32,
    },
    /// The file ends before the metadata does, or a length in it points past its end.
    #[error("`{}` ends early: {what} at byte {offset} needs {needed} bytes but the file has {len}; it is truncated or corrupt, download it again", path.display())]
    GgufTruncated {
        /// The file.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: u64,
        /// How many bytes it needs.
        needed: u64,
        /// The file's size.
        len: u64,
    },
    /// The metadata breaks the GGUF format (an unknown value type, a key that is not
    /// UTF-8, a token id outside the vocabulary, …).
    #[error("`{}` is not a well-formed GGUF file: {detail} (at byte {offset}); download it again", path.display())]
    GgufCorrupt {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A metadata key this reader uses has the wrong value type.
    #[error("the GGUF metadata key `{key}` in `{}` is {found}, not {expected}; the file does not follow the GGUF conventions", path.display())]
    GgufWrongType {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The type it should have.
        expected: &'static str,
        /// The type it has.
        found: &'static str,
    },
    /// The GGUF metadata holds no `tokenizer.chat_template`.
    #[error("the GGUF file `{}` has no `tokenizer.chat_template` metadata (the model may not be a chat model); {GIVE_ONE} or a tokenizer_config.json that has one", path.display())]
    GgufNoTemplate {
        /// The file.
        path: PathBuf,
    },
    /// The tokenizer config is not a JSON object.
    #[error("`{}` is not a readable tokenizer_config.json: {detail}; give the model's tokenizer_config.json from its Hugging Face repository", path.display())]
    TokenizerConfigJson {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The tokenizer config has no `chat_template` (and no `chat_template.jinja` lies
    /// beside it).
    #[error("`{}` has no `chat_template` and there is no chat_template.jinja beside it; {GIVE_ONE}", path.display())]
    TokenizerConfigNoTemplate {
        /// The file.
        path: PathBuf,
    },
    /// A field of the tokenizer config has a shape this reader does not know.
    #[error("`{field}` in `{}` {detail}", path.display())]
    TokenizerConfigField {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// What is wrong, and what to do.
        detail: String,
    },
    /// [`load_local`](super::load_local) was given [`TemplateSource::Backend`](super::TemplateSource::Backend).
    #[error("the chat template comes from the backend; ask it with `CompletionBackend::chat_template` (the local sources are a file, a tokenizer_config.json and a GGUF file)")]
    NotLocal,
    /// The backend's server has no route that serves its chat template.
    #[error("{} does not serve a chat template; {GIVE_ONE}, a GGUF file or a tokenizer_config.json", backend_phrase(*.backend))]
    NotServed {
        /// The endpoint type, where the backend knows it (a wire format does; a
        /// backend with its own I/O that serves no template does not).
        backend: Option<&'static str>,
    },
    /// The backend's server answered, but without a template.
    #[error("the {server} at {uri} answered without a chat template (`{field}` is {state}): its model file has none, or the server is too old to report it; {GIVE_ONE}")]
    BackendHasNoTemplate {
        /// Which server answered.
        server: &'static str,
        /// The full URI that was called.
        uri: String,
        /// The reply's field that should hold it.
        field: &'static str,
        /// `missing`, `null` or `empty`.
        state: &'static str,
    },
    /// Asking the backend failed (connection, status, a reply that is not JSON, …).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// "the `llamacpp` backend", or "this backend".
fn backend_phrase(backend: Option<&str>) -> String {
    match backend {
        Some(name) => format!("the `{name}` backend"),
        None => "this backend".to_owned(),
    }
}

impl TemplateSourceError {
    /// The stable kind: a local source's problem is an invalid wrapper definition, a
    /// source that cannot serve is an invalid request, a failed backend call keeps its
    /// own kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TemplateSourceError::Unreadable { .. }
            | TemplateSourceError::EmptyTemplate { .. }
            | TemplateSourceError::NotGguf { .. }
            | TemplateSourceError::UnsupportedGgufVersion { .. }
            | TemplateSourceError::GgufTruncated { .. }
            | TemplateSourceError::GgufCorrupt { .. }
            | TemplateSourceError::GgufWrongType { .. }
            | TemplateSourceError::GgufNoTemplate { .. }
            | TemplateSourceError::TokenizerConfigJson { .. }
            | TemplateSourceError::TokenizerConfigNoTemplate { .. }
            | TemplateSourceError::TokenizerConfigField { .. } => {
                ErrorKind::InvalidWrapperDefinition
            }
            TemplateSourceError::NotLocal
            | TemplateSourceError::NotServed { .. }
            | TemplateSourceError::BackendHasNoTemplate { .. } => ErrorKind::InvalidRequest,
            TemplateSourceError::Backend(error) => error.kind(),
        }
    }
}
