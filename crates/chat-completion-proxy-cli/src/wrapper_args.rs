//! The wrapper arguments `render`, `parse` and `complete` share.

use std::path::PathBuf;

use clap::Args;

/// How the wrapper is chosen.
#[derive(Debug, Args)]
pub(crate) struct WrapperArgs {
    /// A registered wrapper name (see `wrappers`); the default is `chatml` (for
    /// `complete`, a request's `wrapper` field wins).
    #[arg(long, conflicts_with_all = ["wrapper_file", "chat_template_file", "tokenizer_config", "chat_template_gguf"])]
    pub(crate) wrapper: Option<String>,
    /// A user-defined wrapper file (TOML, see the README).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["chat_template_file", "tokenizer_config", "chat_template_gguf"])]
    pub(crate) wrapper_file: Option<PathBuf>,
    /// The model's own chat template instead of a named wrapper.
    #[command(flatten)]
    pub(crate) template: crate::template_args::ChatTemplateArgs,
    /// Pre-seed the agent's first reply with `send_message` (wrappers that support it).
    #[arg(long)]
    pub(crate) first_message: bool,
}

impl WrapperArgs {
    /// For `render` and `parse`: the wrapper a template or a wrapper file names, built
    /// now; `None`: a registered wrapper (`--wrapper`, or the default).
    pub(crate) fn built_wrapper(
        &self,
    ) -> anyhow::Result<Option<Box<dyn chat_completion_proxy::PromptWrapper>>> {
        if let Some(path) = &self.wrapper_file {
            return Ok(Some(chat_completion_proxy::load_wrapper_file(path)?));
        }
        self.template.local_wrapper()
    }
}
