//! The registered format, the example file, and loading errors.

use std::path::{Path, PathBuf};

use prompt_kit::{
    ChatMessage, FunctionCall, FunctionSchema, GrammarStyle, PromptWrapper, RenderRequest, Role,
};
use serde_json::json;

use super::*;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/neural-chat.toml")
}

/// A scratch file that is removed when dropped.
struct ScratchFile(PathBuf);

impl ScratchFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "wrapper-configurable-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        ScratchFile(path)
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn conversation() -> Vec<ChatMessage> {
    let mut reply = ChatMessage::new(Role::Assistant, "Greet.");
    reply.function_call = Some(FunctionCall {
        name: "send_message".into(),
        arguments: r#"{"message": "Hello"}"#.into(),
    });
    vec![
        ChatMessage::new(Role::System, "Be Sam."),
        ChatMessage::new(Role::User, r#"{"type": "login"}"#),
        reply,
        ChatMessage::new(Role::Tool, r#"{"status": "OK"}"#),
        ChatMessage::new(Role::User, "hi"),
    ]
}

#[test]
fn the_example_file_is_the_registered_neural_chat_format() {
    let loaded = load_wrapper_file(&example()).unwrap();
    assert_eq!(loaded, ConfigurableWrapper::neural_chat());
    let messages = conversation();
    let functions = [FunctionSchema {
        name: "send_message".into(),
        description: Some("Sends a message.".into()),
        parameters: Some(json!({"properties": {"message": {"description": "Text."}}})),
    }];
    let registered = prompt_kit::find_wrapper(NEURAL_CHAT).unwrap();
    for first_message in [false, true] {
        let mut request = RenderRequest::new(&messages, &functions);
        request.first_message = first_message;
        assert_eq!(
            loaded.render_prompt(&request).unwrap(),
            registered.render_prompt(&request).unwrap()
        );
    }
    assert_eq!(
        loaded.grammar_style(),
        Some(GrammarStyle::InnerThoughtsTopLevel)
    );
    assert_eq!(
        registered.grammar_style(),
        Some(GrammarStyle::InnerThoughtsTopLevel)
    );
    assert!(!registered.supports_first_message());
    assert!(registered.stop_sequences().is_empty());
}

#[test]
fn stop_sequences_come_from_the_definition() {
    let file = ScratchFile::new(
        "stops",
        "default_stop_sequences = [\"</s>\", \"### User:\"]\n",
    );
    let wrapper = load_wrapper_file(&file.0).unwrap();
    assert_eq!(wrapper.stop_sequences(), ["</s>", "### User:"]);
    assert_eq!(wrapper.grammar_style(), None);
}

#[test]
fn an_unknown_key_names_the_file_the_line_and_the_key() {
    let file = ScratchFile::new("typo", "post_prompt = \"A:\"\nuser_promt_start = \"U:\"\n");
    let error = load_wrapper_file(&file.0).unwrap_err();
    assert!(matches!(error, LoadError::Parse { .. }));
    let text = error.to_string();
    assert!(text.contains(&file.0.display().to_string()), "{text}");
    assert!(
        text.contains("line 2") && text.contains("unknown field `user_promt_start`"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn a_wrong_type_is_a_parse_error() {
    let file = ScratchFile::new("type", "json_indent = \"two\"\n");
    let error = load_wrapper_file(&file.0).unwrap_err();
    assert!(matches!(error, LoadError::Parse { .. }), "{error}");
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[test]
fn a_missing_file_is_an_io_error_with_the_path() {
    let path = std::env::temp_dir().join("wrapper-configurable-does-not-exist.toml");
    let error = load_wrapper_file(&path).unwrap_err();
    assert!(matches!(error, LoadError::Io { .. }));
    assert!(error.to_string().contains("does-not-exist.toml"), "{error}");
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn contradictory_settings_are_refused() {
    let file = ScratchFile::new(
        "contradiction",
        "grammar = \"inner-thoughts-in-params\"\nassistant_prefix_extra = \"{\"\n",
    );
    let error = load_wrapper_file(&file.0).unwrap_err();
    assert!(matches!(error, LoadError::Invalid { .. }));
    assert!(error.to_string().contains("prefix"), "{error}");
}

#[test]
fn load_errors_can_cross_threads() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<LoadError>();
}
