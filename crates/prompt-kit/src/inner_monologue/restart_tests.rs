//! Tests of the restarted-answer recovery, through a whole format's parse.

use super::*;
use crate::chat::AssistantMessage;
use crate::inner_monologue::{InnerMonologueFormat, InnerMonologueOptions, TurnTemplate};
use serde_json::json;

/// A ChatML-like template (the reply may end with `<|im_end|>`).
fn template() -> TurnTemplate {
    TurnTemplate {
        prompt_start: String::new(),
        role_start: "<|im_start|>".into(),
        role_end: "\n".into(),
        function_reply_role_end: "\n".into(),
        turn_end: "<|im_end|>".into(),
        turn_separator: "\n".into(),
        assistant_cue_end: "\n".into(),
        reply_end_token: "<|im_end|>".into(),
    }
}

fn noforce() -> InnerMonologueFormat {
    InnerMonologueFormat::new(template(), InnerMonologueOptions::noforce())
}

fn forced() -> InnerMonologueFormat {
    InnerMonologueFormat::new(template(), InnerMonologueOptions::forced())
}

/// `(content, [(name, arguments)])` of a parsed reply, or the error's text.
fn parts(parsed: Result<AssistantMessage, WrapperError>) -> (Option<String>, Vec<(String, Value)>) {
    match parsed {
        Ok(message) => (
            message.content,
            message
                .function_calls
                .into_iter()
                .map(|call| (call.name, call.arguments))
                .collect(),
        ),
        Err(error) => panic!("the reply did not parse: {error}"),
    }
}

fn greeting() -> (Option<String>, Vec<(String, Value)>) {
    (
        Some("I should greet.".to_owned()),
        vec![("send_message".to_owned(), json!({"message": "hi"}))],
    )
}

#[test]
fn a_repeated_opening_is_read_as_the_answer_it_holds() {
    let raw = " {\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}";
    assert_eq!(parts(noforce().parse(raw, false)), greeting());
}

#[test]
fn the_repeat_is_found_whatever_its_whitespace_and_ending() {
    let answer = r#""I should greet.", "function": "send_message", "params": {"message": "hi", "request_heartbeat": true}}"#;
    for opening in [
        "{\"inner_thoughts\":",
        " {\"inner_thoughts\": ",
        "\n{\n  \"inner_thoughts\":",
        "\n\n{\n    \"inner_thoughts\" :\n",
        "{ \"inner_thoughts\"\t:",
    ] {
        for ending in ["", "}", "\n}", "<|im_end|>", "}\n<|im_end|>\n"] {
            let raw = format!("{opening} {answer}{ending}");
            assert_eq!(
                parts(noforce().parse(&raw, false)),
                greeting(),
                "reply {raw:?}"
            );
        }
    }
}

#[test]
fn a_reply_that_repeats_the_whole_seed_and_then_the_opening_again() {
    // The reply starts with the seed itself (so it is not put back), then repeats it.
    let raw = "\n{\n  \"inner_thoughts\": {\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}}";
    assert_eq!(parts(noforce().parse(raw, false)), greeting());
    // Twice over.
    let raw = " {\"inner_thoughts\": {\"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}}";
    assert_eq!(parts(noforce().parse(raw, false)), greeting());
}

#[test]
fn a_repeat_without_a_call_is_thoughts_alone() {
    let raw = " {\"inner_thoughts\": \"Nothing to do.\", \"function\": null}";
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (Some("Nothing to do.".to_owned()), Vec::new())
    );
}

#[test]
fn a_repeat_cut_off_is_read_as_far_as_it_goes_and_never_as_its_json_text() {
    // As a streamed reply is parsed while it is written: no `{}` as content.
    assert!(matches!(
        noforce().parse(" {", false),
        Err(WrapperError::MissingField { ref field, .. }) if field == "inner_thoughts"
    ));
    assert!(noforce().parse(" {\n  \"inner_th", false).is_err());
    let partial = noforce().parse(" {\n  \"inner_thoughts\": \"I sh", false);
    assert_eq!(parts(partial), (Some("I sh".to_owned()), Vec::new()));
}

#[test]
fn object_thoughts_that_are_no_restart_stay_as_they_are() {
    let raw = r#" {"mood": "calm"}, "function": null}"#;
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (Some(r#"{"mood": "calm"}"#.to_owned()), Vec::new())
    );
    // An outer call wins: the object is not read as an answer.
    let json = json!({"inner_thoughts": {"inner_thoughts": "x"}, "function": "f", "params": {}});
    assert_eq!(restarted_answer(&json), None);
}

#[test]
fn a_fenced_whole_answer_is_read_with_or_without_its_language_tag() {
    let object = "{\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}";
    for fence in [
        "```json\n",
        "```\n",
        " ```JSON\n",
        "\n```json",
        "```javascript \n",
    ] {
        for after in [
            "\n```",
            "\n```<|im_end|>",
            "\n```\nI hope this helps! {\"not\": \"this\"}",
            "",
        ] {
            let raw = format!("{fence}{object}{after}");
            assert_eq!(
                parts(noforce().parse(&raw, false)),
                greeting(),
                "reply {raw:?}"
            );
        }
    }
}

#[test]
fn a_fence_then_the_rest_of_the_seeded_answer() {
    let raw = "```json\n \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}\n```\nDone.";
    assert_eq!(parts(noforce().parse(raw, false)), greeting());
}

#[test]
fn a_fence_inside_a_string_does_not_close_the_fenced_answer() {
    let raw = "```json\n{\"inner_thoughts\": \"Use ```json fences```.\", \"function\": \"send_message\", \"params\": {\"message\": \"a \\\" and ```\"}}\n```";
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (
            Some("Use ```json fences```.".to_owned()),
            vec![(
                "send_message".to_owned(),
                json!({"message": "a \" and ```"})
            )]
        )
    );
}

#[test]
fn thoughts_that_mention_inner_thoughts_or_a_fence_are_read_as_written() {
    let thoughts = r#"I recall {"inner_thoughts": "x"} and ```json fences```"#;
    let raw = format!(
        " {}, \"function\": \"send_message\", \"params\": {{\"message\": \"hi\"}}}}",
        serde_json::Value::String(thoughts.to_owned())
    );
    assert_eq!(
        parts(noforce().parse(&raw, false)),
        (
            Some(thoughts.to_owned()),
            vec![("send_message".to_owned(), json!({"message": "hi"}))]
        )
    );
    // A string that starts with a fence is a string, not a fence.
    let raw = r#" "```json is a fence", "function": null}"#;
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (Some("```json is a fence".to_owned()), Vec::new())
    );
}

#[test]
fn a_forced_answer_in_a_fence_is_read_too() {
    let raw = "```json\n{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"I should greet.\", \"message\": \"hi\", \"request_heartbeat\": true}}\n```";
    assert_eq!(parts(forced().parse(raw, false)), greeting());
    // The fence then the rest of the call.
    let raw = "```\n \"send_message\", \"params\": {\"inner_thoughts\": \"I should greet.\", \"message\": \"hi\"}}\n```";
    assert_eq!(parts(forced().parse(raw, false)), greeting());
}

#[test]
fn several_fenced_answers_are_read_as_parallel_calls() {
    let raw = "```json\n{\"inner_thoughts\": \"One.\", \"function\": \"a\", \"params\": {\"x\": 1}}\n{\"inner_thoughts\": \"Two.\", \"function\": \"b\", \"params\": {}}\n```";
    assert_eq!(
        parts(noforce().parse_parallel(raw, false)),
        (
            Some("One.\nTwo.".to_owned()),
            vec![
                ("a".to_owned(), json!({"x": 1})),
                ("b".to_owned(), json!({}))
            ]
        )
    );
    let raw = " {\"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}";
    assert_eq!(parts(noforce().parse_parallel(raw, false)), greeting());
}

#[test]
fn a_fenced_call_of_any_function_is_read() {
    // The repair's guess at the seed and the fence would be `"```json"` as the thoughts.
    let raw = "```json\n{\"inner_thoughts\": \"Remember it.\", \"function\": \"core_memory_append\", \"params\": {\"name\": \"human\", \"content\": \"Likes tea.\"}}\n```";
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (
            Some("Remember it.".to_owned()),
            vec![(
                "core_memory_append".to_owned(),
                json!({"name": "human", "content": "Likes tea."})
            )]
        )
    );
}

#[test]
fn a_fence_that_holds_no_answer_is_an_error_with_the_whole_text() {
    let raw = "```json\n{\"no\": \"answer\"}\n```";
    let expected = format!("{NOFORCE_SEED}{raw}");
    assert!(matches!(
        noforce().parse(raw, false),
        Err(WrapperError::MissingField { ref field, ref raw_output })
            if field == "inner_thoughts" && *raw_output == expected
    ));
    // Prose in the fence continues the seed: the repair reads it as the thoughts
    // (the reading of seed and fence together gave the fence's first word, "```json").
    let raw = "```json\nnot an answer at all\n```";
    assert_eq!(
        parts(noforce().parse(raw, false)),
        (Some("not an answer at all".to_owned()), Vec::new())
    );
}

#[test]
fn a_fence_being_written_gives_no_content() {
    for raw in ["`", " ``", "```", "```js", "```json\n", "```json\n{"] {
        let content = noforce().parse(raw, false).ok().and_then(|m| m.content);
        assert_eq!(content, None, "reply {raw:?}");
    }
}

const NOFORCE_SEED: &str = crate::inner_monologue::NOFORCE_PREFIX_EXTRA;

#[test]
fn unfenced_reply_needs_a_fence_right_after_the_seed() {
    assert_eq!(unfenced_reply(" \"x\"}", NOFORCE_SEED), None);
    assert_eq!(unfenced_reply("{\"a\": 1} ```", NOFORCE_SEED), None);
    assert_eq!(
        unfenced_reply("```json\n{\"a\": 1}\n```", NOFORCE_SEED).as_deref(),
        Some("{\"a\": 1}")
    );
    assert_eq!(
        unfenced_reply(&format!("{NOFORCE_SEED}```\n\"x\"}}```"), NOFORCE_SEED).as_deref(),
        Some(format!("{NOFORCE_SEED} \"x\"}}").as_str())
    );
    // No seed to continue.
    assert_eq!(unfenced_reply("```\n\"x\"}", ""), None);
}

#[test]
fn a_legacy_format_reads_a_fenced_answer_after_its_seed() {
    use crate::legacy_format::{parse_answer, parse_answers_in};
    let raw = "```json\n{\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"I should greet.\", \"message\": \"hi\"}}\n```";
    for seed in ["{", "{\n  \"function\":", "\n{\n  \"function\":"] {
        assert_eq!(
            parts(parse_answer(raw, seed, true)),
            greeting(),
            "seed {seed:?}"
        );
        assert_eq!(parts(parse_answers_in(raw, seed, true)), greeting());
    }
    // Without inner monologue (dolphin) the thoughts stay an argument.
    assert_eq!(
        parts(parse_answer(raw, "{", false)),
        (
            None,
            vec![(
                "send_message".to_owned(),
                json!({"inner_thoughts": "I should greet.", "message": "hi"})
            )]
        )
    );
}

/// [`noforce`] without an end token to strip (as ChatML's template).
fn noforce_without_end_token() -> InnerMonologueFormat {
    let template = TurnTemplate {
        reply_end_token: String::new(),
        ..template()
    };
    InnerMonologueFormat::new(template, InnerMonologueOptions::noforce())
}

#[test]
fn a_repeat_followed_by_text_is_read_on_its_own() {
    // Seed and reply do not repair as one object: the reply's answer is read alone.
    let answer = "{\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}";
    for after in ["<|im_end|>", "\nI greeted them.", " }\n<|im_end|>"] {
        let raw = format!(" {answer}{after}");
        assert_eq!(
            parts(noforce_without_end_token().parse(&raw, false)),
            greeting(),
            "reply {raw:?}"
        );
    }
}

#[test]
fn a_forced_first_message_answer_written_whole_after_its_seed() {
    // The seed already names send_message; the model wrote the whole call again.
    let raw = " {\"function\": \"send_message\", \"params\": {\"inner_thoughts\": \"I should greet.\", \"message\": \"hi\"}}";
    assert_eq!(parts(forced().parse(raw, true)), greeting());
}

#[test]
fn repeated_reply_needs_a_seed_and_an_object_after_it() {
    assert_eq!(repeated_reply(" {\"a\": 1}", ""), None);
    assert_eq!(repeated_reply(" \"x\"}", NOFORCE_SEED), None);
    assert_eq!(
        repeated_reply("\n {\"a\": 1} x", NOFORCE_SEED),
        Some("{\"a\": 1} x")
    );
    let raw = format!("{NOFORCE_SEED} {{\"a\": 1}}");
    assert_eq!(repeated_reply(&raw, NOFORCE_SEED), Some("{\"a\": 1}"));
}

#[test]
fn a_restarted_reply_read_while_it_is_written_only_ever_extends_its_content() {
    // The streamed path parses each partial reply with the same reader and sends
    // what the content gains; a partial reading that is not a start of the final
    // content could not be taken back.
    let answer = "{\n  \"inner_thoughts\": \"I should greet.\", \"function\": \"send_message\", \"params\": {\"message\": \"hi\"}}";
    for format in [noforce(), noforce_without_end_token()] {
        for raw in [
            format!(" {answer}"),
            format!("```json\n{answer}\n```"),
            format!(
                "```\n {}",
                answer.trim_start_matches("{\n  \"inner_thoughts\":")
            ),
        ] {
            let Ok(AssistantMessage {
                content: Some(last),
                ..
            }) = format.parse(&raw, false)
            else {
                panic!("the whole reply {raw:?} did not parse to content");
            };
            assert_eq!(last, "I should greet.");
            for (end, _) in raw.char_indices() {
                let partial = &raw[..end];
                if let Ok(AssistantMessage {
                    content: Some(content),
                    ..
                }) = format.parse(partial, false)
                {
                    assert!(
                        last.starts_with(&content),
                        "partial {partial:?} reads as {content:?}"
                    );
                }
            }
        }
    }
}
