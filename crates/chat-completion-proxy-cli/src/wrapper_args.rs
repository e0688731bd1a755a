//! The wrapper arguments `render`, `parse` and `complete` share.

use std::path::PathBuf;

use clap::Args;

/// How the wrapper is chosen.
#[derive(Debug, Args)]
pub(crate) struct WrapperArgs {
    /// A registered wrapper name (see `wrappers`); the default is `chatml` (for
    /// `complete`, a request's `wrapper` field wins).
    #[arg(long, conflicts_with = "wrapper_file")]
    pub(crate) wrapper: Option<String>,
    /// A user-defined wrapper file (TOML, see the README).
    #[arg(long, value_name = "PATH")]
    pub(crate) wrapper_file: Option<PathBuf>,
    /// Pre-seed the agent's first reply with `send_message` (wrappers that support it).
    #[arg(long)]
    pub(crate) first_message: bool,
}
