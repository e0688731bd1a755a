//! The chat-template flags `render`, `parse`, `complete` and `serve` share: where the
//! model's own Jinja chat template comes from.

use std::path::PathBuf;

use anyhow::{bail, Result};
use chat_completion_proxy::chat_template_source::load_local;
use chat_completion_proxy::wrapper_choice::{ChatTemplateSettings, SettingNames};
use chat_completion_proxy::{build_chat_template_wrapper, PromptWrapper, WrapperSelection};
use clap::Args;

/// The model's own chat template, from one source.
#[derive(Debug, Args, Default)]
pub(crate) struct ChatTemplateArgs {
    /// Render prompts with this Jinja chat template file (the model's own format);
    /// give its special tokens with --bos-token / --eos-token.
    #[arg(long, value_name = "PATH")]
    pub(crate) chat_template_file: Option<PathBuf>,
    /// The `bos_token` a --chat-template-file is rendered with.
    #[arg(long, value_name = "TEXT", requires = "chat_template_file")]
    pub(crate) bos_token: Option<String>,
    /// The `eos_token` a --chat-template-file is rendered with (also a stop string).
    #[arg(long, value_name = "TEXT", requires = "chat_template_file")]
    pub(crate) eos_token: Option<String>,
    /// Use the chat template and special tokens of this `tokenizer_config.json`.
    #[arg(long, value_name = "PATH")]
    pub(crate) tokenizer_config: Option<PathBuf>,
    /// Use the chat template and special tokens in this GGUF model file's metadata.
    #[arg(long, value_name = "PATH")]
    pub(crate) chat_template_gguf: Option<PathBuf>,
    /// The model's tool-call format with a chat template: hermes, llama3-json,
    /// mistral or json (default: read off the template).
    #[arg(long, value_name = "NAME")]
    pub(crate) tool_call_format: Option<String>,
}

impl ChatTemplateArgs {
    /// The settings these flags give, with `from_backend` for the flag only the
    /// commands that call a backend have.
    pub(crate) fn settings(&self, from_backend: bool) -> ChatTemplateSettings {
        ChatTemplateSettings {
            chat_template_file: self.chat_template_file.clone(),
            bos_token: self.bos_token.clone(),
            eos_token: self.eos_token.clone(),
            tokenizer_config: self.tokenizer_config.clone(),
            chat_template_gguf: self.chat_template_gguf.clone(),
            chat_template_from_backend: from_backend,
            tool_call_format: self.tool_call_format.clone(),
        }
    }

    /// The flags given, for "these flags go in the config" errors.
    pub(crate) fn given(&self) -> Vec<&'static str> {
        let names = SettingNames::FLAGS;
        [
            (names.chat_template_file, self.chat_template_file.is_some()),
            (names.bos_token, self.bos_token.is_some()),
            (names.eos_token, self.eos_token.is_some()),
            (names.tokenizer_config, self.tokenizer_config.is_some()),
            (names.chat_template_gguf, self.chat_template_gguf.is_some()),
            (names.tool_call_format, self.tool_call_format.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// The wrapper selection these flags make (`None`: no template named).
    pub(crate) fn selection(&self, from_backend: bool) -> Result<Option<WrapperSelection>> {
        match self.settings(from_backend).selection(SettingNames::FLAGS) {
            Ok(selection) => Ok(selection),
            Err(reason) => bail!("{reason}"),
        }
    }

    /// For `render` and `parse`, which call no backend: the wrapper of a local
    /// template, built now (`None`: no template named).
    pub(crate) fn local_wrapper(&self) -> Result<Option<Box<dyn PromptWrapper>>> {
        let Some(WrapperSelection::Template {
            source,
            tool_call_format,
        }) = self.selection(false)?
        else {
            return Ok(None);
        };
        let spec = load_local(&source, tool_call_format.as_deref())?;
        Ok(Some(build_chat_template_wrapper(&spec)?))
    }
}
