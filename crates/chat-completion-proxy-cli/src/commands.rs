//! The subcommands and what each one does.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use chat_completion_proxy::{
    available_wrappers, choose_wrapper, repair_json, ChatMessage, FunctionSchema, PromptWrapper,
    RenderRequest, ToolSchema,
};
use clap::{Parser, Subcommand, ValueEnum};

use crate::wrapper_args::WrapperArgs;
use serde::Deserialize;

/// Drop-in replacement for OpenAI's ChatCompletion call on local LLM servers.
#[derive(Debug, Parser)]
#[command(name = "chat-completion-proxy", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines on stderr are written: `text` (one readable line each) or
    /// `json` (one JSON object per line, with the request span's fields).
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The format of the log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (`message` and the
    /// event's fields), `target`, `span` and `spans` (the request's id, model, …).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the registered prompt wrappers, one per line.
    Wrappers,
    /// Read {"messages": [...], "functions"|"tools": [...]} on stdin and print the prompt.
    Render(WrapperArgs),
    /// Read a model's raw output on stdin and print the assistant message as JSON.
    Parse(WrapperArgs),
    /// Read text on stdin and print the JSON value recovered from it on one line.
    Repair,
    /// List the registered endpoint types with their default endpoints, one per line.
    Backends,
    /// Read an OpenAI chat-completion request on stdin, run it against a server, and
    /// print the response JSON.
    Complete(Box<crate::complete::CompleteArgs>),
    /// Run the OpenAI-compatible HTTP server (POST /v1/chat/completions, GET
    /// /v1/models, GET /health, GET /metrics) until SIGINT or SIGTERM.
    Serve(Box<crate::serve::ServeArgs>),
}

/// What `render` reads on stdin.
#[derive(Debug, Deserialize)]
struct RenderInput {
    messages: Vec<ChatMessage>,
    #[serde(default)]
    functions: Option<Vec<FunctionSchema>>,
    #[serde(default)]
    tools: Option<Vec<ToolSchema>>,
}

impl Cli {
    /// The log level when `RUST_LOG` is not set: `info` for `serve` (one line per
    /// request), `warn` for the one-shot commands.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Serve(_) => "info",
            _ => "warn",
        }
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Wrappers => {
            let mut out = String::new();
            for name in available_wrappers() {
                out.push_str(name);
                out.push('\n');
            }
            write_stdout(&out)
        }
        Command::Render(args) => render(&args),
        Command::Parse(args) => parse(&args),
        Command::Backends => write_stdout(&crate::complete::backends()),
        Command::Complete(args) => write_stdout(&crate::complete::complete(&args, &read_stdin()?)?),
        Command::Serve(args) => crate::serve::run(&args, cli.log_format),
        Command::Repair => {
            let text = read_stdin()?;
            let value = repair_json(&text)?;
            write_stdout(&format!("{}\n", serde_json::to_string(&value)?))
        }
    }
}

fn render(args: &WrapperArgs) -> Result<()> {
    let input: RenderInput = serde_json::from_str(&read_stdin()?)
        .context("stdin must be a JSON object {\"messages\": [...], \"functions\": [...]}")?;
    let functions: Vec<FunctionSchema> = match (input.functions, input.tools) {
        (Some(functions), _) => functions,
        (None, Some(tools)) => tools.into_iter().map(|tool| tool.function).collect(),
        (None, None) => Vec::new(),
    };
    let built = args.built_wrapper()?;
    let wrapper: &dyn PromptWrapper = match &built {
        Some(wrapper) => wrapper.as_ref(),
        None => choose_wrapper(&input.messages, args.wrapper.as_deref())?.wrapper,
    };
    // The prompt alone cannot carry an image (a backend's body does, next to its
    // marker): refused by name rather than left out of the text.
    for (i, message) in input.messages.iter().enumerate() {
        if let Some((j, _)) = message.content.as_ref().and_then(|c| c.images().next()) {
            anyhow::bail!(
                "messages[{i}].content[{j}] is an image; `render` prints the text prompt only, so send text parts (`complete` and `serve` forward images to backends that take them)"
            );
        }
    }
    let mut request = RenderRequest::new(&input.messages, &functions);
    request.first_message = args.first_message;
    let prompt = wrapper.render_prompt(&request)?;
    write_stdout(&prompt)
}

fn parse(args: &WrapperArgs) -> Result<()> {
    let raw_output = read_stdin()?;
    let built = args.built_wrapper()?;
    let wrapper: &dyn PromptWrapper = match &built {
        Some(wrapper) => wrapper.as_ref(),
        None => choose_wrapper(&[], args.wrapper.as_deref())?.wrapper,
    };
    let message = wrapper.parse_output(&raw_output, args.first_message)?;
    let response = message.to_response_message(false);
    write_stdout(&format!("{}\n", serde_json::to_string(&response)?))
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read stdin as UTF-8 text")?;
    Ok(text)
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(error).context("cannot write to stdout"),
    }
}
