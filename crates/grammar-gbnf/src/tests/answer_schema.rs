//! The answer's JSON Schema accepts exactly what the answer's grammar accepts, on the
//! schema corpus of these tests, in every answer shape: each text is checked with the
//! GBNF matcher and, read as JSON, with a JSON Schema validator.

use serde_json::{json, Value};

use super::*;

const REQUIRED_CALL: GrammarStyle = GrammarStyle::InnerThoughtsTopLevelCallRequired;

/// What the schema says of `text`: `false` when it is not one JSON value.
fn schema_accepts(schema: &Value, text: &str) -> bool {
    let validator = jsonschema::validator_for(schema)
        .unwrap_or_else(|error| panic!("not a valid JSON Schema ({error}): {schema}"));
    serde_json::from_str::<Value>(text).is_ok_and(|answer| validator.is_valid(&answer))
}

/// Both constraints, built for `functions` in `shape`, agree on every text.
pub(super) fn assert_agree(
    functions: &[FunctionSchema],
    shape: impl Into<AnswerShape>,
    texts: &[&str],
) {
    let shape = shape.into();
    let (_, grammar) = generate(functions, shape);
    let schema = GbnfGenerator.answer_schema(functions, shape).unwrap();
    assert!(jsonschema::meta::is_valid(&schema), "{schema}");
    let mut accepted = 0;
    for text in texts {
        let by_grammar = accepts(&grammar, text);
        assert_eq!(
            by_grammar,
            schema_accepts(&schema, text),
            "grammar and schema disagree on {text}\nschema: {schema}"
        );
        accepted += usize::from(by_grammar);
    }
    assert!(
        accepted > 0 && accepted < texts.len(),
        "the corpus must hold both"
    );
}

/// MemGPT's functions: every forced answer of the grammar tests, right and wrong.
#[test]
fn forced_memgpt_answers() {
    let mut texts: Vec<&str> = FORCED_ANSWERS.to_vec();
    texts.extend([
        r#"{"function": "send_email", "params": {"inner_thoughts": "t", "message": "m"}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t"}}"#,
        r#"{"function": "send_message", "params": {"message": "m"}}"#,
        r#"{"function": "pause_heartbeats", "params": {"inner_thoughts": "t", "minutes": "5"}}"#,
        r#"{"function": "pause_heartbeats", "params": {"inner_thoughts": "t", "minutes": 5}}"#,
        r#"{"function": "pause_heartbeats", "params": {"inner_thoughts": "t", "minutes": 5.5}}"#,
        r#"{"function": "core_memory_append", "params": {"inner_thoughts": "t", "name": "human", "content": "c", "request_heartbeat": "yes"}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "minutes": 5}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m", "request_heartbeat": true}}"#,
        r#"{"inner_thoughts": "t", "function": "send_message", "params": {"message": "m"}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}, "extra": 1}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": 7, "message": "m"}}"#,
        r#"{"function": "archival_memory_search", "params": {"inner_thoughts": "t", "query": "q", "request_heartbeat": false}}"#,
        r#"{"function": "archival_memory_search", "params": {"inner_thoughts": "t", "query": "q", "page": null, "request_heartbeat": false}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}} ok"#,
        r#"Sure: {"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#,
    ]);
    assert_agree(&memgpt_functions(), IN_PARAMS, &texts);
}

#[test]
fn noforce_memgpt_answers_optional_and_required_call() {
    let mut texts: Vec<&str> = NOFORCE_ANSWERS.to_vec();
    texts.extend([
        r#"{"function": "send_message", "params": {"message": "m"}}"#,
        r#"{"inner_thoughts": "t", "function": "send_message"}"#,
        r#"{"inner_thoughts": "t", "function": "nope", "params": {}}"#,
        r#"{"inner_thoughts": "t", "function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#,
        r#"{"inner_thoughts": 5}"#,
        r#"{"inner_thoughts": "t", "function": null, "params": {}}"#,
        r#"{"inner_thoughts": "t", "extra": true}"#,
    ]);
    assert_agree(&memgpt_functions(), TOP_LEVEL, &texts);
    // With a call required, the thoughts-only answers are refused by both.
    assert_agree(&memgpt_functions(), REQUIRED_CALL, &texts);
}

#[test]
fn nested_enum_array_union_and_empty_schemas() {
    let functions = vec![
        function(
            "plan",
            Some(json!({"type": "object", "properties": {
                "steps": {"type": "array", "items": {"type": "object", "properties": {
                    "title": {"type": "string"}, "done": {"type": "boolean"}
                }, "required": ["title"]}},
                "mood": {"enum": ["calm", "busy"]},
                "note": {"type": ["string", "null"]},
                "limit": {"anyOf": [{"type": "integer"}, {"const": "none"}]},
                "meta": {"$ref": "#/definitions/meta"}
            }, "required": ["steps", "mood"]})),
        ),
        function(
            "odd",
            Some(json!({"anyOf": [{"type": "object"}, {"type": "null"}]})),
        ),
        function("ping", None),
        function(
            "tag",
            Some(json!({"type": "object", "properties": {}, "required": ["label"]})),
        ),
    ];
    let texts = [
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [{"title": "a"}, {"title": "b", "done": true}], "mood": "busy", "note": null, "limit": 3}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm", "limit": "none"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm", "note": "n"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "angry"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [{"done": true}], "mood": "calm"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [{"title": "a", "x": 1}], "mood": "calm"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": {}, "mood": "calm"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm", "limit": "all"}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm", "note": 4}}"#,
        r#"{"function": "plan", "params": {"inner_thoughts": "t", "steps": [], "mood": "calm", "meta": {"any": [1, "x"]}}}"#,
        r#"{"function": "odd", "params": {"inner_thoughts": "t", "x": [1], "y": null}}"#,
        r#"{"function": "odd", "params": {"inner_thoughts": "t"}}"#,
        r#"{"function": "odd", "params": {"x": 1}}"#,
        r#"{"function": "odd", "params": null}"#,
        r#"{"function": "ping", "params": {"inner_thoughts": "t"}}"#,
        r#"{"function": "ping", "params": {"inner_thoughts": "t", "x": 1}}"#,
        r#"{"function": "ping", "params": {}}"#,
        r#"{"function": "tag", "params": {"inner_thoughts": "t", "label": {"any": ["json"]}}}"#,
        r#"{"function": "tag", "params": {"inner_thoughts": "t"}}"#,
    ];
    assert_agree(&functions, IN_PARAMS, &texts);
}

#[test]
fn a_declared_inner_thoughts_is_replaced_by_the_leading_string() {
    // MemGPT's inner-thoughts-in-kwargs mode declares it; the forced shape puts its own
    // required string first either way.
    let functions = vec![function(
        "send_message",
        Some(json!({"type": "object", "properties": {
            "inner_thoughts": {"type": "string", "description": "Deep inner monologue."},
            "message": {"type": "string"}
        }, "required": ["inner_thoughts", "message"]})),
    )];
    let texts = [
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#,
        r#"{"function": "send_message", "params": {"message": "m"}}"#,
        r#"{"function": "send_message", "params": {"inner_thoughts": "t"}}"#,
    ];
    assert_agree(&functions, IN_PARAMS, &texts);
}

#[test]
fn the_differences_are_the_member_order_and_what_only_a_schema_enforces() {
    let functions = vec![function(
        "send_message",
        Some(json!({"type": "object", "properties": {
            "message": {"type": "string", "minLength": 2}
        }, "required": ["message"]})),
    )];
    let (_, grammar) = generate(&functions, IN_PARAMS);
    let schema = GbnfGenerator.answer_schema(&functions, IN_PARAMS).unwrap();
    // The grammar fixes the order (inner_thoughts first); a schema cannot.
    let reordered =
        r#"{"params": {"message": "mm", "inner_thoughts": "t"}, "function": "send_message"}"#;
    assert!(!accepts(&grammar, reordered));
    assert!(schema_accepts(&schema, reordered));
    // A narrowing keyword: the schema enforces it, the grammar allows a little more.
    let short =
        r#"{"function": "send_message", "params": {"inner_thoughts": "t", "message": "m"}}"#;
    assert!(accepts(&grammar, short));
    assert!(!schema_accepts(&schema, short));
    // JSON Schema counts 5.0 an integer; the grammar writes integers without a fraction.
    let (_, memgpt) = generate(&memgpt_functions(), IN_PARAMS);
    let memgpt_schema = GbnfGenerator
        .answer_schema(&memgpt_functions(), IN_PARAMS)
        .unwrap();
    let fraction =
        r#"{"function": "pause_heartbeats", "params": {"inner_thoughts": "t", "minutes": 5.0}}"#;
    assert!(!accepts(&memgpt, fraction));
    assert!(schema_accepts(&memgpt_schema, fraction));
}

#[test]
fn no_functions_or_an_empty_name_is_the_same_error_as_the_grammars() {
    assert_eq!(
        GbnfGenerator.answer_schema(&[], IN_PARAMS),
        Err(proxy_core::grammar::GrammarError::NoFunctions)
    );
    assert_eq!(
        GbnfGenerator.answer_schema(&[function("", None)], TOP_LEVEL),
        Err(proxy_core::grammar::GrammarError::UnnamedFunction { index: 0 })
    );
}

/// Thoughts bounded to `max` characters, in `style`.
fn bounded(style: GrammarStyle, max: u32) -> AnswerShape {
    AnswerShape {
        style,
        max_thought_chars: Some(max),
        max_argument_chars: None,
    }
}

/// With a bound, both refuse thoughts one character longer, in every shape, and count
/// a JSON escape as one character.
#[test]
fn bounded_thoughts_in_every_shape() {
    let functions = memgpt_functions();
    let at_bound = "a".repeat(12);
    let over = "a".repeat(13);
    let escaped = format!("{}\\n\\u00e9", "a".repeat(10));
    let forced: Vec<String> = [&at_bound, &over, &escaped, &String::new()]
        .iter()
        .map(|thoughts| {
            format!(
                r#"{{"function": "send_message", "params": {{"inner_thoughts": "{thoughts}", "message": "m"}}}}"#
            )
        })
        .collect();
    let texts: Vec<&str> = forced.iter().map(String::as_str).collect();
    assert_agree(&functions, bounded(IN_PARAMS, 12), &texts);
    let (_, grammar) = generate(&functions, bounded(IN_PARAMS, 12));
    assert!(accepts(&grammar, &forced[0]) && accepts(&grammar, &forced[2]));
    assert!(!accepts(&grammar, &forced[1]));

    let top_level: Vec<String> = [&at_bound, &over, &escaped]
        .iter()
        .flat_map(|thoughts| {
            [
                format!(r#"{{"inner_thoughts": "{thoughts}"}}"#),
                format!(
                    r#"{{"inner_thoughts": "{thoughts}", "function": "send_message", "params": {{"message": "m"}}}}"#
                ),
            ]
        })
        .collect();
    let texts: Vec<&str> = top_level.iter().map(String::as_str).collect();
    assert_agree(&functions, bounded(TOP_LEVEL, 12), &texts);
    assert_agree(&functions, bounded(REQUIRED_CALL, 12), &texts);
    let (_, grammar) = generate(&functions, bounded(TOP_LEVEL, 12));
    assert!(accepts(&grammar, &top_level[0]));
    assert!(!accepts(&grammar, &top_level[2]) && !accepts(&grammar, &top_level[3]));
}

/// Params that are not a plain object keep the bound on the thoughts in front of them.
#[test]
fn bounded_thoughts_before_open_params() {
    let functions = [function("f", Some(json!({"anyOf": [{"type": "object"}]})))];
    let short = r#"{"function": "f", "params": {"inner_thoughts": "abc", "x": 1}}"#;
    let long = r#"{"function": "f", "params": {"inner_thoughts": "abcd", "x": 1}}"#;
    assert_agree(&functions, bounded(IN_PARAMS, 3), &[short, long]);
}

/// The default bound's grammar is one the matcher reads, and it takes long thoughts up
/// to the bound.
#[test]
fn the_default_bound_takes_thoughts_up_to_it() {
    let max = proxy_core::DEFAULT_MAX_THOUGHT_CHARS;
    let (_, grammar) = generate(&memgpt_functions(), bounded(IN_PARAMS, max));
    let answer = |length: u32| {
        format!(
            r#"{{"function": "send_message", "params": {{"inner_thoughts": "{}", "message": "m"}}}}"#,
            "x".repeat(usize::try_from(length).unwrap())
        )
    };
    assert!(accepts(&grammar, &answer(max)));
    assert!(!accepts(&grammar, &answer(max + 1)));
}

/// Thoughts and every free-text string argument bounded, in `style`.
fn bounded_arguments(style: GrammarStyle, thoughts: u32, arguments: u32) -> AnswerShape {
    AnswerShape {
        style,
        max_thought_chars: Some(thoughts),
        max_argument_chars: Some(arguments),
    }
}

/// With the arguments bounded, both refuse a free-text string one character over, at
/// any depth (params, array items, a `type` list, a union's option), count an escape
/// as one character, and leave alone the strings a schema narrows itself (`maxLength`,
/// `pattern`, `format`, `minLength`), enums and consts.
#[test]
fn bounded_free_text_arguments_at_every_depth() {
    let functions = vec![function(
        "note",
        Some(json!({"type": "object", "properties": {
            "text": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "maybe": {"type": ["string", "null"]},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "code": {"type": "string", "pattern": "^[a-z]+$"},
            "when": {"type": "string", "format": "date"},
            "short": {"type": "string", "maxLength": 20},
            "mood": {"enum": ["calm-and-collected"]}
        }, "required": ["text"]})),
    )];
    let call = |params: &str| {
        format!(r#"{{"function": "note", "params": {{"inner_thoughts": "t", {params}}}}}"#)
    };
    let texts: Vec<String> = [
        r#""text": "abcd""#,
        r#""text": "abcde""#,
        r#""text": "ab\n\u00e9""#,
        r#""text": "a", "tags": ["abcd", "b"]"#,
        r#""text": "a", "tags": ["abcde"]"#,
        r#""text": "a", "maybe": "abcd""#,
        r#""text": "a", "maybe": "abcde""#,
        r#""text": "a", "maybe": null"#,
        r#""text": "a", "either": "abcde""#,
        r#""text": "a", "either": 123456"#,
        r#""text": "a", "code": "abcdefgh""#,
        r#""text": "a", "when": "2026-12-02""#,
        r#""text": "a", "short": "abcdefghij""#,
        r#""text": "a", "mood": "calm-and-collected""#,
    ]
    .iter()
    .map(|params| call(params))
    .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let shape = bounded_arguments(IN_PARAMS, 40, 4);
    assert_agree(&functions, shape, &texts);
    let (_, grammar) = generate(&functions, shape);
    let accepted: Vec<bool> = texts.iter().map(|text| accepts(&grammar, text)).collect();
    assert_eq!(
        accepted,
        [true, false, true, true, false, true, false, true, false, true, true, true, true, true]
    );
    // The thoughts keep their own bound, and the same holds with the thoughts outside.
    assert!(!accepts(
        &generate(&functions, bounded_arguments(IN_PARAMS, 0, 4)).1,
        texts[0]
    ));
    let top_level: Vec<String> = [r#""text": "abcd""#, r#""text": "abcde""#]
        .iter()
        .map(|params| {
            format!(r#"{{"inner_thoughts": "t", "function": "note", "params": {{{params}}}}}"#)
        })
        .collect();
    let top_level: Vec<&str> = top_level.iter().map(String::as_str).collect();
    assert_agree(&functions, bounded_arguments(TOP_LEVEL, 40, 4), &top_level);
    assert_agree(
        &functions,
        bounded_arguments(REQUIRED_CALL, 40, 4),
        &top_level,
    );
}

/// MemGPT's functions with the arguments bounded: the grammar tests' forced answers
/// are judged alike by both.
#[test]
fn bounded_arguments_on_memgpt_answers() {
    let long = format!(
        r#"{{"function": "send_message", "params": {{"inner_thoughts": "t", "message": "{}"}}}}"#,
        "m".repeat(33)
    );
    let mut texts: Vec<&str> = FORCED_ANSWERS.to_vec();
    texts.push(&long);
    assert_agree(
        &memgpt_functions(),
        bounded_arguments(IN_PARAMS, 400, 32),
        &texts,
    );
}
