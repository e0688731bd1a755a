//! Every reference prompt, rendered byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::{find_wrapper, RenderRequest};
use workspace_tests::{label, load_fixture, PromptCase, PromptFixtures};

fn render(case: &PromptCase) -> Result<String, String> {
    let wrapper = find_wrapper(&case.wrapper).map_err(|e| e.to_string())?;
    let functions = case.functions.clone().unwrap_or_default();
    let mut request = RenderRequest::new(&case.messages, &functions);
    request.first_message = case.first_message;
    wrapper.render_prompt(&request).map_err(|e| e.to_string())
}

fn first_difference(expected: &str, got: &str) -> String {
    let at = expected
        .char_indices()
        .zip(got.chars())
        .find(|((_, a), b)| a != b)
        .map(|((i, _), _)| i)
        .unwrap_or(expected.len().min(got.len()));
    let start = expected.floor_char_boundary(at.saturating_sub(60));
    let got_start = got.floor_char_boundary(at.saturating_sub(60));
    format!(
        "at byte {at}:\n    expected: {:?}\n    got:      {:?}",
        &expected[start..expected.ceil_char_boundary((at + 60).min(expected.len()))],
        &got[got_start..got.ceil_char_boundary((at + 60).min(got.len()))]
    )
}

fn check_all(cases: &[PromptCase]) {
    let mut failures = Vec::new();
    for case in cases {
        let name = label(&[
            &case.case,
            &case.wrapper,
            if case.first_message {
                "first_message"
            } else {
                ""
            },
        ]);
        match render(case) {
            Ok(prompt) if prompt == case.expected_prompt => {}
            Ok(prompt) => failures.push(format!(
                "{name}: {}",
                first_difference(&case.expected_prompt, &prompt)
            )),
            Err(error) => failures.push(format!("{name}: error: {error}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} prompt cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_reference_prompt_renders_byte_for_byte() {
    let fixtures: PromptFixtures = load_fixture("reference-prompts.json");
    assert!(!fixtures.prompts.is_empty());
    check_all(&fixtures.prompts);
}

#[test]
fn every_reference_summary_prompt_renders_byte_for_byte() {
    let fixtures: PromptFixtures = load_fixture("reference-prompts.json");
    assert!(!fixtures.summary_prompts.is_empty());
    check_all(&fixtures.summary_prompts);
}
