//! Every reference parse: role, content, function name and parsed arguments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::find_wrapper;
use serde_json::Value;
use workspace_tests::{label, load_fixture, ParseCase, ParseFixtures};

/// `(content, function name, parsed arguments)` of the reference's message.
fn expected_parts(message: &Value) -> (Value, Option<String>, Option<Value>) {
    let content = message.get("content").cloned().unwrap_or(Value::Null);
    let call = message.get("function_call").filter(|call| !call.is_null());
    let name = call
        .and_then(|call| call.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let arguments = call
        .and_then(|call| call.get("arguments"))
        .and_then(Value::as_str)
        .map(|text| serde_json::from_str(text).unwrap_or(Value::String(text.to_owned())));
    (content, name, arguments)
}

fn check(case: &ParseCase) -> Result<(), String> {
    let wrapper = find_wrapper(&case.wrapper).map_err(|e| e.to_string())?;
    let message = wrapper
        .parse_output(&case.raw_output, case.first_message)
        .map_err(|e| format!("error: {e}"))?;
    assert_eq!(
        case.expected_message.get("role").and_then(Value::as_str),
        Some("assistant")
    );
    if message.function_calls.len() > 1 {
        return Err(format!(
            "{} calls where the reference reads one",
            message.function_calls.len()
        ));
    }
    let call = message.function_calls.into_iter().next();
    let got = (
        message.content.map(Value::String).unwrap_or(Value::Null),
        call.as_ref().map(|call| call.name.clone()),
        call.map(|call| call.arguments),
    );
    let expected = expected_parts(&case.expected_message);
    if got == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}\n    got      {got:?}"))
    }
}

#[test]
fn every_reference_parse_recovers_the_same_message() {
    let fixtures: ParseFixtures = load_fixture("reference-parses.json");
    assert!(!fixtures.parses.is_empty());
    let failures: Vec<String> = fixtures
        .parses
        .iter()
        .filter_map(|case| {
            check(case).err().map(|why| {
                format!(
                    "{}: {why}",
                    label(&[
                        &case.wrapper,
                        &case.mutation,
                        if case.first_message {
                            "first_message"
                        } else {
                            ""
                        }
                    ])
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} parse cases differ:\n{}",
        failures.len(),
        fixtures.parses.len(),
        failures.join("\n")
    );
}

/// Reading with parallel tool calls on changes nothing for a reference reply that
/// holds one answer: every case reads as the one-answer parse does, except those whose
/// raw output holds two or more answer objects one after another (then the first call
/// is the reference's and more may follow).
#[test]
fn parallel_reading_agrees_with_the_reference_on_one_answer() {
    let fixtures: ParseFixtures = load_fixture("reference-parses.json");
    let mut several = 0;
    let mut failures = Vec::new();
    for case in &fixtures.parses {
        let wrapper = find_wrapper(&case.wrapper).unwrap();
        let one = wrapper
            .parse_output(&case.raw_output, case.first_message)
            .map_err(|e| e.to_string());
        let parallel = wrapper
            .parse_parallel_output(&case.raw_output, case.first_message)
            .map_err(|e| e.to_string());
        if one == parallel {
            continue;
        }
        let first_call_agrees = matches!((&one, &parallel), (Ok(one), Ok(parallel))
            if parallel.function_calls.len() > 1
                && parallel.function_calls.first() == one.function_calls.first());
        if first_call_agrees {
            several += 1;
        } else {
            failures.push(format!(
                "{}: one {one:?}\n    parallel {parallel:?}",
                label(&[&case.wrapper, &case.mutation])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases read differently:\n{}",
        failures.len(),
        fixtures.parses.len(),
        failures.join("\n")
    );
    println!(
        "{several} of {} reference replies hold several answers",
        fixtures.parses.len()
    );
}
