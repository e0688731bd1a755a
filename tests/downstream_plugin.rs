//! A wrapper from a downstream crate (`tests/downstream-wrapper`, which depends on
//! `proxy-core` only) is discovered, renders and parses through the facade's registry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

// Without a reference the linker drops the crate and its registration with it.
use downstream_wrapper as _;

use chat_completion_proxy::RenderRequest;
use chat_completion_proxy::{available_wrappers, find_wrapper, ChatMessage, FunctionCall, Role};

const NAME: &str = "downstream-plain";

#[test]
fn downstream_wrapper_is_listed() {
    assert!(
        available_wrappers().contains(&NAME),
        "`{NAME}` missing from {:?}",
        available_wrappers()
    );
}

#[test]
fn downstream_wrapper_renders_a_conversation() {
    // Setup
    let mut reply = ChatMessage::new(Role::Assistant, "Greet them.");
    reply.function_call = Some(FunctionCall {
        name: "send_message".to_owned(),
        arguments: r#"{"message": "Hello!"}"#.to_owned(),
    });
    let messages = [
        ChatMessage::new(Role::System, "You are Sam."),
        ChatMessage::new(Role::User, "hi"),
        reply,
        ChatMessage::new(Role::Function, r#"{"status": "OK"}"#),
    ];
    // Exec
    let wrapper = find_wrapper(NAME).unwrap();
    let prompt = wrapper
        .render_prompt(&RenderRequest::new(&messages, &[]))
        .unwrap();
    // Check
    assert_eq!(
        prompt,
        "system: You are Sam.\nuser: hi\nassistant: Greet them.\ncall send_message {\"message\": \"Hello!\"}\nfunction: {\"status\": \"OK\"}\nassistant:"
    );
}

#[test]
fn downstream_wrapper_parses_a_reply() {
    let wrapper = find_wrapper(NAME).unwrap();
    let message = wrapper
        .parse_output(" Thinking.\ncall send_message {\"message\": \"hi\"", false)
        .unwrap();
    assert_eq!(message.content.as_deref(), Some("Thinking."));
    let call = message.function_calls.into_iter().next().unwrap();
    assert_eq!(call.name, "send_message");
    assert_eq!(call.arguments, serde_json::json!({"message": "hi"}));
}
