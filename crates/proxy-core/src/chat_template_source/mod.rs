//! Where a model's Jinja chat template comes from ([`TemplateSource`]), and reading it
//! with its special tokens into a [`ChatTemplateSpec`] for the chat-template wrapper
//! plugin ([`crate::chat_template_plugin`]).
//!
//! The local sources — a template file, a Hugging Face `tokenizer_config.json`, a GGUF
//! file's metadata — are read once at start-up with [`load_local`]. A backend whose
//! server serves its template states so where it is defined
//! ([`ChatTemplateRoute`](crate::backend::wire::ChatTemplateRoute) in its capabilities),
//! and [`CompletionBackend::chat_template`](crate::backend::CompletionBackend::chat_template)
//! asks it ([`TemplateSource::Backend`]). The special tokens always come from the same
//! source as the template.

mod backend;
mod error;
pub mod gguf;
mod tokenizer_config;

use std::path::PathBuf;

pub use crate::chat_template_plugin::ChatTemplateSpec;
pub use error::TemplateSourceError;

pub(crate) use backend::spec_from_reply;

/// Where a model's chat template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// A file holding the Jinja template (`--chat-template-file`), with the special
    /// tokens given beside it (a plain file has none of its own).
    File {
        /// The template file.
        path: PathBuf,
        /// The `bos_token` to render with (`None`: undefined).
        bos_token: Option<String>,
        /// The `eos_token` to render with (`None`: undefined).
        eos_token: Option<String>,
    },
    /// A Hugging Face `tokenizer_config.json`: `chat_template` is a string, or a list
    /// of `{name, template}` (the one named `default` is used); `bos_token` and
    /// `eos_token` are strings or `{"content": …}` objects. Without a `chat_template`,
    /// the `chat_template.jinja` beside it (newer `transformers` save it there).
    TokenizerConfig(PathBuf),
    /// A GGUF model file's metadata: `tokenizer.chat_template`, and the tokens at
    /// `tokenizer.ggml.bos_token_id` and `eos_token_id` in `tokenizer.ggml.tokens`.
    Gguf(PathBuf),
    /// The backend's server serves it (llama.cpp: `GET /props`); asked with
    /// [`CompletionBackend::chat_template`](crate::backend::CompletionBackend::chat_template).
    Backend,
}

impl TemplateSource {
    /// The source in words, for logs and errors ("the file `x.jinja`"); also the
    /// [`ChatTemplateSpec::origin`] of what [`load_local`] reads.
    pub fn describe(&self) -> String {
        match self {
            TemplateSource::File { path, .. } => format!("the file `{}`", path.display()),
            TemplateSource::TokenizerConfig(path) => {
                format!("the tokenizer config `{}`", path.display())
            }
            TemplateSource::Gguf(path) => format!("the GGUF metadata of `{}`", path.display()),
            TemplateSource::Backend => "the backend's server".to_owned(),
        }
    }

    /// It is read from a local file ([`load_local`]), not asked of the backend.
    pub fn is_local(&self) -> bool {
        !matches!(self, TemplateSource::Backend)
    }
}

/// Reads a local source (a file, a tokenizer config, a GGUF file) into a
/// [`ChatTemplateSpec`] carrying `tool_call_format`.
///
/// Errors: [`TemplateSourceError::NotLocal`] for [`TemplateSource::Backend`]; an
/// unreadable file; an empty template; the GGUF and tokenizer-config errors of each
/// source, naming the file and the field.
pub fn load_local(
    source: &TemplateSource,
    tool_call_format: Option<&str>,
) -> Result<ChatTemplateSpec, TemplateSourceError> {
    let origin = source.describe();
    let (template, bos_token, eos_token, origin) = match source {
        TemplateSource::File {
            path,
            bos_token,
            eos_token,
        } => (
            read_text(path)?,
            bos_token.clone(),
            eos_token.clone(),
            origin,
        ),
        TemplateSource::TokenizerConfig(path) => {
            let read = tokenizer_config::read(path)?;
            let origin = match read.note {
                Some(note) => format!("{origin} ({note})"),
                None => origin,
            };
            (read.template, read.bos_token, read.eos_token, origin)
        }
        TemplateSource::Gguf(path) => {
            let read = gguf::read_chat_template(path)?;
            (read.template, read.bos_token, read.eos_token, origin)
        }
        TemplateSource::Backend => return Err(TemplateSourceError::NotLocal),
    };
    if template.trim().is_empty() {
        return Err(TemplateSourceError::EmptyTemplate { origin });
    }
    Ok(ChatTemplateSpec {
        source: template,
        bos_token,
        eos_token,
        origin,
        tool_call_format: tool_call_format.map(str::to_owned),
    })
}

/// A text file's contents.
fn read_text(path: &std::path::Path) -> Result<String, TemplateSourceError> {
    std::fs::read_to_string(path).map_err(|error| TemplateSourceError::Unreadable {
        path: path.to_owned(),
        detail: error.to_string(),
    })
}

#[cfg(test)]
mod test_files;
#[cfg(test)]
mod tests;
