//! One JSON Schema construct at a time, inside a forced call of `f`.

use serde_json::json;

use super::*;

#[test]
fn strings_take_json_escapes_and_nothing_else() {
    let grammar = single(json!({"properties": {"s": {"type": "string"}}, "required": ["s"]}));
    assert_accepts(
        &grammar,
        &[
            r#""s": """#,
            r#""s": "a\"b\\c\/d\b\f\n\r\t""#,
            r#""s": "\u00e9\uD83D\ude00""#,
            "\"s\": \"é 🌞\"",
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""s": "\x41""#,
            r#""s": "\u12""#,
            "\"s\": \"line\nfeed\"",
            r#""s": "open"#,
            r#""s": 'single'"#,
        ],
    );
}

#[test]
fn integers_and_numbers_follow_json() {
    let grammar = single(
        json!({"properties": {"i": {"type": "integer"}, "n": {"type": "number"}}, "required": ["i", "n"]}),
    );
    assert_accepts(
        &grammar,
        &[
            r#""i": 0, "n": 0"#,
            r#""i": -12, "n": 3.25"#,
            r#""i": 360, "n": -1.5e-7"#,
            r#""i": 1, "n": 2E+10"#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""i": 1.5, "n": 1"#,
            r#""i": 01, "n": 1"#,
            r#""i": +1, "n": 1"#,
            r#""i": 1, "n": .5"#,
            r#""i": 1, "n": 1."#,
            r#""i": 12345678901234567, "n": 1"#,
        ],
    );
}

#[test]
fn booleans_and_null() {
    let grammar = single(
        json!({"properties": {"b": {"type": "boolean"}, "z": {"type": "null"}}, "required": ["b", "z"]}),
    );
    assert_accepts(
        &grammar,
        &[r#""b": true, "z": null"#, r#""b": false, "z": null"#],
    );
    assert_rejects(
        &grammar,
        &[
            r#""b": "true", "z": null"#,
            r#""b": True, "z": null"#,
            r#""b": true, "z": 0"#,
        ],
    );
}

#[test]
fn enums_and_consts_are_exact_json_texts() {
    let grammar = single(json!({"properties": {
        "e": {"type": "string", "enum": ["human", "persona", "say \"hi\""]},
        "m": {"enum": [1, 2.5, null, true]},
        "c": {"const": "fixed"}
    }, "required": ["e", "m", "c"]}));
    assert_accepts(
        &grammar,
        &[
            r#""e": "human", "m": 1, "c": "fixed""#,
            r#""e": "say \"hi\"", "m": null, "c": "fixed""#,
            r#""e": "persona", "m": 2.5, "c": "fixed""#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""e": "Human", "m": 1, "c": "fixed""#,
            r#""e": "human", "m": 3, "c": "fixed""#,
            r#""e": "human", "m": 1, "c": "other""#,
        ],
    );
}

#[test]
fn arrays_with_and_without_items() {
    let grammar = single(json!({"properties": {
        "tags": {"type": "array", "items": {"type": "string"}},
        "any": {"type": "array"}
    }, "required": ["tags", "any"]}));
    assert_accepts(
        &grammar,
        &[
            r#""tags": [], "any": []"#,
            r#""tags": ["a", "b"], "any": [1, "x", {"k": [null]}]"#,
            "\"tags\": [\n  \"a\"\n], \"any\": [ ]",
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""tags": [1], "any": []"#,
            r#""tags": ["a",], "any": []"#,
            r#""tags": "a", "any": []"#,
        ],
    );
}

#[test]
fn nested_objects_keep_schema_order_with_optional_members_skippable() {
    let grammar = single(
        json!({"properties": {"o": {"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}, "d": {"type": "integer"}
    }, "required": ["c", "a"]}}, "required": ["o"]}),
    );
    assert_accepts(
        &grammar,
        &[
            r#""o": {"a": 1, "c": true}"#,
            r#""o": {"a": 1, "b": "x", "c": true}"#,
            r#""o": {"a": 1, "c": true, "d": 2}"#,
            r#""o": {"a": 1, "b": "x", "c": true, "d": 2}"#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""o": {"a": 1}"#,
            r#""o": {"c": true, "a": 1}"#,
            r#""o": {"a": 1, "c": true, "b": "x"}"#,
            r#""o": {"a": 1, "c": true, "e": 0}"#,
            r#""o": {"a": 1, , "c": true}"#,
        ],
    );
}

#[test]
fn optional_members_before_the_first_required_one() {
    let grammar = single(json!({"properties": {"o": {"properties": {
        "x": {"type": "integer"}, "y": {"type": "integer"}, "z": {"type": "integer"}
    }, "required": ["z"]}}, "required": ["o"]}));
    assert_accepts(
        &grammar,
        &[
            r#""o": {"z": 3}"#,
            r#""o": {"x": 1, "z": 3}"#,
            r#""o": {"y": 2, "z": 3}"#,
            r#""o": {"x": 1, "y": 2, "z": 3}"#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""o": {"x": 1}"#,
            r#""o": {"x": 1, "y": 2}"#,
            r#""o": {"y": 2, "x": 1, "z": 3}"#,
            r#""o": {"x": 1 "z": 3}"#,
            r#""o": {"x": 1, "z": 3,}"#,
        ],
    );
}

#[test]
fn objects_with_only_optional_members_may_be_empty() {
    let grammar = single(
        json!({"properties": {"o": {"properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}}}),
    );
    assert_accepts(
        &grammar,
        &[
            "",
            r#""o": {}"#,
            r#""o": {"x": 1}"#,
            r#""o": {"y": 2}"#,
            r#""o": { "x": 1, "y": 2 }"#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""o": {"y": 2, "x": 1}"#,
            r#""o": {, "y": 2}"#,
            r#""o": {"x": 1,}"#,
        ],
    );
}

#[test]
fn type_unions_any_of_and_one_of() {
    let grammar = single(json!({"properties": {
        "u": {"type": ["string", "null"]},
        "a": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
        "o": {"oneOf": [{"const": "x"}, {"type": "object", "properties": {"k": {"type": "boolean"}}, "required": ["k"]}]}
    }, "required": ["u", "a", "o"]}));
    assert_accepts(
        &grammar,
        &[
            r#""u": "s", "a": 1, "o": "x""#,
            r#""u": null, "a": [1, 2], "o": {"k": false}"#,
        ],
    );
    assert_rejects(
        &grammar,
        &[
            r#""u": 1, "a": 1, "o": "x""#,
            r#""u": null, "a": "1", "o": "x""#,
            r#""u": null, "a": 1, "o": {"k": 1}"#,
        ],
    );
}

#[test]
fn unsupported_constructs_become_any_json_value_and_stay_valid() {
    let grammar = single(json!({"properties": {
        "r": {"$ref": "#/definitions/thing"},
        "p": {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        "n": {"not": {"type": "string"}},
        "t": {"type": "date"},
        "bad": 5
    }, "required": ["r", "p", "n", "t", "bad"]}));
    assert_accepts(
        &grammar,
        &[r#""r": {"a": [1, "b"]}, "p": {"x1": "y"}, "n": 5, "t": "2024-01-01", "bad": null"#],
    );
    assert_rejects(
        &grammar,
        &[
            r#""r": {"a": }, "p": 1, "n": 5, "t": 1, "bad": null"#,
            r#""p": 1"#,
        ],
    );
}

#[test]
fn a_declared_inner_thoughts_param_is_not_doubled() {
    let grammar = single(
        json!({"properties": {"inner_thoughts": {"type": "string"}, "x": {"type": "integer"}}, "required": ["inner_thoughts", "x"]}),
    );
    assert_accepts(&grammar, &[r#""x": 1"#]);
    assert_rejects(&grammar, &[r#""inner_thoughts": "again", "x": 1"#]);
}

#[test]
fn required_names_without_a_schema_take_any_value() {
    let grammar = single(
        json!({"properties": {"a": {"type": "integer"}}, "required": ["a", "ghost", "ghost"]}),
    );
    assert_accepts(
        &grammar,
        &[r#""a": 1, "ghost": [1]"#, r#""a": 1, "ghost": "x""#],
    );
    assert_rejects(&grammar, &[r#""a": 1"#]);
}

#[test]
fn property_names_needing_escapes_are_quoted_correctly() {
    let grammar = single(
        json!({"properties": {"we\"ird\\key": {"enum": ["a", "b"]}}, "required": ["we\"ird\\key"]}),
    );
    assert_accepts(&grammar, &[r#""we\"ird\\key": "b""#]);
}

#[test]
fn repeated_alternatives_are_written_once() {
    let parameters = json!({"properties": {
        "d": {"anyOf": [{"type": "string"}, {"type": "string"}]},
        "p": {"enum": ["p", "q", "p"]},
        "t": {"type": ["integer", "null", "integer"]}
    }, "required": ["d", "p", "t"]});
    let (text, grammar) = generate(&[function("f", Some(parameters))], IN_PARAMS);
    assert!(text.contains("\nf-params-d ::= string\n"), "{text}");
    assert!(
        text.contains("\nf-params-p ::= \"\\\"p\\\"\" | \"\\\"q\\\"\"\n"),
        "{text}"
    );
    assert!(
        text.contains("\nf-params-t ::= integer | \"null\"\n"),
        "{text}"
    );
    assert_accepts(&grammar, &[r#""d": "x", "p": "q", "t": null"#]);
}
