//! `chat-completion-proxy`: the command-line face of the library (SPEC §9).
//!
//! Every error is printed as one line on stderr with a non-zero exit status.

mod commands;
mod complete;
mod logging;
mod serve;
mod template_args;
mod wrapper_args;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::{Cli, LogFormat};

/// mimalloc instead of the system allocator: under load, `serve` spent a sixth of its
/// time in glibc's malloc/free (measured with `perf` during `cargo xtask bench`). Built
/// without transparent huge pages (feature `no_thp`), which otherwise raised the peak
/// resident memory at concurrency 512 from about 42 to 62 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    logging::init(format, cli.default_log_filter());
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}").replace('\n', "\\n");
            let text = match format {
                LogFormat::Text => format!("error: {message}"),
                LogFormat::Json => message,
            };
            logging::write_line(format, "ERROR", &text, serde_json::Map::new());
            ExitCode::FAILURE
        }
    }
}
