//! The answer shapes: both styles, accepted and rejected answers, names, errors.

use proxy_core::grammar::{registered_grammar_generator, GrammarError, GrammarGenerator};
use proxy_core::inner_monologue::{forced_call, optional_call, reply_json};
use serde_json::json;

use super::*;

#[test]
fn forced_answers_that_the_parser_reads_are_accepted() {
    let (_, grammar) = generate(&memgpt_functions(), IN_PARAMS);
    for answer in FORCED_ANSWERS {
        let json = reply_json(answer).unwrap();
        forced_call(&json, answer).unwrap();
        assert!(accepts(&grammar, answer), "{answer}");
    }
}

#[test]
fn noforce_answers_that_the_parser_reads_are_accepted() {
    let (_, grammar) = generate(&memgpt_functions(), TOP_LEVEL);
    for answer in NOFORCE_ANSWERS {
        let json = reply_json(answer).unwrap();
        optional_call(&json, answer).unwrap();
        assert!(accepts(&grammar, answer), "{answer}");
    }
}

#[test]
fn wrong_forced_answers_are_rejected() {
    let (_, grammar) = generate(&memgpt_functions(), IN_PARAMS);
    let wrong = [
        // an unknown function
        r#"{"function": "send_email", "params": {"inner_thoughts": "t", "message": "m"}}"#,
        // a missing required param
        r#"{"function": "send_message", "params": {"inner_thoughts": "t"}}"#,
        // inner thoughts not first
        r#"{"function": "send_message", "params": {"message": "m", "inner_thoughts": "t"}}"#,
        // inner thoughts missing
        r#"{"function": "send_message", "params": {"message": "m"}}"#,
        // the wrong type
        r#"{"function": "pause_heartbeats", "params": {"inner_thoughts": "t", "minutes": "5"}}"#,
        r#"{"function": "core_memory_append", "params": {"inner_thoughts": "t", "name": "human", "content": "c", "request_heartbeat": "yes"}}"#,
        // another function's params
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "minutes": 5}}"#,
        // an undeclared param
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m", "request_heartbeat": true}}"#,
        // the noforce shape
        r#"{"inner_thoughts": "t", "function": "send_message", "params": {"message": "m"}}"#,
        // text after the answer, text before it
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}} ok"#,
        r#"Sure: {"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#,
    ];
    for answer in wrong {
        assert!(!accepts(&grammar, answer), "{answer}");
    }
}

#[test]
fn wrong_noforce_answers_are_rejected() {
    let (_, grammar) = generate(&memgpt_functions(), TOP_LEVEL);
    let wrong = [
        r#"{"function": "send_message", "params": {"message": "m"}}"#,
        r#"{"inner_thoughts": "t", "function": "send_message"}"#,
        r#"{"inner_thoughts": "t", "function": "nope", "params": {}}"#,
        r#"{"inner_thoughts": "t", "function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#,
        r#"{"inner_thoughts": 5}"#,
    ];
    for answer in wrong {
        assert!(!accepts(&grammar, answer), "{answer}");
    }
}

#[test]
fn the_grammar_has_one_alternative_per_function_with_its_own_params() {
    let (text, _) = generate(&memgpt_functions(), IN_PARAMS);
    assert!(text.starts_with("root ::= ws \"{\" ws \"\\\"function\\\":\" ws call ws \"}\"\n"));
    assert!(text.contains(
        "\ncall ::= send-message-call | pause-heartbeats-call | core-memory-append-call | archival-memory-search-call\n"
    ));
    assert!(text.contains(
        "\nsend-message-call ::= \"\\\"send_message\\\"\" \",\" ws \"\\\"params\\\":\" ws send-message-params\n"
    ));
    assert!(text.contains(
        "\nsend-message-params ::= \"{\" ws \"\\\"inner_thoughts\\\":\" ws string \",\" ws \"\\\"message\\\":\" ws string ws \"}\"\n"
    ));
    assert!(text.ends_with('\n'));
    assert!(
        text.lines().all(|line| line.contains(" ::= ")),
        "one rule a line"
    );
}

#[test]
fn leading_whitespace_is_allowed_but_bounded() {
    let (_, grammar) = generate(&memgpt_functions(), IN_PARAMS);
    let answer = FORCED_ANSWERS[0];
    assert!(accepts(&grammar, &format!("\n{answer}")));
    assert!(accepts(&grammar, &format!(" \n\t{answer}")));
    assert!(accepts(&grammar, &format!("{}{answer}", "\n".repeat(20))));
    assert!(!accepts(&grammar, &format!("{}{answer}", "\n".repeat(21))));
    let spaced = r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message":                      "m"}}"#;
    assert!(!accepts(&grammar, spaced), "21 spaces");
}

#[test]
fn unsupported_parameters_allow_any_members_after_inner_thoughts() {
    let functions = [function("f", Some(json!({"$ref": "#/defs/args"})))];
    let (_, grammar) = generate(&functions, IN_PARAMS);
    assert_accepts(&grammar, &["", r#""x": 1, "y": [true]"#]);
    let (_, grammar) = generate(&functions, TOP_LEVEL);
    assert!(accepts(
        &grammar,
        r#"{"inner_thoughts": "t", "function": "f", "params": {}}"#
    ));
    assert!(accepts(
        &grammar,
        r#"{"inner_thoughts": "t", "function": "f", "params": {"x": 1}}"#
    ));
}

#[test]
fn functions_without_parameters_take_only_inner_thoughts() {
    let functions = [
        function("wait", None),
        function("noop", Some(json!({"type": "object", "properties": {}}))),
    ];
    let (_, forced) = generate(&functions, IN_PARAMS);
    assert!(accepts(
        &forced,
        r#"{"function": "wait", "params": {"inner_thoughts": "t"}}"#
    ));
    assert!(accepts(
        &forced,
        r#"{"function": "noop", "params": {"inner_thoughts": "t"}}"#
    ));
    assert!(!accepts(
        &forced,
        r#"{"function": "wait", "params": {"inner_thoughts": "t", "x": 1}}"#
    ));
    let (_, noforce) = generate(&functions, TOP_LEVEL);
    assert!(accepts(
        &noforce,
        r#"{"inner_thoughts": "t", "function": "wait", "params": {}}"#
    ));
    assert!(!accepts(
        &noforce,
        r#"{"inner_thoughts": "t", "function": "wait", "params": {"inner_thoughts": "t"}}"#
    ));
}

#[test]
fn rule_names_are_sanitised_and_deduplicated() {
    let functions = [
        function("send_message", None),
        function("send-message", None),
        function("Send.Message", None),
        function("string", None),
        function("émoji fn", None),
    ];
    let (text, grammar) = generate(&functions, IN_PARAMS);
    assert!(text.contains("\ncall ::= send-message-call | send-message-call-2 | send-message-call-3 | string-call | -moji-fn-call\n"));
    let names: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split(" ::= ").next())
        .collect();
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "every rule defined once");
    for name in [
        "send_message",
        "send-message",
        "Send.Message",
        "string",
        "émoji fn",
    ] {
        let answer = format!(
            r#"{{"function": {}, "params": {{"inner_thoughts": "t"}}}}"#,
            json!(name)
        );
        assert!(accepts(&grammar, &answer), "{answer}");
    }
}

#[test]
fn no_functions_or_an_empty_name_is_an_error() {
    let error = GbnfGenerator.gbnf(&[], IN_PARAMS).unwrap_err();
    assert_eq!(error, GrammarError::NoFunctions);
    assert!(error.to_string().contains("no functions"), "{error}");
    let error = GbnfGenerator
        .gbnf(&[function("ok", None), function("", None)], TOP_LEVEL)
        .unwrap_err();
    assert_eq!(error, GrammarError::UnnamedFunction { index: 1 });
    assert!(
        error.to_string().contains("function 1 has an empty name"),
        "{error}"
    );
}

#[test]
fn the_generator_is_registered_and_returns_no_documentation() {
    let generated = GbnfGenerator
        .generate(&memgpt_functions(), IN_PARAMS.into())
        .unwrap();
    assert_eq!(generated.documentation, None);
    assert_eq!(
        generated.gbnf,
        GbnfGenerator.gbnf(&memgpt_functions(), IN_PARAMS).unwrap()
    );
    let registered = registered_grammar_generator().unwrap();
    let generated = registered
        .generate(&memgpt_functions(), TOP_LEVEL.into())
        .unwrap();
    assert_eq!(
        generated.gbnf,
        GbnfGenerator.gbnf(&memgpt_functions(), TOP_LEVEL).unwrap()
    );
}

#[test]
fn no_generated_grammar_uses_counted_repetition() {
    for style in [IN_PARAMS, TOP_LEVEL] {
        let (text, _) = generate(&memgpt_functions(), style);
        let counted = text.match_indices('{').any(|(index, _)| {
            text[index + 1..].starts_with(|c: char| c.is_ascii_digit() || c == ',')
        });
        assert!(
            !counted,
            "`{{m,n}}` is not understood by older parsers:\n{text}"
        );
    }
}

#[test]
fn the_required_call_noforce_shape_admits_the_calls_and_nothing_else() {
    let (_, grammar) = generate(
        &memgpt_functions(),
        GrammarStyle::InnerThoughtsTopLevelCallRequired,
    );
    let thoughts_only = [
        "{\"inner_thoughts\": \"Nothing to do.\"}",
        "{\"inner_thoughts\": \"Nothing to do.\", \"function\": null}",
    ];
    for answer in NOFORCE_ANSWERS {
        let json = reply_json(answer).unwrap();
        let call = optional_call(&json, answer).unwrap();
        assert_eq!(
            accepts(&grammar, answer),
            !thoughts_only.contains(&answer),
            "a call is required: {answer}"
        );
        assert_eq!(
            call.call.is_some(),
            !thoughts_only.contains(&answer),
            "{answer}"
        );
    }
    // the forced shape is still not this one
    assert!(!accepts(&grammar, FORCED_ANSWERS[0]));
}
