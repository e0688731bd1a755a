//! `load_local` over each local source, and the backend reply reader.

use serde_json::{json, Value};

use super::test_files::TestDir;
use super::*;
use crate::backend::wire::ChatTemplateRoute;
use crate::backend::{BackendError, JsonReply};
use crate::error_kind::ErrorKind;

const TEMPLATE: &str =
    "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}";

#[test]
fn a_template_file_gives_its_text_and_the_tokens_given_beside_it() {
    let dir = TestDir::new("file");
    let path = dir.write("model.jinja", TEMPLATE);
    let source = TemplateSource::File {
        path: path.clone(),
        bos_token: Some("<s>".to_owned()),
        eos_token: None,
    };

    let spec = load_local(&source, Some("hermes")).unwrap();

    assert_eq!(
        spec,
        ChatTemplateSpec {
            source: TEMPLATE.to_owned(),
            bos_token: Some("<s>".to_owned()),
            eos_token: None,
            origin: format!("the file `{}`", path.display()),
            tool_call_format: Some("hermes".to_owned()),
        }
    );
    assert!(source.is_local());
}

#[test]
fn an_empty_or_missing_file_is_an_error_naming_it() {
    let dir = TestDir::new("file-empty");
    let path = dir.write("empty.jinja", " \n");
    let source = TemplateSource::File {
        path,
        bos_token: None,
        eos_token: None,
    };
    let error = load_local(&source, None).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::EmptyTemplate { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("empty.jinja"), "{error}");
    assert_eq!(error.kind(), ErrorKind::InvalidWrapperDefinition);

    let source = TemplateSource::File {
        path: dir.path().join("absent.jinja"),
        bos_token: None,
        eos_token: None,
    };
    let error = load_local(&source, None).unwrap_err();
    assert!(
        matches!(error, TemplateSourceError::Unreadable { .. }),
        "{error:?}"
    );
}

#[test]
fn a_tokenizer_config_gives_its_template_and_added_token_objects() {
    let dir = TestDir::new("config");
    let config = json!({
        "bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>", "lstrip": false},
        "eos_token": "<|im_end|>",
        "chat_template": TEMPLATE,
    });
    let path = dir.write("tokenizer_config.json", config.to_string());

    let spec = load_local(&TemplateSource::TokenizerConfig(path.clone()), None).unwrap();

    assert_eq!(spec.source, TEMPLATE);
    assert_eq!(spec.bos_token.as_deref(), Some("<｜begin▁of▁sentence｜>"));
    assert_eq!(spec.eos_token.as_deref(), Some("<|im_end|>"));
    assert_eq!(
        spec.origin,
        format!("the tokenizer config `{}`", path.display())
    );
    assert_eq!(spec.tool_call_format, None);
}

#[test]
fn of_named_templates_the_default_is_taken_and_the_others_noted() {
    let dir = TestDir::new("config-named");
    let config = json!({
        "chat_template": [
            {"name": "tool_use", "template": "TOOLS"},
            {"name": "default", "template": TEMPLATE},
        ],
        "bos_token": null,
    });
    let path = dir.write("tokenizer_config.json", config.to_string());

    let spec = load_local(&TemplateSource::TokenizerConfig(path), None).unwrap();

    assert_eq!(spec.source, TEMPLATE);
    assert_eq!(spec.bos_token, None);
    assert!(
        spec.origin
            .ends_with("(its template `default`; also listed and not used: tool_use)"),
        "{}",
        spec.origin
    );

    let config =
        json!({"chat_template": [{"name": "a", "template": "A"}, {"name": "b", "template": "B"}]});
    let path = dir.write("two.json", config.to_string());
    let error = load_local(&TemplateSource::TokenizerConfig(path), None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("lists the templates a, b and none is named `default`"),
        "{error}"
    );
}

#[test]
fn without_chat_template_the_jinja_file_beside_it_is_read() {
    let dir = TestDir::new("config-jinja");
    let path = dir.write("tokenizer_config.json", r#"{"eos_token": "</s>"}"#);
    let error = load_local(&TemplateSource::TokenizerConfig(path.clone()), None).unwrap_err();
    assert_eq!(
        error,
        TemplateSourceError::TokenizerConfigNoTemplate { path: path.clone() }
    );

    dir.write("chat_template.jinja", TEMPLATE);
    let spec = load_local(&TemplateSource::TokenizerConfig(path), None).unwrap();

    assert_eq!(spec.source, TEMPLATE);
    assert_eq!(spec.eos_token.as_deref(), Some("</s>"));
    assert!(
        spec.origin.contains("chat_template.jinja"),
        "{}",
        spec.origin
    );
}

#[test]
fn bad_tokenizer_configs_name_the_file_and_field() {
    let dir = TestDir::new("config-bad");
    for (name, text, wanted) in [
        (
            "broken.json",
            "{\"chat_template\": ",
            "is not a readable tokenizer_config.json",
        ),
        ("list.json", "[]", "it is not a JSON object"),
        (
            "number.json",
            r#"{"chat_template": 3}"#,
            "`chat_template` in",
        ),
        (
            "token.json",
            r#"{"chat_template": "x", "eos_token": 2}"#,
            "`eos_token` in",
        ),
        (
            "object.json",
            r#"{"chat_template": "x", "bos_token": {"id": 1}}"#,
            "without a string `content`",
        ),
        (
            "item.json",
            r#"{"chat_template": [{"name": "default"}]}"#,
            "item 0 is not",
        ),
    ] {
        let path = dir.write(name, text);
        let error = load_local(&TemplateSource::TokenizerConfig(path), None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(wanted) && error.contains(name),
            "{name}: {error}"
        );
    }
}

#[test]
fn the_backend_is_not_a_local_source() {
    assert!(!TemplateSource::Backend.is_local());
    assert_eq!(
        load_local(&TemplateSource::Backend, None),
        Err(TemplateSourceError::NotLocal)
    );
    assert_eq!(TemplateSource::Backend.describe(), "the backend's server");
    assert_eq!(
        TemplateSource::Gguf("m.gguf".into()).describe(),
        "the GGUF metadata of `m.gguf`"
    );
}

const ROUTE: ChatTemplateRoute = ChatTemplateRoute {
    path: "/props",
    template_field: "chat_template",
    bos_token_field: Some("bos_token"),
    eos_token_field: Some("eos_token"),
};

fn reply(value: Value) -> JsonReply<Value> {
    JsonReply {
        body: value.to_string(),
        value,
        uri: "http://127.0.0.1:8080/props".to_owned(),
        server: "llama.cpp server",
    }
}

#[test]
fn a_backend_reply_gives_the_template_and_tokens_where_the_route_says() {
    let spec = spec_from_reply(
        &reply(json!({"chat_template": TEMPLATE, "bos_token": "<s>", "eos_token": ""})),
        &ROUTE,
    )
    .unwrap();

    assert_eq!(spec.source, TEMPLATE);
    assert_eq!(spec.bos_token.as_deref(), Some("<s>"));
    assert_eq!(spec.eos_token, None, "an empty token is none");
    assert_eq!(
        spec.origin,
        "the llama.cpp server at http://127.0.0.1:8080/props (`chat_template`)"
    );
}

#[test]
fn a_backend_reply_without_a_template_says_how_it_lacks_one() {
    for (value, state) in [
        (json!({"total_slots": 1}), "missing"),
        (json!({"chat_template": null}), "null"),
        (json!({"chat_template": ""}), "empty"),
    ] {
        let error = spec_from_reply(&reply(value), &ROUTE).unwrap_err();
        assert_eq!(
            error,
            TemplateSourceError::BackendHasNoTemplate {
                server: "llama.cpp server",
                uri: "http://127.0.0.1:8080/props".to_owned(),
                field: "chat_template",
                state,
            }
        );
        assert!(
            error.to_string().contains("--chat-template-file"),
            "{error}"
        );
    }
    let error = spec_from_reply(&reply(json!({"chat_template": 1})), &ROUTE).unwrap_err();
    assert!(
        matches!(&error, TemplateSourceError::Backend(BackendError::InvalidResponse { detail, .. }) if detail.contains("`chat_template`")),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::InvalidResponse);
}
