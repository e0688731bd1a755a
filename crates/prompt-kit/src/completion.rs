//! The OpenAI chat-completion request and response, as this proxy accepts and returns
//! them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{ChatMessage, FunctionSchema, ResponseMessage, ToolSchema};
use crate::objects_only;

/// A `stop` field: one string or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StopSequences {
    /// A single stop string.
    One(String),
    /// Several stop strings.
    Many(Vec<String>),
}

impl StopSequences {
    /// The stop strings as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            StopSequences::One(one) => vec![one.clone()],
            StopSequences::Many(many) => many.clone(),
        }
    }
}

/// An OpenAI chat-completion request, plus the MemGPT-style extras (`first_message`,
/// `wrapper`, `function_correction`).
///
/// Every field of OpenAI's Chat Completions request has a place here, so that each
/// one is either honoured or refused by name (the orchestrator's field check). A
/// field OpenAI does not define is refused when the request is read (serde's
/// `unknown field` error, which the server words as OpenAI does: `Unrecognized
/// request argument supplied`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatCompletionRequest {
    /// The model name (required by some backends, e.g. ollama and vLLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation.
    #[serde(deserialize_with = "objects_only::objects")]
    pub messages: Vec<ChatMessage>,
    /// Legacy function schemas.
    #[serde(
        default,
        deserialize_with = "objects_only::optional_objects",
        skip_serializing_if = "Option::is_none"
    )]
    pub functions: Option<Vec<FunctionSchema>>,
    /// Legacy `function_call` choice (`"auto"`, `"none"`, or `{"name": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<Value>,
    /// Tool schemas.
    #[serde(
        default,
        deserialize_with = "objects_only::optional_objects",
        skip_serializing_if = "Option::is_none"
    )]
    pub tools: Option<Vec<ToolSchema>>,
    /// Tool choice (`"auto"`, `"none"`, `"required"`, or `{"type": "function", …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Most tokens to generate (the older name; see
    /// [`max_completion_tokens`](Self::max_completion_tokens)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Most tokens to generate, as the newer OpenAI SDKs send it; wins over
    /// `max_tokens` when both are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// How many choices to generate (only 1 is served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Extra stop strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopSequences>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// End-user id (passed to vLLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Stream the answer (server only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (server only): `include_usage` adds a final usage chunk.
    #[serde(
        default,
        deserialize_with = "objects_only::optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_options: Option<StreamOptions>,
    /// Return log probabilities (refused when `true`: no backend returns them here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// How many most likely tokens to return per position (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Token-id biases (refused unless empty or `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    /// Audio output parameters (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Value>,
    /// Output modalities (only `["text"]` is served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<String>>,
    /// Predicted output (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Value>,
    /// Web search options (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_options: Option<Value>,
    /// Reasoning effort for reasoning models (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Answer verbosity for newer OpenAI models (refused unless `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    /// Store the completion at OpenAI (accepted; nothing is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Key-value tags for stored completions (accepted; changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// OpenAI's processing tier (accepted; changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// OpenAI's prompt-cache bucket (accepted; changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// OpenAI's prompt-cache retention (accepted; changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_retention: Option<String>,
    /// A stable end-user id for abuse detection (accepted; changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// MemGPT extra: pre-seed the agent's first reply with `send_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<bool>,
    /// MemGPT extra: the wrapper to use, overriding the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
    /// MemGPT extra: switch the heartbeat correction on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_correction: Option<bool>,
    /// The answer's format: plain text (the default), one JSON object, or JSON
    /// validating against a schema.
    #[serde(
        default,
        deserialize_with = "objects_only::optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub response_format: Option<ResponseFormat>,
    /// Whether a reply may hold several calls (OpenAI's default: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
}

/// A request's `response_format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Plain text: the default.
    Text,
    /// The content is one JSON object ("JSON mode").
    JsonObject,
    /// The content is JSON validating against a schema (structured outputs).
    JsonSchema {
        /// The schema and its name.
        #[serde(deserialize_with = "objects_only::object")]
        json_schema: JsonSchemaFormat,
    },
}

/// The `json_schema` of a `response_format` of type `json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The format's name (`a-z`, `A-Z`, `0-9`, `_`, `-`; at most 64 characters).
    pub name: String,
    /// What the format is for (shown to the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema the content must validate against (`None`: any JSON value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// OpenAI's strict mode. Validation is always strict here; the field is
    /// accepted either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A request's `stream_options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` (and no choices) before `data: [DONE]`.
    #[serde(default)]
    pub include_usage: bool,
}

impl ChatCompletionRequest {
    /// The functions offered: `functions`, or else the functions of `tools`.
    pub fn function_schemas(&self) -> Vec<FunctionSchema> {
        match (&self.functions, &self.tools) {
            (Some(functions), _) => functions.clone(),
            (None, Some(tools)) => tools.iter().map(|tool| tool.function.clone()).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Whether the caller uses the legacy `functions` form (and so expects
    /// `message.function_call` and `finish_reason: "function_call"`).
    pub fn uses_legacy_functions(&self) -> bool {
        self.functions.is_some() && self.tools.is_none()
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model finished, or hit a stop sequence.
    Stop,
    /// The token limit was reached.
    Length,
    /// The answer is a tool call.
    ToolCalls,
    /// The answer is a legacy function call.
    FunctionCall,
    /// OpenAI's content filter stopped the answer (never produced by this proxy; here
    /// so that every OpenAI value reads).
    ContentFilter,
}

/// Token counts of one completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

/// The one choice of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Always 0.
    pub index: u32,
    /// The assistant message.
    pub message: ResponseMessage,
    /// Log probabilities: always `null` (sent, as OpenAI sends it; requests asking
    /// for them are refused).
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
}

/// An OpenAI chat-completion response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionResponse {
    /// `chatcmpl-…`.
    pub id: String,
    /// Always `"chat.completion"`.
    pub object: String,
    /// Unix time of creation, in seconds.
    pub created: u64,
    /// The model name.
    pub model: String,
    /// Which build of the proxy answered (`fp_ccp_<version>`), as OpenAI's names
    /// the backend configuration; `null` when unknown.
    #[serde(default)]
    pub system_fingerprint: Option<String>,
    /// Exactly one choice.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: Usage,
}
