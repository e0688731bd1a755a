//! Which wrapper serves a request: the summarizer special case, the named wrapper, or
//! the default.

use std::path::PathBuf;
use std::sync::Once;

use crate::chat::ChatMessage;
use crate::chat_template_source::TemplateSource;
use crate::orchestrator::WrapperSelection;
use crate::registry::{find_wrapper, wrapper_registry, RegistryError};
use crate::wrapper::PromptWrapper;
pub use prompt_kit::summarizer::{
    is_summarizer_request, DEFAULT_WRAPPER, SUMMARIZER_SYSTEM_PROMPT, SUMMARY_WRAPPER,
};

/// The wrapper chosen for a request.
#[derive(Clone, Copy)]
pub struct ChosenWrapper {
    /// The registered name of the wrapper.
    pub name: &'static str,
    /// The wrapper.
    pub wrapper: &'static dyn PromptWrapper,
}

impl std::fmt::Debug for ChosenWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChosenWrapper")
            .field("name", &self.name)
            .finish()
    }
}

/// Picks the wrapper for a request: the summary wrapper for summarizer requests, else
/// the requested one, else [`DEFAULT_WRAPPER`] (logging a warning once per process).
pub fn choose_wrapper(
    messages: &[ChatMessage],
    requested: Option<&str>,
) -> Result<ChosenWrapper, RegistryError> {
    if is_summarizer_request(messages) {
        if let Ok(wrapper) = find_wrapper(SUMMARY_WRAPPER) {
            return Ok(ChosenWrapper {
                name: SUMMARY_WRAPPER,
                wrapper,
            });
        }
        tracing::warn!(
            "summarizer request, but the `{SUMMARY_WRAPPER}` wrapper is not compiled in; using the requested wrapper"
        );
    }
    let name = match requested {
        Some(name) => name,
        None => {
            warn_default_wrapper_once();
            DEFAULT_WRAPPER
        }
    };
    let (name, entry) = wrapper_registry().resolve(name)?;
    Ok(ChosenWrapper {
        name,
        wrapper: entry.wrapper.as_ref(),
    })
}

static DEFAULT_WRAPPER_WARNING: Once = Once::new();

fn warn_default_wrapper_once() {
    DEFAULT_WRAPPER_WARNING.call_once(|| {
        tracing::warn!(
            "no wrapper specified, using the default wrapper `{DEFAULT_WRAPPER}` (name one with --wrapper to remove this warning)"
        );
    });
}

/// The ways a model's own chat template may be named, as the server config's keys and
/// the CLI's flags name them (`chat_template_file` / `--chat-template-file`, …); at
/// most one source, and the special tokens only with a template file, whose tokens
/// come from nowhere else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatTemplateSettings {
    /// A Jinja template file.
    pub chat_template_file: Option<PathBuf>,
    /// The `bos_token` a template file is rendered with.
    pub bos_token: Option<String>,
    /// The `eos_token` a template file is rendered with (also a stop string).
    pub eos_token: Option<String>,
    /// A Hugging Face `tokenizer_config.json` (template and special tokens).
    pub tokenizer_config: Option<PathBuf>,
    /// A GGUF model file whose metadata holds the template and the special tokens.
    pub chat_template_gguf: Option<PathBuf>,
    /// The template the backend serves (llama.cpp's `/props`), fetched on the first
    /// request and kept.
    pub chat_template_from_backend: bool,
    /// The model's tool-call format (`hermes`, `llama3-json`, `mistral`, `json`);
    /// `None`: read off the template.
    pub tool_call_format: Option<String>,
}

impl ChatTemplateSettings {
    /// The template wrapper these settings name, `None` when they name no template.
    ///
    /// Errors (naming the setting, as `keys` spells the setting names: the config's
    /// `chat_template_file` or the CLI's `--chat-template-file`): two sources, special
    /// tokens without a template file, a tool-call format without a template.
    pub fn selection(&self, keys: SettingNames) -> Result<Option<WrapperSelection>, String> {
        let sources: Vec<(&str, Option<TemplateSource>)> = vec![
            (
                keys.chat_template_file,
                self.chat_template_file
                    .as_ref()
                    .map(|path| TemplateSource::File {
                        path: path.clone(),
                        bos_token: self.bos_token.clone(),
                        eos_token: self.eos_token.clone(),
                    }),
            ),
            (
                keys.tokenizer_config,
                self.tokenizer_config
                    .clone()
                    .map(TemplateSource::TokenizerConfig),
            ),
            (
                keys.chat_template_gguf,
                self.chat_template_gguf.clone().map(TemplateSource::Gguf),
            ),
            (
                keys.chat_template_from_backend,
                self.chat_template_from_backend
                    .then_some(TemplateSource::Backend),
            ),
        ];
        let mut given = sources
            .into_iter()
            .filter_map(|(name, source)| source.map(|source| (name, source)));
        let first = given.next();
        if let (Some((first, _)), Some((second, _))) = (&first, given.next()) {
            return Err(format!(
                "give one chat-template source, not both `{first}` and `{second}`"
            ));
        }
        if self.chat_template_file.is_none() {
            for (name, token) in [
                (keys.bos_token, &self.bos_token),
                (keys.eos_token, &self.eos_token),
            ] {
                if token.is_some() {
                    return Err(format!(
                        "`{name}` goes with `{}` only (the other sources carry their own special tokens)",
                        keys.chat_template_file
                    ));
                }
            }
        }
        match first {
            Some((_, source)) => Ok(Some(WrapperSelection::Template {
                source,
                tool_call_format: self.tool_call_format.clone(),
            })),
            None if self.tool_call_format.is_some() => Err(format!(
                "`{}` needs a chat template (`{}`, `{}`, `{}` or `{}`)",
                keys.tool_call_format,
                keys.chat_template_file,
                keys.tokenizer_config,
                keys.chat_template_gguf,
                keys.chat_template_from_backend
            )),
            None => Ok(None),
        }
    }
}

/// How the settings of [`ChatTemplateSettings`] are spelled where they were given, for
/// its errors.
#[derive(Debug, Clone, Copy)]
pub struct SettingNames {
    /// [`ChatTemplateSettings::chat_template_file`].
    pub chat_template_file: &'static str,
    /// [`ChatTemplateSettings::bos_token`].
    pub bos_token: &'static str,
    /// [`ChatTemplateSettings::eos_token`].
    pub eos_token: &'static str,
    /// [`ChatTemplateSettings::tokenizer_config`].
    pub tokenizer_config: &'static str,
    /// [`ChatTemplateSettings::chat_template_gguf`].
    pub chat_template_gguf: &'static str,
    /// [`ChatTemplateSettings::chat_template_from_backend`].
    pub chat_template_from_backend: &'static str,
    /// [`ChatTemplateSettings::tool_call_format`].
    pub tool_call_format: &'static str,
}

impl SettingNames {
    /// The server config's keys.
    pub const CONFIG: SettingNames = SettingNames {
        chat_template_file: "chat_template_file",
        bos_token: "bos_token",
        eos_token: "eos_token",
        tokenizer_config: "tokenizer_config",
        chat_template_gguf: "chat_template_gguf",
        chat_template_from_backend: "chat_template_from_backend",
        tool_call_format: "tool_call_format",
    };

    /// The command line's flags.
    pub const FLAGS: SettingNames = SettingNames {
        chat_template_file: "--chat-template-file",
        bos_token: "--bos-token",
        eos_token: "--eos-token",
        tokenizer_config: "--tokenizer-config",
        chat_template_gguf: "--chat-template-gguf",
        chat_template_from_backend: "--chat-template-from-backend",
        tool_call_format: "--tool-call-format",
    };
}

#[cfg(test)]
mod template_settings_tests {
    use super::*;

    #[test]
    fn one_source_makes_a_template_selection() {
        let settings = ChatTemplateSettings {
            chat_template_gguf: Some("m.gguf".into()),
            tool_call_format: Some("hermes".into()),
            ..ChatTemplateSettings::default()
        };
        match settings.selection(SettingNames::CONFIG) {
            Ok(Some(WrapperSelection::Template {
                source: TemplateSource::Gguf(path),
                tool_call_format,
            })) => {
                assert_eq!(path, PathBuf::from("m.gguf"));
                assert_eq!(tool_call_format.as_deref(), Some("hermes"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ChatTemplateSettings::default()
                .selection(SettingNames::CONFIG)
                .map(|selection| selection.is_none()),
            Ok(true)
        );
    }

    #[test]
    fn conflicting_or_stray_settings_are_refused_by_name() {
        let two = ChatTemplateSettings {
            chat_template_file: Some("t.jinja".into()),
            chat_template_from_backend: true,
            ..ChatTemplateSettings::default()
        };
        let error = two.selection(SettingNames::FLAGS).unwrap_err();
        assert!(
            error.contains("--chat-template-file")
                && error.contains("--chat-template-from-backend"),
            "{error}"
        );
        let stray_token = ChatTemplateSettings {
            tokenizer_config: Some("tokenizer_config.json".into()),
            eos_token: Some("</s>".into()),
            ..ChatTemplateSettings::default()
        };
        let error = stray_token.selection(SettingNames::CONFIG).unwrap_err();
        assert!(
            error.contains("`eos_token` goes with `chat_template_file`"),
            "{error}"
        );
        let format_alone = ChatTemplateSettings {
            tool_call_format: Some("json".into()),
            ..ChatTemplateSettings::default()
        };
        let error = format_alone.selection(SettingNames::CONFIG).unwrap_err();
        assert!(
            error.starts_with("`tool_call_format` needs a chat template"),
            "{error}"
        );
    }
}
