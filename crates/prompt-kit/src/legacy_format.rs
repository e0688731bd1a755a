//! Pieces shared by the legacy, airoboros-style prompt formats (the `airoboros`,
//! `dolphin` and `zephyr` wrapper families).
//!
//! These formats describe each function in a YAML-like listing, show past calls as
//! `{"function": …, "params": {…}}` objects (indented two spaces, as MemGPT's
//! `json_dumps` writes them), show function results as `FUNCTION RETURN: …` lines, and
//! expect the model to answer with one such object. The "inner monologue" variants
//! (airoboros, zephyr) put the assistant's thoughts inside `params` as
//! `inner_thoughts`; dolphin has no inner thoughts.
//!
//! This module holds only what the legacy formats do differently from the
//! [`inner_monologue`](crate::inner_monologue) formats, and builds on that module for
//! the rest (function descriptions, call JSON, user-event simplification, prefix
//! re-attachment, repair, argument cleaning):
//! - rendering: [`start_prompt`] checks and classifies the messages
//!   ([`split_conversation`]) and writes the system prompt and the function listing
//!   ([`push_function_listing`]); then [`push_calls`] writes the calls of an assistant
//!   message and [`function_return_line`] a function result (user turns use
//!   [`user_body`](crate::inner_monologue::user_body));
//! - parsing: [`AnswerFormat`] (or [`parse_answer`] directly; [`parse_answers_in`] for
//!   a reply with several answers, parallel tool calls).
//!
//! Where the reference (MemGPT's `llm_chat_completion_wrappers/airoboros.py`,
//! `dolphin.py`, `zephyr.py`) crashes on valid input, these functions do the sensible
//! thing instead; each such place says so and is pinned by a test.

use serde_json::{Map, Value};

use crate::chat::{AssistantMessage, ChatMessage, FunctionCall, ParsedFunctionCall, Role};
use crate::inner_monologue::{
    call_arguments, forced_call, forced_message, function_call_json, function_description,
    prompt_capacity, read_seeded_reply, reply_json, ForcedCall, ThoughtsPlacement,
    AVAILABLE_FUNCTIONS_HEADING, SELECT_FUNCTION_INSTRUCTION,
};
use crate::parallel_calls::parse_answers;
use crate::python_json;
use crate::wrapper::{require_system_first, GrammarStyle, RenderRequest, WrapperError};

/// How MemGPT's `json_dumps` indents the calls shown in these prompts.
const CALL_INDENT: Option<usize> = Some(2);

/// One message after the system prompt, classified by how these formats render it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn<'a> {
    /// A `user` message.
    User(&'a ChatMessage),
    /// An `assistant` message (its text and its calls).
    Assistant(&'a ChatMessage),
    /// A `function` or `tool` message: a function's result.
    FunctionReturn(&'a ChatMessage),
}

/// A conversation split into its system prompt and the turns after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation<'a> {
    /// The first message's text (empty when its `content` is `null`).
    pub system: String,
    /// Every later message with its position in `messages` (for error reports), in
    /// order.
    pub turns: Vec<(usize, Turn<'a>)>,
}

/// Checks that the conversation starts with a system message and classifies the rest.
///
/// A `system` message after the first is refused with [`WrapperError::InvalidMessage`]
/// (the reference failed an `assert` on it): these formats have no place for one.
pub fn split_conversation(messages: &[ChatMessage]) -> Result<Conversation<'_>, WrapperError> {
    let system = require_system_first(messages)?.text_or_empty();
    let turns = messages
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, message)| match message.role {
            Role::User => Ok((index, Turn::User(message))),
            Role::Assistant => Ok((index, Turn::Assistant(message))),
            Role::Function | Role::Tool => Ok((index, Turn::FunctionReturn(message))),
            Role::System => Err(WrapperError::InvalidMessage {
                index,
                reason: "this prompt format allows a system message only at the start; merge \
                         it into the first system message or send it as a user message"
                    .to_owned(),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Conversation { system, turns })
}

/// Checks the conversation ([`split_conversation`]) and starts the prompt:
/// `opening` (a format's system-turn header, or nothing), the system prompt, then the
/// function listing ([`push_function_listing`]; not for
/// [`AnswerMode::Text`](crate::wrapper::AnswerMode::Text)). Returns the prompt so far and the
/// turns still to render.
pub fn start_prompt<'a>(
    request: &RenderRequest<'a>,
    opening: &str,
    add_inner_thoughts: bool,
) -> Result<(String, Vec<(usize, Turn<'a>)>), WrapperError> {
    let conversation = split_conversation(request.messages)?;
    let fixed = opening.len() + conversation.system.len() + 2048;
    let mut prompt = String::with_capacity(prompt_capacity(request.messages, fixed));
    prompt.push_str(opening);
    prompt.push_str(&conversation.system);
    if !request.wants_text() {
        push_function_listing(&mut prompt, request, add_inner_thoughts);
    }
    Ok((prompt, conversation.turns))
}

/// Appends the function listing that follows the system prompt: a line feed,
/// [`SELECT_FUNCTION_INSTRUCTION`], [`AVAILABLE_FUNCTIONS_HEADING`], then the
/// request's `function_documentation` when given (a grammar generator's), else one
/// [`function_description`] per function (with the `inner_thoughts` line when
/// `add_inner_thoughts` is set), each on its own line.
pub fn push_function_listing(
    prompt: &mut String,
    request: &RenderRequest<'_>,
    add_inner_thoughts: bool,
) {
    prompt.push('\n');
    prompt.push_str(SELECT_FUNCTION_INSTRUCTION);
    prompt.push('\n');
    prompt.push_str(AVAILABLE_FUNCTIONS_HEADING);
    match request.function_documentation {
        Some(documentation) => {
            prompt.push('\n');
            prompt.push_str(documentation);
        }
        None => {
            for schema in request.functions {
                prompt.push('\n');
                prompt.push_str(&function_description(schema, add_inner_thoughts));
            }
        }
    }
}

/// A call without inner thoughts, `{"function": name, "params": {…}}` indented two
/// spaces (dolphin). Empty arguments count as `{}`; arguments that are not a JSON
/// object are an [`WrapperError::InvalidMessage`] naming the message at `index` (the
/// reference crashed on invalid JSON and passed other values through).
pub fn plain_call_json(call: &FunctionCall, index: usize) -> Result<String, WrapperError> {
    let fields = [
        ("function", python_json::Field::Str(&call.name)),
        (
            "params",
            python_json::Field::Object(&[], Some(call.arguments.as_str())),
        ),
    ];
    if let Some(json) = python_json::dumps_fields(&fields, CALL_INDENT) {
        return Ok(json);
    }
    let mut object = Map::new();
    object.insert("function".to_owned(), Value::String(call.name.clone()));
    object.insert(
        "params".to_owned(),
        Value::Object(call_arguments(call, index)?),
    );
    Ok(python_json::dumps(&Value::Object(object), CALL_INDENT))
}

/// Appends `"\n"` and the JSON of each call the assistant message at `index` makes
/// (its `function_call`, or each of its `tool_calls`; the reference read only
/// `function_call` and dropped `tool_calls`). With `with_inner_thoughts`, every call
/// carries the message's text (or `null`) as its first param, `inner_thoughts` (see
/// [`function_call_json`]); without, see [`plain_call_json`].
///
/// A message without calls adds nothing: the legacy formats do not show an assistant
/// text on its own (airoboros and zephyr drop it, as their fixtures pin; dolphin
/// writes the text itself).
pub fn push_calls(
    prompt: &mut String,
    message: &ChatMessage,
    index: usize,
    with_inner_thoughts: bool,
) -> Result<(), WrapperError> {
    let thoughts = message.content.as_ref().map(|_| message.text_cow());
    for call in message.calls() {
        prompt.push('\n');
        let json = if with_inner_thoughts {
            function_call_json(
                call,
                thoughts.as_deref(),
                ThoughtsPlacement::InParams,
                CALL_INDENT,
                index,
            )?
        } else {
            plain_call_json(call, index)?
        };
        prompt.push_str(&json);
    }
    Ok(())
}

/// An assistant turn's body: for a plain-text answer (`text_answer`) an assistant
/// message without calls shows its text after a space; otherwise its calls
/// ([`push_calls`]).
pub fn push_assistant_turn(
    prompt: &mut String,
    message: &ChatMessage,
    index: usize,
    with_inner_thoughts: bool,
    text_answer: bool,
) -> Result<(), WrapperError> {
    if text_answer && message.calls().is_empty() {
        prompt.push(' ');
        prompt.push_str(message.text_cow().trim());
        return Ok(());
    }
    push_calls(prompt, message, index, with_inner_thoughts)
}

/// `FUNCTION RETURN: {content}` for a `function` or `tool` message, the content as is
/// (a `null` content is shown as empty, where the reference wrote `None`).
pub fn function_return_line(message: &ChatMessage) -> String {
    format!("FUNCTION RETURN: {}", message.text_or_empty())
}

/// How a legacy format reads the model's answer, and the grammar it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerFormat {
    /// The text the prompt ended with, put back in front of the model's output when
    /// the output does not start with it (empty: nothing is put back).
    pub prefix: &'static str,
    /// Whether `inner_thoughts` moves from the call's params into the message content.
    pub inner_monologue: bool,
    /// Whether the answers are grammar-constrained (the `-grammar` names): they then
    /// ask for [`GrammarStyle::InnerThoughtsInParams`], the grammar the reference
    /// generated for every grammar wrapper without `noforce`.
    pub grammar: bool,
}

impl AnswerFormat {
    /// Free answers that continue a prompt ending with `prefix`.
    pub const fn prefixed(prefix: &'static str, inner_monologue: bool) -> Self {
        AnswerFormat {
            prefix,
            inner_monologue,
            grammar: false,
        }
    }

    /// Grammar-constrained answers: whole objects, with nothing to re-attach.
    pub const fn grammar_constrained(inner_monologue: bool) -> Self {
        AnswerFormat {
            prefix: "",
            inner_monologue,
            grammar: true,
        }
    }

    /// Parses the model's raw output with [`parse_answer`].
    pub fn parse(&self, raw_output: &str) -> Result<AssistantMessage, WrapperError> {
        parse_answer(raw_output, self.prefix, self.inner_monologue)
    }

    /// Parses a raw output that may hold several answers with [`parse_answers_in`].
    pub fn parse_parallel(&self, raw_output: &str) -> Result<AssistantMessage, WrapperError> {
        parse_answers_in(raw_output, self.prefix, self.inner_monologue)
    }

    /// Ends a prompt with the assistant's turn tag and, for free answers, a new line
    /// holding the prefix the answer continues from (how dolphin and zephyr open the
    /// answer's JSON object). Grammar-constrained answers have no prefix.
    pub fn end_prompt_on_new_line(&self, prompt: &mut String, assistant_tag: &str) {
        prompt.push_str(assistant_tag);
        if !self.prefix.is_empty() {
            prompt.push('\n');
            prompt.push_str(self.prefix);
        }
    }

    /// The grammar the orchestrator should build: `InnerThoughtsInParams` for
    /// grammar-constrained answers, none otherwise.
    pub fn grammar_style(&self) -> Option<GrammarStyle> {
        self.grammar.then_some(GrammarStyle::InnerThoughtsInParams)
    }
}

/// Parses a model's answer `{"function": name, "params": {…}}` into an assistant
/// message.
///
/// `prefix` is the assistant-prefix text the prompt ended with, put back in front of
/// the text unless it already starts with it ([`attach_prefix`](crate::inner_monologue::attach_prefix)), and a markdown code
/// fence the model opened right after it is taken away ([`read_seeded_reply`]); the JSON is
/// recovered with [`reply_json`]; the call is read with [`forced_call`] (a nested
/// `{"function": {"function": …}}` is unwrapped, `params: null` counts as `{}`).
/// `request_heartbeat` is dropped from `send_message`. With `inner_monologue`,
/// `inner_thoughts` is taken out of the arguments as the message content (see
/// [`forced_message`]); without, the content is `None` and any `inner_thoughts` stays
/// an argument, as the reference's dolphin wrapper does.
///
/// Errors: [`WrapperError::UnparseableOutput`] when no JSON can be recovered,
/// [`WrapperError::MissingField`] when `function` is not a string or `params` is not
/// an object (the reference raised a `KeyError`, or passed the wrong type along).
pub fn parse_answer(
    raw_output: &str,
    prefix: &str,
    inner_monologue: bool,
) -> Result<AssistantMessage, WrapperError> {
    read_seeded_reply(raw_output, prefix, |text| {
        read_answer(text, inner_monologue)
    })
}

/// Parses a reply that may hold several answers one after another (parallel tool
/// calls): the prefix put back (and a fence after it taken away) as in
/// [`parse_answer`], then each answer object read
/// as `parse_answer` reads one ([`parse_answers`]); one answer reads exactly as
/// `parse_answer` reads it.
pub fn parse_answers_in(
    raw_output: &str,
    prefix: &str,
    inner_monologue: bool,
) -> Result<AssistantMessage, WrapperError> {
    read_seeded_reply(raw_output, prefix, |text| {
        parse_answers(text, |answer| read_answer(answer, inner_monologue))
    })
}

/// One answer, its prefix already in place (see [`parse_answer`]).
fn read_answer(text: &str, inner_monologue: bool) -> Result<AssistantMessage, WrapperError> {
    let json = reply_json(text)?;
    if inner_monologue {
        return forced_message(&json, text, true);
    }
    let ForcedCall {
        name, mut params, ..
    } = forced_call(&json, text)?;
    if name == "send_message" {
        params.shift_remove("request_heartbeat");
    }
    Ok(AssistantMessage::with_call(
        None,
        ParsedFunctionCall {
            name,
            arguments: Value::Object(params),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{FunctionSchema, ToolCall};
    use serde_json::json;

    fn call(name: &str, arguments: &str) -> FunctionCall {
        serde_json::from_value(json!({"name": name, "arguments": arguments})).unwrap()
    }

    #[test]
    fn listing_describes_functions_or_uses_the_documentation() {
        let functions = [FunctionSchema {
            name: "f".to_owned(),
            description: Some("Does f.".to_owned()),
            parameters: Some(json!({"properties": {"x": {"description": "An x."}}})),
        }];
        let preamble = format!("\n{SELECT_FUNCTION_INSTRUCTION}\n{AVAILABLE_FUNCTIONS_HEADING}");
        let mut request = RenderRequest::new(&[], &functions);
        let listing = |request: &RenderRequest<'_>, thoughts: bool| {
            let mut prompt = String::new();
            push_function_listing(&mut prompt, request, thoughts);
            prompt
        };
        assert_eq!(
            listing(&request, false),
            format!("{preamble}\nf:\n  description: Does f.\n  params:\n    x: An x.")
        );
        assert!(listing(&request, true)
            .contains("params:\n    inner_thoughts: Deep inner monologue private to you only."));
        request.function_documentation = Some("DOCS");
        assert_eq!(listing(&request, true), format!("{preamble}\nDOCS"));
    }

    #[test]
    fn plain_calls_need_object_arguments() {
        assert_eq!(
            plain_call_json(&call("f", ""), 2).ok().as_deref(),
            Some("{\n  \"function\": \"f\",\n  \"params\": {}\n}")
        );
        // The reference crashed on invalid JSON and passed non-objects through.
        for arguments in ["{oops", "[1]"] {
            let error = plain_call_json(&call("f", arguments), 4);
            assert!(
                matches!(error, Err(WrapperError::InvalidMessage { index: 4, .. })),
                "{error:?}"
            );
        }
    }

    #[test]
    fn tool_calls_render_like_function_calls_with_or_without_thoughts() {
        // The reference ignored `tool_calls` in these formats.
        let mut message = ChatMessage::new(Role::Assistant, "thought");
        message.tool_calls = Some(
            ["f", "g"]
                .map(|name| ToolCall {
                    id: format!("call_{name}"),
                    kind: "function".to_owned(),
                    function: call(name, r#"{"x": 1}"#),
                })
                .to_vec(),
        );
        let mut with_thoughts = String::new();
        assert!(push_calls(&mut with_thoughts, &message, 1, true).is_ok());
        let thoughts_first = "\"params\": {\n    \"inner_thoughts\": \"thought\",\n    \"x\": 1";
        assert_eq!(with_thoughts.matches(thoughts_first).count(), 2);
        let mut plain = String::new();
        assert!(push_calls(&mut plain, &message, 1, false).is_ok());
        let expected = "\n{\n  \"function\": \"f\",\n  \"params\": {\n    \"x\": 1\n  }\n}\
                        \n{\n  \"function\": \"g\",\n  \"params\": {\n    \"x\": 1\n  }\n}";
        assert_eq!(plain, expected);
        let mut none = String::new();
        let text_only = ChatMessage::new(Role::Assistant, "just text");
        assert!(push_calls(&mut none, &text_only, 1, true).is_ok());
        assert_eq!(none, "");
    }

    #[test]
    fn function_returns_show_null_content_as_empty() {
        let mut message = ChatMessage::new(Role::Tool, "OK");
        assert_eq!(function_return_line(&message), "FUNCTION RETURN: OK");
        message.content = None;
        // The reference wrote `FUNCTION RETURN: None`.
        assert_eq!(function_return_line(&message), "FUNCTION RETURN: ");
    }

    #[test]
    fn splits_and_refuses_a_late_system_message() {
        let messages = [
            ChatMessage::new(Role::System, "sys"),
            ChatMessage::new(Role::Tool, "ok"),
            ChatMessage::new(Role::System, "again"),
        ];
        // The reference failed an assert on the second system message.
        assert!(matches!(
            split_conversation(&messages),
            Err(WrapperError::InvalidMessage { index: 2, .. })
        ));
        let conversation = split_conversation(&messages[..2]).ok();
        assert_eq!(
            conversation.map(|c| (c.system, c.turns)),
            Some((
                "sys".to_owned(),
                vec![(1, Turn::FunctionReturn(&messages[1]))]
            ))
        );
        assert!(matches!(
            split_conversation(&messages[1..]),
            Err(WrapperError::MissingSystemMessage { .. })
        ));
    }

    #[test]
    fn start_prompt_writes_the_opening_system_and_listing() {
        let messages = [
            ChatMessage::new(Role::System, "SYS"),
            ChatMessage::new(Role::User, "hi"),
        ];
        let started = start_prompt(&RenderRequest::new(&messages, &[]), "<s>", false).ok();
        let expected =
            format!("<s>SYS\n{SELECT_FUNCTION_INSTRUCTION}\n{AVAILABLE_FUNCTIONS_HEADING}");
        assert_eq!(
            started,
            Some((expected, vec![(1, Turn::User(&messages[1]))]))
        );
    }

    #[test]
    fn answer_formats_parse_and_pick_their_grammar() {
        let braced = AnswerFormat::prefixed("{", true);
        let parsed = braced.parse(r#""function": "f", "params": {"inner_thoughts": "t"}}"#);
        assert_eq!(
            parsed.ok().and_then(|message| message.content).as_deref(),
            Some("t")
        );
        assert_eq!(braced.grammar_style(), None);
        let grammar = AnswerFormat::grammar_constrained(true);
        assert_eq!(
            grammar.grammar_style(),
            Some(GrammarStyle::InnerThoughtsInParams)
        );
    }

    #[test]
    fn parses_an_answer_with_or_without_inner_monologue() {
        let raw = r#" "send_message", "params": {"inner_thoughts": "hm", "message": "hi", "request_heartbeat": true}}"#;
        let prefix = "{\"function\":";
        let parsed = parse_answer(raw, prefix, true).ok();
        assert_eq!(
            parsed,
            Some(AssistantMessage {
                content: Some("hm".to_owned()),
                reasoning: None,
                function_calls: vec![ParsedFunctionCall {
                    name: "send_message".to_owned(),
                    arguments: json!({"message": "hi"}),
                }],
            })
        );
        let plain = parse_answer(raw, prefix, false).ok();
        assert_eq!(
            plain.map(|message| (
                message.content,
                message
                    .function_calls
                    .into_iter()
                    .next()
                    .map(|c| c.arguments)
            )),
            Some((None, Some(json!({"inner_thoughts": "hm", "message": "hi"}))))
        );
    }

    #[test]
    fn unwraps_a_nested_function_object_and_accepts_null_params() {
        let raw = r#"{"function": {"function": "f", "params": null}}"#;
        let parsed = parse_answer(raw, "{", false)
            .ok()
            .and_then(|message| message.function_calls.into_iter().next());
        assert_eq!(
            parsed.map(|call| (call.name, call.arguments)),
            Some(("f".to_owned(), json!({})))
        );
    }

    #[test]
    fn missing_or_malformed_fields_are_reported() {
        for inner_monologue in [true, false] {
            for (raw, field) in [
                (r#"{"params": {}}"#, "function"),
                (r#"{"function": 3, "params": {}}"#, "function"),
                (r#"{"function": "f"}"#, "params"),
                (r#"{"function": "f", "params": "x"}"#, "params"),
            ] {
                let error = parse_answer(raw, "", inner_monologue);
                assert!(
                    matches!(
                        &error,
                        Err(WrapperError::MissingField { field: got, raw_output })
                            if got == field && raw_output == raw
                    ),
                    "{error:?}"
                );
            }
        }
        assert!(matches!(
            parse_answer("", "", false),
            Err(WrapperError::UnparseableOutput { .. })
        ));
    }

    #[test]
    fn several_answers_are_read_as_several_calls() {
        let raw = " \"core_memory_append\",\n  \"params\": {\"inner_thoughts\": \"Save.\", \"name\": \"human\", \"content\": \"Ada\"}\n}\n{\n  \"function\": \"send_message\",\n  \"params\": {\"inner_thoughts\": \"Say hi.\", \"message\": \"Hi Ada\", \"request_heartbeat\": true}\n}";
        let format = AnswerFormat::prefixed("{\n  \"function\":", true);
        let message = format.parse_parallel(raw).unwrap();
        let names: Vec<&str> = message
            .function_calls
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["core_memory_append", "send_message"]);
        assert_eq!(message.content.as_deref(), Some("Save.\nSay hi."));
        assert_eq!(
            message.function_calls[1].arguments,
            json!({"message": "Hi Ada"})
        );
        let one = format.parse(raw).unwrap();
        assert_eq!(one.function_calls.len(), 1);
        assert_eq!(
            format.parse_parallel(" \"f\", \"params\": {}}").ok(),
            format.parse(" \"f\", \"params\": {}}").ok(),
            "one answer reads as the one-answer parse"
        );
        // Without inner monologue (dolphin), the calls keep their arguments.
        let plain = AnswerFormat::prefixed("{\n  \"function\":", false);
        let message = plain.parse_parallel(raw).unwrap();
        assert_eq!(message.content, None);
        assert_eq!(message.function_calls.len(), 2);
    }
}
