//! llama.cpp's own tool calling, the fidelity table's `native` row: the conversation
//! and its functions sent to llama-server's `/v1/chat/completions` as OpenAI `tools`.

use chat_completion_proxy::{ChatMessage, FunctionSchema, ResponseMessage};
use serde_json::{json, Value};

use super::*;

/// A warning when llama-server says (`/props`, `chat_template_caps.supports_tools`) that
/// the model's chat template takes no tools: the server then leaves `tools` out of the
/// prompt and constrains nothing, so the native row measures plain text.
pub(super) fn template_note(setup: &Setup) -> Option<String> {
    let props = setup.runtime.block_on(async {
        let url = format!("{}/props", setup.url.trim_end_matches('/'));
        setup.http.get(url).send().await?.json::<Value>().await
    });
    let props = match props {
        Ok(props) => props,
        Err(error) => return Some(format!("note: cannot read llama-server's /props ({error})")),
    };
    match props
        .pointer("/chat_template_caps/supports_tools")
        .and_then(Value::as_bool)
    {
        Some(false) => Some(
            "note: llama-server reports chat_template_caps.supports_tools = false for this model's \
             template: it leaves `tools` out of the prompt and constrains nothing, so native answers \
             are plain text"
                .to_owned(),
        ),
        _ => None,
    }
}

/// One request to llama-server's own tool calling.
pub(super) fn native(setup: &Setup, conversation: &Conversation) -> Outcome {
    let body = native_body(
        &conversation.request.messages,
        &conversation.functions,
        setup.max_tokens,
    );
    let reply = setup.runtime.block_on(async {
        let response = setup
            .http
            .post(format!(
                "{}/v1/chat/completions",
                setup.url.trim_end_matches('/')
            ))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    });
    let reply = match reply {
        Ok((status, text)) if status.is_success() => text,
        Ok((status, text)) => {
            eprintln!("{NATIVE} on {}: HTTP {status}: {text}", conversation.case);
            return Outcome::failed(Verdict::Other);
        }
        Err(error) => {
            eprintln!("{NATIVE} on {}: {error}", conversation.case);
            return Outcome::failed(Verdict::Other);
        }
    };
    match read_native_reply(&reply) {
        Ok((message, finish, completion_tokens)) => {
            let verdict = if message.tool_calls.as_ref().is_none_or(Vec::is_empty) {
                eprintln!(
                    "{NATIVE} on {} (finish_reason {finish}): no tool_calls; content {:?}",
                    conversation.case, message.content
                );
                Verdict::Unparsable
            } else {
                judge(NATIVE, conversation, &message, &finish)
            };
            Outcome {
                verdict,
                cut_at_limit: finish == "length",
                completion_tokens,
            }
        }
        Err(problem) => {
            eprintln!("{NATIVE} on {}: {problem}: {reply}", conversation.case);
            Outcome::failed(Verdict::Other)
        }
    }
}

/// The OpenAI request for llama-server's own tool calling: the conversation, its
/// functions as `tools`, `tool_choice: "required"` and `max_tokens`.
fn native_body(messages: &[ChatMessage], functions: &[FunctionSchema], max_tokens: u64) -> Value {
    let tools: Vec<Value> = functions
        .iter()
        .map(|function| json!({"type": "function", "function": function}))
        .collect();
    json!({
        "messages": tool_form(messages),
        "tools": tools,
        "tool_choice": "required",
        "max_tokens": max_tokens,
    })
}

/// `messages` as JSON, with each legacy assistant `function_call` written as a one-entry
/// `tool_calls` (id `call_<n>`) and each `function` message as the `tool` message that
/// answers the latest such call (llama-server's chat templates read that form).
fn tool_form(messages: &[ChatMessage]) -> Vec<Value> {
    let mut calls = 0;
    let mut latest_call = None;
    messages
        .iter()
        .map(|message| {
            let mut value = serde_json::to_value(message).unwrap_or_default();
            let Some(object) = value.as_object_mut() else {
                return value;
            };
            if let Some(call) = object.remove("function_call") {
                calls += 1;
                let id = format!("call_{calls}");
                object.insert(
                    "tool_calls".to_owned(),
                    json!([{"id": id, "type": "function", "function": call}]),
                );
                latest_call = Some(id);
            }
            if object.get("role").and_then(Value::as_str) == Some("function") {
                object.insert("role".to_owned(), json!("tool"));
                if let Some(id) = &latest_call {
                    object.insert("tool_call_id".to_owned(), json!(id));
                }
            }
            value
        })
        .collect()
}

/// The first choice's message, its `finish_reason` and the reply's completion tokens
/// (when it states `usage`).
fn read_native_reply(reply: &str) -> Result<(ResponseMessage, Value, Option<u64>), String> {
    let reply: Value =
        serde_json::from_str(reply).map_err(|error| format!("the reply is not JSON ({error})"))?;
    let choice = reply
        .pointer("/choices/0")
        .ok_or("the reply has no choices")?;
    let message = choice
        .get("message")
        .cloned()
        .ok_or("the choice has no message")?;
    let message: ResponseMessage = serde_json::from_value(message)
        .map_err(|error| format!("the message does not read as an OpenAI message ({error})"))?;
    let finish = choice.get("finish_reason").cloned().unwrap_or(Value::Null);
    let tokens = reply
        .pointer("/usage/completion_tokens")
        .and_then(Value::as_u64);
    Ok((message, finish, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_function_messages_are_sent_in_the_tool_form() {
        let messages: Vec<ChatMessage> = serde_json::from_value(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null,
             "function_call": {"name": "f", "arguments": "{\"a\":1}"}},
            {"role": "function", "name": "f", "content": "{\"ok\":true}"},
        ]))
        .unwrap();
        let sent = tool_form(&messages);
        assert_eq!(sent[0], json!({"role": "user", "content": "hi"}));
        assert_eq!(
            sent[1]["tool_calls"],
            json!([{"id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": "{\"a\":1}"}}])
        );
        assert!(sent[1].get("function_call").is_none());
        assert_eq!(sent[2]["role"], "tool");
        assert_eq!(sent[2]["tool_call_id"], "call_1");
        let body = native_body(&messages, &[], 64);
        assert_eq!(
            (body["tool_choice"].clone(), body["max_tokens"].clone()),
            (json!("required"), json!(64))
        );
    }

    #[test]
    fn a_native_reply_gives_its_message_finish_reason_and_tokens() {
        let reply = json!({
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "x", "type": "function",
                                "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"completion_tokens": 12, "prompt_tokens": 3, "total_tokens": 15}
        });
        let (message, finish, tokens) = read_native_reply(&reply.to_string()).unwrap();
        assert_eq!(message.tool_calls.map(|calls| calls.len()), Some(1));
        assert_eq!((finish, tokens), (json!("tool_calls"), Some(12)));
        assert!(read_native_reply("{\"choices\": []}").is_err());
        assert!(read_native_reply("not json").is_err());
    }
}
