//! Shared by `tests/own_templates.rs` and `examples/compare_reference.rs`: renders
//! templates on the reference conversations (`tests/reference/conversations.json`)
//! and compares each case with what `tests/reference/render_reference.py` (Python's
//! jinja2 with transformers' settings) wrote for it, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use time::PrimitiveDateTime;
use wrapper_template::render::{ChatTemplate, Clock, TemplateContext, TemplateError};

/// The reference conversations file.
pub fn conversations_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/conversations.json")
}

/// One case of the conversations file.
pub struct Case {
    /// The case's name (the key in the expected files).
    pub name: String,
    /// What the template gets (special tokens are added per template).
    pub context: TemplateContext,
}

/// The conversations file: its cases and the fixed clock.
pub fn read_cases(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let now = file["now"]
        .as_str()
        .ok_or("conversations file has no `now`")?;
    let format = time::format_description::well_known::Iso8601::DEFAULT;
    let now = PrimitiveDateTime::parse(now, &format).map_err(|e| format!("`now` {now}: {e}"))?;
    let cases = file["cases"]
        .as_array()
        .ok_or("conversations file has no `cases`")?;
    cases
        .iter()
        .map(|case| {
            let name = case["name"]
                .as_str()
                .ok_or("a case has no name")?
                .to_owned();
            let messages = case["messages"]
                .as_array()
                .ok_or(format!("{name}: no messages"))?
                .clone();
            let tools = case["tools"].as_array().cloned();
            Ok(Case {
                context: TemplateContext {
                    messages,
                    tools,
                    add_generation_prompt: case["add_generation_prompt"].as_bool().unwrap_or(false),
                    bos_token: None,
                    eos_token: None,
                    now: Clock::Fixed(now),
                },
                name,
            })
        })
        .collect()
}

/// Per template file name: its `bos_token` and `eos_token` (`None`: not given).
pub type Tokens = BTreeMap<String, (Option<String>, Option<String>)>;

/// The special tokens per template file name (`{"x.jinja": {"special_tokens": {...}}}`,
/// the shape of the shared folder's `sources.json`).
pub fn read_tokens(path: &Path) -> Result<Tokens, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut tokens = BTreeMap::new();
    for (name, entry) in file.as_object().into_iter().flatten() {
        let special = &entry["special_tokens"];
        let token = |key: &str| special[key].as_str().map(str::to_owned);
        tokens.insert(name.clone(), (token("bos_token"), token("eos_token")));
    }
    Ok(tokens)
}

/// How one template fared.
pub struct Outcome {
    /// The template's file name.
    pub template: String,
    /// Cases that matched.
    pub matched: usize,
    /// Cases compared.
    pub total: usize,
    /// One line per case that did not match.
    pub mismatches: Vec<String>,
}

/// Renders `template_path` on every case and compares with the expected file
/// `expected_dir/<stem>.json` (a missing file is a failure of every case).
pub fn compare_template(
    template_path: &Path,
    expected_dir: &Path,
    cases: &[Case],
    tokens: &Tokens,
) -> Outcome {
    let file_name = template_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = template_path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut outcome = Outcome {
        template: file_name.clone(),
        matched: 0,
        total: cases.len(),
        mismatches: Vec::new(),
    };
    let expected_path = expected_dir.join(format!("{stem}.json"));
    let expected: Value = match std::fs::read_to_string(&expected_path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(expected) => expected,
        Err(error) => {
            outcome.mismatches.push(format!(
                "no expected outputs at {}: {error}",
                expected_path.display()
            ));
            return outcome;
        }
    };
    let source = match std::fs::read_to_string(template_path) {
        Ok(source) => source,
        Err(error) => {
            outcome
                .mismatches
                .push(format!("cannot read {}: {error}", template_path.display()));
            return outcome;
        }
    };
    let template = match ChatTemplate::compile(&source) {
        Ok(template) => template,
        Err(error) => {
            if expected.get("__compile__").is_some() {
                outcome.total = 1;
                outcome.matched = 1;
            } else {
                outcome
                    .mismatches
                    .push(format!("does not compile here: {error}"));
            }
            return outcome;
        }
    };
    let (bos, eos) = tokens.get(&file_name).cloned().unwrap_or_default();
    for case in cases {
        let mut context = case.context.clone();
        context.bos_token = bos.clone();
        context.eos_token = eos.clone();
        let got = template.render(&context);
        match compare(&expected[case.name.as_str()], &got) {
            Ok(()) => outcome.matched += 1,
            Err(why) => outcome.mismatches.push(format!("{}: {why}", case.name)),
        }
    }
    outcome
}

/// Whether a rendered case is what the reference wrote for it.
fn compare(expected: &Value, got: &Result<String, TemplateError>) -> Result<(), String> {
    match (expected, got) {
        (Value::String(want), Ok(text)) if want == text => Ok(()),
        (Value::String(want), Ok(text)) => Err(first_difference(want, text)),
        (Value::String(_), Err(error)) => Err(format!("the reference renders it, here: {error}")),
        (Value::Object(error), result) => {
            let message = error
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let raised = error
                .get("raised")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match result {
                Ok(_) => Err(format!("the reference fails ({message}), here it renders")),
                Err(TemplateError::Raised(got)) if raised && got == message => Ok(()),
                Err(other) if raised => {
                    Err(format!("the template raised `{message}`, here: {other}"))
                }
                Err(_) => Ok(()),
            }
        }
        (Value::Null, _) => Err("no expected output for this case".to_owned()),
        (other, _) => Err(format!("unreadable expected output {other}")),
    }
}

/// Where two texts first differ, with a little context on each side.
fn first_difference(want: &str, got: &str) -> String {
    let at = want
        .char_indices()
        .zip(got.chars())
        .find(|((_, a), b)| a != b)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| want.len().min(got.len()));
    let start = want[..at]
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(i, _)| i);
    let window = |text: &str| {
        text.get(start..)
            .unwrap_or("")
            .chars()
            .take(100)
            .collect::<String>()
    };
    format!(
        "differs at byte {at} (lengths {} and {}):\n    want {:?}\n    got  {:?}",
        want.len(),
        got.len(),
        window(want),
        window(got)
    )
}

/// The `*.jinja` files of a folder, sorted.
pub fn templates_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut templates: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jinja"))
        .collect();
    templates.sort();
    Ok(templates)
}
