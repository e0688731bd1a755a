//! Compares the renderer with Python's jinja2 (transformers' settings) on a folder of
//! chat templates: `cargo xtask chat-templates` runs it on the shared templates of
//! public models, whose expected outputs are made on the spot and never committed.
//!
//! Reads `CCP_CHAT_TEMPLATES_DIR` (the `*.jinja` files and their `sources.json`) and
//! `CCP_CHAT_TEMPLATES_EXPECTED` (what `tests/reference/render_reference.py` wrote),
//! prints a table (template, cases matched / total) and every mismatch, and exits
//! non-zero unless every case of every template matches.

#[path = "../tests/support/reference.rs"]
mod reference;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("compare_reference: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let var = |name: &str| {
        std::env::var_os(name).map(PathBuf::from).ok_or(format!(
            "{name} is not set: run `cargo xtask chat-templates`, which renders the reference outputs and sets it"
        ))
    };
    let dir = var("CCP_CHAT_TEMPLATES_DIR")?;
    let expected = var("CCP_CHAT_TEMPLATES_EXPECTED")?;
    let cases = reference::read_cases(&reference::conversations_path())?;
    let tokens = reference::read_tokens(&dir.join("sources.json"))?;
    let templates = reference::templates_in(&dir)?;
    if templates.is_empty() {
        return Err(format!("no *.jinja file in {}", dir.display()));
    }
    let outcomes: Vec<_> = templates
        .iter()
        .map(|path| reference::compare_template(path, &expected, &cases, &tokens))
        .collect();
    let width = outcomes.iter().map(|o| o.template.len()).max().unwrap_or(8);
    println!("{:width$}  matched", "template");
    for outcome in &outcomes {
        println!(
            "{:width$}  {:>2} / {}",
            outcome.template, outcome.matched, outcome.total
        );
    }
    let (matched, total) = outcomes
        .iter()
        .fold((0, 0), |(m, t), o| (m + o.matched, t + o.total));
    println!("{:width$}  {matched} / {total}", "all");
    let mut all_match = true;
    for outcome in &outcomes {
        for mismatch in &outcome.mismatches {
            all_match = false;
            println!("MISMATCH {}: {mismatch}", outcome.template);
        }
        if outcome.matched != outcome.total {
            all_match = false;
        }
    }
    Ok(all_match)
}
