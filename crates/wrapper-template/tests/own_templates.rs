//! The project's own templates (`tests/templates/*.jinja`, one per construct the engine
//! must handle) rendered on every reference case and compared byte for byte with what
//! Python's jinja2, set up as transformers sets it up, wrote for them
//! (`tests/templates/expected/`, made by `tests/reference/render_reference.py`).

mod support;

use std::path::Path;

use prompt_kit::{ChatMessage, FunctionSchema};
use support::reference;
use wrapper_template::messages::{template_messages, template_tools};

fn templates_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

#[test]
fn every_own_template_matches_the_reference_byte_for_byte() {
    // Setup
    let dir = templates_dir();
    let cases = reference::read_cases(&reference::conversations_path()).unwrap();
    let tokens = reference::read_tokens(&dir.join("tokens.json")).unwrap();
    let templates = reference::templates_in(&dir).unwrap();
    assert!(
        templates.len() >= 10,
        "only {} templates in {}",
        templates.len(),
        dir.display()
    );

    // Exec
    let outcomes: Vec<_> = templates
        .iter()
        .map(|path| reference::compare_template(path, &dir.join("expected"), &cases, &tokens))
        .collect();

    // Check: a missing expected file is a mismatch, never a skip.
    let report: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.mismatches
                .iter()
                .map(move |m| format!("{}: {m}", o.template))
        })
        .collect();
    assert!(
        report.is_empty(),
        "{} mismatches:\n{}",
        report.len(),
        report.join("\n")
    );
    for outcome in &outcomes {
        assert_eq!(outcome.matched, cases.len(), "{}", outcome.template);
    }
}

#[test]
fn the_crlf_template_keeps_its_crlf_line_ends() {
    let bytes = std::fs::read(templates_dir().join("crlf.jinja")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("\r\n"),
        "git turned crlf.jinja's CRLF into LF (see .gitattributes)"
    );
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
}

#[test]
fn the_conversion_is_the_one_the_reference_cases_hold() {
    let text = std::fs::read_to_string(reference::conversations_path()).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let messages: Vec<ChatMessage> =
            serde_json::from_value(case["openai"]["messages"].clone()).unwrap();
        let functions: Vec<FunctionSchema> =
            serde_json::from_value(case["openai"]["functions"].clone()).unwrap();
        assert_eq!(
            serde_json::Value::Array(template_messages(&messages).unwrap()),
            case["messages"],
            "{name}: messages"
        );
        if !case["tools"].is_null() {
            assert_eq!(
                serde_json::Value::Array(template_tools(&functions)),
                case["tools"],
                "{name}: tools"
            );
        }
    }
}
