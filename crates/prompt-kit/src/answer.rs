//! What a wrapper reads out of a model's text ([`AssistantMessage`]: content, calls
//! with parsed arguments, reasoning) and its OpenAI response form
//! ([`ResponseMessage`]), converted only at the edge.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::{function_type, FunctionCall, Role, ToolCall};

/// A parsed function call with its arguments as a JSON value (converted to a string
/// only at the edge, see [`crate::python_json`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFunctionCall {
    /// The called function's name.
    pub name: String,
    /// The call's arguments (a JSON object for every well-formed call).
    pub arguments: Value,
}

impl ParsedFunctionCall {
    /// The arguments as the JSON string OpenAI clients expect (indented as the
    /// reference writes them).
    pub fn arguments_json(&self) -> String {
        crate::python_json::dumps_indented(&self.arguments)
    }

    /// The call in the wire form, with its arguments as a JSON string.
    pub fn to_function_call(&self) -> FunctionCall {
        FunctionCall {
            name: self.name.clone(),
            arguments: self.arguments_json(),
        }
    }
}

/// The assistant message a wrapper parses out of a model's raw text.
#[derive(Debug, Clone, PartialEq)]
pub struct AssistantMessage {
    /// The inner thoughts or plain text (`None` when there were none).
    pub content: Option<String>,
    /// The model's reasoning, written apart from its answer (a `<think>` block), sent
    /// as `reasoning_content`; `None` when there was none.
    pub reasoning: Option<String>,
    /// The function calls the model made, in the order it wrote them (empty: none).
    /// One at most from [`PromptWrapper::parse_output`](crate::PromptWrapper::parse_output);
    /// several only from
    /// [`parse_parallel_output`](crate::PromptWrapper::parse_parallel_output), for
    /// requests that allow parallel tool calls.
    pub function_calls: Vec<ParsedFunctionCall>,
}

/// The assistant message of an OpenAI chat-completion response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// Always [`Role::Assistant`].
    pub role: Role,
    /// The inner thoughts or plain text.
    pub content: Option<String>,
    /// The model's reasoning apart from its answer, as DeepSeek, vLLM and llama.cpp
    /// send it; absent from the JSON when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// A refusal by the model: always `null` (sent, as OpenAI sends it; local models
    /// refuse in `content`).
    #[serde(default)]
    pub refusal: Option<String>,
    /// The calls the model made, in order, each with its own id (callers that sent
    /// `tools`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call in the legacy `function_call` form, for callers that sent
    /// `functions` instead of `tools` (they get no `tool_calls`, as from OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
}

/// A fresh, unique tool-call id (`call_` followed by 24 hex digits).
pub fn new_tool_call_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("call_{}", &id[..24])
}

impl AssistantMessage {
    /// A message with this content and no call.
    pub fn text(content: Option<String>) -> Self {
        AssistantMessage {
            content,
            reasoning: None,
            function_calls: Vec::new(),
        }
    }

    /// A message with this content and one call.
    pub fn with_call(content: Option<String>, call: ParsedFunctionCall) -> Self {
        AssistantMessage {
            content,
            reasoning: None,
            function_calls: vec![call],
        }
    }

    /// The first call, if any.
    pub fn first_call(&self) -> Option<&ParsedFunctionCall> {
        self.function_calls.first()
    }

    /// Several answers read one after another as one message: their calls in order,
    /// their contents (the inner thoughts of each) joined with a line feed, each
    /// distinct text once (the prompts show a message's thoughts in every one of its
    /// calls, so a model repeats them); `None` when none has content. Their
    /// reasoning is joined the same way.
    pub fn merged(answers: impl IntoIterator<Item = AssistantMessage>) -> Self {
        let mut contents: Vec<String> = Vec::new();
        let mut reasonings: Vec<String> = Vec::new();
        let mut function_calls = Vec::new();
        for answer in answers {
            push_distinct(&mut contents, answer.content);
            push_distinct(&mut reasonings, answer.reasoning);
            function_calls.extend(answer.function_calls);
        }
        AssistantMessage {
            content: (!contents.is_empty()).then(|| contents.join("\n")),
            reasoning: (!reasonings.is_empty()).then(|| reasonings.join("\n")),
            function_calls,
        }
    }

    /// Converts to the response form: the calls (if any) as `tool_calls`, each with a
    /// fresh id, in order; or — when `legacy_function_call` is set — the first call
    /// as `function_call` alone (as OpenAI answers `functions` callers, who get one
    /// call and no `tool_calls`: a client reading both would run the call twice).
    pub fn to_response_message(&self, legacy_function_call: bool) -> ResponseMessage {
        let (tool_calls, function_call) = match self.function_calls.as_slice() {
            [] => (None, None),
            [first, ..] if legacy_function_call => (None, Some(first.to_function_call())),
            calls => (
                Some(
                    calls
                        .iter()
                        .map(|call| ToolCall {
                            id: new_tool_call_id(),
                            kind: function_type(),
                            function: call.to_function_call(),
                        })
                        .collect(),
                ),
                None,
            ),
        };
        ResponseMessage {
            role: Role::Assistant,
            content: self.content.clone(),
            reasoning_content: self.reasoning.clone(),
            refusal: None,
            tool_calls,
            function_call,
        }
    }
}

/// Appends `text` to `texts` unless it is `None` or already there.
fn push_distinct(texts: &mut Vec<String>, text: Option<String>) {
    if let Some(text) = text {
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str) -> ParsedFunctionCall {
        ParsedFunctionCall {
            name: name.to_owned(),
            arguments: json!({"x": 1}),
        }
    }

    #[test]
    fn several_calls_become_tool_calls_with_their_own_ids_in_order() {
        let message = AssistantMessage {
            content: Some("two things".into()),
            reasoning: None,
            function_calls: vec![call("a"), call("b")],
        };
        let response = message.to_response_message(false);
        let tool_calls = response.tool_calls.unwrap();
        let names: Vec<&str> = tool_calls
            .iter()
            .map(|c| c.function.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_ne!(tool_calls[0].id, tool_calls[1].id);
        assert_eq!(tool_calls[1].function.arguments, "{\n  \"x\": 1\n}");
        assert_eq!(response.function_call, None);
        let legacy = message.to_response_message(true);
        assert_eq!(legacy.tool_calls, None);
        assert_eq!(legacy.function_call.map(|c| c.name).as_deref(), Some("a"));
    }

    #[test]
    fn reasoning_is_sent_as_reasoning_content_only_when_there_is_some() {
        let mut message = AssistantMessage::text(Some("Paris.".into()));
        let plain = serde_json::to_string(&message.to_response_message(false)).unwrap();
        assert_eq!(
            plain,
            r#"{"role":"assistant","content":"Paris.","refusal":null}"#
        );
        message.reasoning = Some("The capital of France.".into());
        let with_reasoning = serde_json::to_value(message.to_response_message(false)).unwrap();
        assert_eq!(
            with_reasoning,
            json!({"role": "assistant", "content": "Paris.",
                "reasoning_content": "The capital of France.", "refusal": null})
        );
    }

    #[test]
    fn merged_answers_join_their_reasoning() {
        let mut first = AssistantMessage::with_call(None, call("a"));
        first.reasoning = Some("think a".into());
        let mut second = AssistantMessage::with_call(None, call("b"));
        second.reasoning = Some("think b".into());
        let merged = AssistantMessage::merged([first.clone(), second, first]);
        assert_eq!(merged.reasoning.as_deref(), Some("think a\nthink b"));
        assert_eq!(merged.content, None);
    }

    #[test]
    fn merged_answers_keep_every_call_and_join_the_thoughts() {
        let merged = AssistantMessage::merged([
            AssistantMessage::with_call(Some("first".into()), call("a")),
            AssistantMessage::text(None),
            AssistantMessage::with_call(Some("second".into()), call("b")),
            AssistantMessage::with_call(Some("first".into()), call("c")),
        ]);
        assert_eq!(merged.content.as_deref(), Some("first\nsecond"));
        assert_eq!(merged.function_calls, vec![call("a"), call("b"), call("c")]);
        assert_eq!(
            AssistantMessage::merged([AssistantMessage::text(None)]),
            AssistantMessage::text(None)
        );
    }
}
