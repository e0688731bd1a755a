//! Logging, set up once for every command: `tracing` events on stderr as readable
//! lines or, with `--log-format json`, one JSON object per line. The lines the CLI
//! writes itself whatever the filter (`serve`'s banner, the final error) follow the
//! same format, so a JSON log holds nothing but JSON.

use std::io::{IsTerminal, Write};

use serde_json::{json, Map, Value};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use crate::commands::LogFormat;

/// Installs the subscriber: `RUST_LOG`, else `default_filter`; `format` as asked.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// Writes one line on stderr whatever the filter: `text` as it is, or in JSON the
/// shape of the subscriber's lines (`timestamp`, `level`, `fields` with `message` and
/// `fields`, `target`). A write error is ignored (stderr is gone).
pub fn write_line(format: LogFormat, level: &str, text: &str, fields: Map<String, Value>) {
    let line = match format {
        LogFormat::Text => text.to_owned(),
        LogFormat::Json => {
            let mut timestamp = String::new();
            let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
            let mut all = fields;
            all.insert("message".into(), json!(text));
            json!({
                "timestamp": timestamp,
                "level": level,
                "fields": all,
                "target": "chat_completion_proxy",
            })
            .to_string()
        }
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}
