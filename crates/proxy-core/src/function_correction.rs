//! MemGPT's heartbeat correction (`patch_function`): when the agent answers a user's
//! message by calling a function other than `send_message`/`pause_heartbeats`, it
//! almost always means to follow up, so `request_heartbeat: true` is added to the call.

use serde_json::Value;

use crate::chat::{AssistantMessage, ChatMessage, Role};
use crate::python_json;

/// Functions after which the agent does not need a heartbeat.
pub const NO_HEARTBEAT_FUNCTIONS: [&str; 2] = ["send_message", "pause_heartbeats"];

/// Whether `message` is a MemGPT user message: a `user` message whose content is a JSON
/// object with `"type": "user_message"` (system events such as logins and heartbeats
/// also arrive as `user` messages, with other types).
fn is_user_message(message: &ChatMessage) -> bool {
    if message.role != Role::User {
        return false;
    }
    let Some(text) = message.text() else {
        return false;
    };
    python_json::loads(&text)
        .ok()
        .and_then(|content| {
            content
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .is_some_and(|kind| kind == "user_message")
}

/// Whether a reply to `history` gets the heartbeat correction: the conversation ends
/// with a MemGPT user message. Decided once, before the call.
pub fn answers_user_message(history: &[ChatMessage]) -> bool {
    history.last().is_some_and(is_user_message)
}

/// Adds `request_heartbeat: true` to each of the reply's calls that does not call
/// `send_message`/`pause_heartbeats` (for a reply to a conversation that
/// [`answers_user_message`]). Returns whether the reply was changed.
pub fn add_heartbeat(reply: &mut AssistantMessage) -> bool {
    let mut changed = false;
    for call in &mut reply.function_calls {
        if NO_HEARTBEAT_FUNCTIONS.contains(&call.name.as_str()) {
            continue;
        }
        if let Some(arguments) = call.arguments.as_object_mut() {
            arguments.insert("request_heartbeat".to_owned(), Value::Bool(true));
            changed = true;
        }
    }
    changed
}

/// Applies the heartbeat correction to `reply`, given the conversation it answers.
/// Returns whether the reply was changed.
pub fn correct_heartbeat(history: &[ChatMessage], reply: &mut AssistantMessage) -> bool {
    answers_user_message(history) && add_heartbeat(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ParsedFunctionCall;
    use serde_json::json;

    fn reply(name: &str, arguments: Value) -> AssistantMessage {
        AssistantMessage {
            content: Some("thinking".to_owned()),
            reasoning: None,
            function_calls: vec![ParsedFunctionCall {
                name: name.to_owned(),
                arguments,
            }],
        }
    }

    fn user(content: &str) -> ChatMessage {
        ChatMessage::new(Role::User, content)
    }

    #[test]
    fn adds_heartbeat_after_a_user_message() {
        let history = [user(
            r#"{"type": "user_message", "message": "remember this"}"#,
        )];
        let mut message = reply(
            "core_memory_append",
            json!({"name": "human", "content": "x"}),
        );
        assert!(correct_heartbeat(&history, &mut message));
        assert_eq!(
            message
                .function_calls
                .into_iter()
                .next()
                .map(|call| call.arguments),
            Some(json!({"name": "human", "content": "x", "request_heartbeat": true}))
        );
    }

    #[test]
    fn leaves_send_message_and_pause_heartbeats_alone() {
        let history = [user(r#"{"type": "user_message", "message": "hi"}"#)];
        for name in NO_HEARTBEAT_FUNCTIONS {
            let mut message = reply(name, json!({"message": "hello"}));
            assert!(!correct_heartbeat(&history, &mut message));
            assert_eq!(
                message
                    .function_calls
                    .into_iter()
                    .next()
                    .map(|call| call.arguments),
                Some(json!({"message": "hello"}))
            );
        }
    }

    #[test]
    fn leaves_replies_to_system_events_and_plain_text_alone() {
        for content in [
            r#"{"type": "heartbeat", "reason": "timer"}"#,
            r#"{"message": "no type field"}"#,
            "plain text, not JSON",
        ] {
            let mut message = reply("archival_memory_search", json!({"query": "tea"}));
            assert!(
                !correct_heartbeat(&[user(content)], &mut message),
                "{content}"
            );
        }
        let mut message = reply("archival_memory_search", json!({"query": "tea"}));
        assert!(!correct_heartbeat(&[], &mut message));
    }
}
