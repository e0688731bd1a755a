//! OpenAI Chat Completions wire types shared by every crate.
//!
//! Input types accept what OpenAI clients send: unknown fields are ignored, optional
//! fields may be absent or `null`, and `content` may be a string, `null`, or an array
//! of content parts (text and images). Struct-valued fields, nested ones included
//! (`tool_calls[].function`, `function_call`, content parts, `image_url`), are read
//! from JSON objects only ([`crate::objects_only`]): serde's derive alone would also
//! read an array, field by field.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::answer::{new_tool_call_id, AssistantMessage, ParsedFunctionCall, ResponseMessage};
use crate::image::ImageUrl;
use crate::objects_only;

/// The author of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model; the first message of a MemGPT-style conversation.
    /// OpenAI's newer `developer` role is read as this (it is the same instruction
    /// turn; the newer SDKs and agent frameworks send it instead of `system`).
    #[serde(alias = "developer")]
    System,
    /// A message from the user (MemGPT sends JSON events here).
    User,
    /// A reply from the model, possibly with a function or tool call.
    Assistant,
    /// The result of a legacy `function_call`.
    Function,
    /// The result of a `tool_calls` entry.
    Tool,
}

impl Role {
    /// The role's name as it appears on the wire (`"system"`, `"user"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Function => "function",
            Role::Tool => "tool",
        }
    }
}

/// One part of an array-valued `content`, as OpenAI clients send it: a JSON object
/// whose `type` is `"text"` or `"image_url"`. Any other type (`input_audio`, `file`,
/// `refusal`, …) is refused when the request is read, naming the part; other keys of
/// the object are ignored, as in the rest of the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// `{"type": "text", "text": …}`.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type": "image_url", "image_url": {"url": …, "detail": …}}`: an image, which
    /// the orchestrator forwards to backends that take images and refuses elsewhere.
    ImageUrl {
        /// The image and its resolution hint.
        image_url: ImageUrl,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// The part's text; `None` for an image.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentPart::Text { text } => Some(text),
            ContentPart::ImageUrl { .. } => None,
        }
    }

    /// The part's `type` as it appears on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            ContentPart::Text { .. } => "text",
            ContentPart::ImageUrl { .. } => "image_url",
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContentPartVisitor)
    }
}

/// Reads a content part from a JSON object (and only from one): its `type`, then the
/// field that type needs.
struct ContentPartVisitor;

impl<'de> Visitor<'de> for ContentPartVisitor {
    type Value = ContentPart;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a content part object (`type` `text` or `image_url`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentPart, A::Error> {
        let mut kind: Option<String> = None;
        let mut text: Option<String> = None;
        let mut image_url: Option<ImageUrl> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => kind = Some(map.next_value()?),
                "text" => text = map.next_value()?,
                "image_url" => {
                    image_url = map
                        .next_value::<objects_only::Object<ImageUrl>>()
                        .map(|objects_only::Object(inner)| Some(inner))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind.as_deref() {
            Some("text") => text
                .map(|text| ContentPart::Text { text })
                .ok_or_else(|| de::Error::missing_field("text")),
            Some("image_url") => image_url
                .map(|image_url| ContentPart::ImageUrl { image_url })
                .ok_or_else(|| de::Error::missing_field("image_url")),
            Some(other) => Err(de::Error::custom(format_args!(
                "content part type `{}` is not supported; this proxy reads `text` and `image_url` parts (send audio or files as text, or leave them out)",
                other.chars().take(40).collect::<String>()
            ))),
            None => Err(de::Error::missing_field("type")),
        }
    }
}

/// A message's `content`: a plain string or an array of parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts; the text parts are joined for prompt rendering.
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MessageContentVisitor)
    }
}

/// Reads `content` from a string or an array of content-part objects, so that an
/// error inside a part names the part (an untagged enum would only say that nothing
/// matched).
struct MessageContentVisitor;

impl<'de> Visitor<'de> for MessageContentVisitor {
    type Value = MessageContent;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or an array of content parts")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<MessageContent, E> {
        Ok(MessageContent::Text(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<MessageContent, E> {
        Ok(MessageContent::Text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageContent, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(part) = seq.next_element::<ContentPart>()? {
            parts.push(part);
        }
        Ok(MessageContent::Parts(parts))
    }
}

impl MessageContent {
    /// The text of this content: the string itself, or the text parts joined with `\n`
    /// (image parts have no text: the orchestrator puts a backend's image marker in
    /// their place before rendering, or refuses them).
    pub fn to_text(&self) -> String {
        match self {
            MessageContent::Text(text) => text.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(ContentPart::as_text)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The image parts, in order; empty for plain text.
    pub fn images(&self) -> impl Iterator<Item = (usize, &ImageUrl)> {
        let parts = match self {
            MessageContent::Text(_) => &[][..],
            MessageContent::Parts(parts) => parts.as_slice(),
        };
        parts
            .iter()
            .enumerate()
            .filter_map(|(index, part)| match part {
                ContentPart::ImageUrl { image_url } => Some((index, image_url)),
                ContentPart::Text { .. } => None,
            })
    }
}

/// A function call as it appears in a request message: `arguments` is a JSON string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The called function's name.
    pub name: String,
    /// The arguments, encoded as a JSON object in a string. Given as a JSON object (as
    /// Hugging Face chat templates and some clients write history), they are read as
    /// that object's JSON text; `null` is no arguments.
    #[serde(default, deserialize_with = "arguments_text")]
    pub arguments: String,
}

/// Reads `arguments` given as a string (OpenAI's form), as any other JSON value (its
/// compact JSON text), or as `null` (empty).
fn arguments_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => text,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// One entry of an assistant message's `tool_calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed back in the `tool` message that answers it.
    #[serde(default)]
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function called (a JSON object).
    #[serde(deserialize_with = "objects_only::object")]
    pub function: FunctionCall,
}

pub(crate) fn function_type() -> String {
    "function".to_owned()
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote the message.
    pub role: Role,
    /// The text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// An optional author name (AutoGen-style custom roles, or the function's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A legacy function call made by an assistant message (a JSON object).
    #[serde(
        default,
        deserialize_with = "objects_only::optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub function_call: Option<FunctionCall>,
    /// Tool calls made by an assistant message (JSON objects).
    #[serde(
        default,
        deserialize_with = "objects_only::optional_objects",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// For `tool` messages: the id of the call being answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message with the given role and text content, and nothing else.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Some(MessageContent::Text(content.into())),
            name: None,
            function_call: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }

    /// The message's text; `None` when `content` is absent or `null`.
    pub fn text(&self) -> Option<String> {
        self.content.as_ref().map(MessageContent::to_text)
    }

    /// The message's text, borrowed when the content is a plain string, or the empty
    /// string when there is none ([`text_or_empty`](Self::text_or_empty) without
    /// the copy).
    pub fn text_cow(&self) -> Cow<'_, str> {
        match &self.content {
            Some(MessageContent::Text(text)) => Cow::Borrowed(text),
            Some(content) => Cow::Owned(content.to_text()),
            None => Cow::Borrowed(""),
        }
    }

    /// The message's text, or the empty string when there is none.
    pub fn text_or_empty(&self) -> String {
        self.text().unwrap_or_default()
    }

    /// The function calls this message makes: its `function_call`, or else each of its
    /// `tool_calls`, in order.
    pub fn calls(&self) -> Vec<&FunctionCall> {
        if let Some(call) = &self.function_call {
            return vec![call];
        }
        self.tool_calls
            .iter()
            .flatten()
            .map(|tool_call| &tool_call.function)
            .collect()
    }
}

/// A function's JSON schema, as in the legacy `functions` request field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSchema {
    /// The function's name.
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema object describing the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// One entry of the `tools` request field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSchema {
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function offered (a JSON object).
    #[serde(deserialize_with = "objects_only::object")]
    pub function: FunctionSchema,
}

#[cfg(test)]
mod message_reading_tests {
    use super::*;
    use crate::image::ImageDetail;
    use serde_json::json;

    #[test]
    fn developer_is_read_as_system() {
        let message: ChatMessage =
            serde_json::from_value(json!({"role": "developer", "content": "Be brief."})).unwrap();
        assert_eq!(message.role, Role::System);
        assert_eq!(message.text().as_deref(), Some("Be brief."));
    }

    #[test]
    fn history_arguments_may_be_an_object_a_string_or_null() {
        let read = |arguments: Value| -> String {
            let message: ChatMessage = serde_json::from_value(json!({
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": arguments}}]
            }))
            .unwrap();
            message.tool_calls.unwrap()[0].function.arguments.clone()
        };
        assert_eq!(read(json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(read(json!("{\"a\": 1}")), "{\"a\": 1}");
        assert_eq!(read(json!(null)), "");
    }

    #[test]
    fn content_parts_are_text_and_images_in_order() {
        let message: ChatMessage = serde_json::from_value(json!({"role": "user", "content": [
            {"type": "text", "text": "What is this?", "cache_control": {"type": "x"}},
            {"image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"}, "type": "image_url"},
            {"type": "text", "text": "And this?"}
        ]}))
        .unwrap();
        let content = message.content.as_ref().unwrap();
        assert_eq!(content.to_text(), "What is this?\nAnd this?");
        let images: Vec<(usize, &str)> = content
            .images()
            .map(|(index, image)| (index, image.url.as_str()))
            .collect();
        assert_eq!(images, [(1, "data:image/png;base64,AAAA")]);
        assert!(matches!(
            &content,
            MessageContent::Parts(parts) if parts[1].kind() == "image_url"
                && matches!(&parts[1], ContentPart::ImageUrl { image_url } if image_url.detail == Some(ImageDetail::Auto))
        ));
        // Written back as it was read.
        assert_eq!(
            serde_json::to_value(content).unwrap()[1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"}})
        );
    }

    /// The path serde_path_to_error gives (what the server puts in `param`) and the
    /// error text, for a body read as a message.
    fn message_error(body: Value) -> (String, String) {
        let text = body.to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let error = serde_path_to_error::deserialize::<_, ChatMessage>(&mut deserializer)
            .expect_err("the body is refused");
        (error.path().to_string(), error.into_inner().to_string())
    }

    #[test]
    fn other_part_types_and_malformed_parts_are_refused_naming_the_part() {
        let (path, error) = message_error(json!({"role": "user", "content": [
            {"type": "text", "text": "hi"},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}));
        assert_eq!(path, "content[1]");
        assert!(error.contains("`input_audio` is not supported"), "{error}");
        let (path, error) = message_error(json!({"role": "user", "content": [{"text": "hi"}]}));
        assert_eq!(path, "content[0]");
        assert!(error.contains("missing field `type`"), "{error}");
        let (path, error) =
            message_error(json!({"role": "user", "content": [{"type": "image_url"}]}));
        assert_eq!(path, "content[0]");
        assert!(error.contains("missing field `image_url`"), "{error}");
        let (path, error) = message_error(json!({"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,", "detail": "ultra"}}]}));
        assert_eq!(path, "content[0].image_url.detail");
        assert!(error.contains("unknown variant `ultra`"), "{error}");
        let (path, error) = message_error(json!({"role": "user", "content": 5}));
        assert_eq!(path, "content");
        assert!(
            error.contains("a string or an array of content parts"),
            "{error}"
        );
    }

    #[test]
    fn nested_structs_are_read_from_objects_only() {
        // serde's derive alone reads each of these arrays field by field.
        let cases = [
            (
                json!({"role": "user", "content": [["text", "hi"]]}),
                "content[0]",
            ),
            (
                json!({"role": "user", "content": [
                    {"type": "image_url", "image_url": ["data:image/png;base64,AAAA"]}]}),
                "content[0].image_url",
            ),
            (
                json!({"role": "assistant", "function_call": ["f", "{}"]}),
                "function_call",
            ),
            (
                json!({"role": "assistant", "tool_calls": [["call_1", "function", {"name": "f"}]]}),
                "tool_calls[0]",
            ),
            (
                json!({"role": "assistant", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": ["f", "{}"]}]}),
                "tool_calls[0].function",
            ),
        ];
        for (body, field) in cases {
            let (path, error) = message_error(body.clone());
            assert_eq!(path, field, "{body}");
            assert!(
                error.contains("expected a JSON object") || error.contains("content part object"),
                "{body}: {error}"
            );
        }
        let tool: Result<ToolSchema, _> =
            serde_json::from_value(json!({"type": "function", "function": ["f", "does f"]}));
        assert!(tool
            .unwrap_err()
            .to_string()
            .contains("expected a JSON object"));
        let tool: ToolSchema =
            serde_json::from_value(json!({"type": "function", "function": {"name": "f"}})).unwrap();
        assert_eq!(tool.function.name, "f");
    }
}
