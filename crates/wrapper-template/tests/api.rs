//! The renderer's API: what `renders_tools` says, and how failures are reported.

use serde_json::json;
use time::macros::datetime;
use wrapper_template::render::{ChatTemplate, Clock, TemplateContext, TemplateError};

fn context() -> TemplateContext {
    TemplateContext {
        messages: vec![json!({"role": "user", "content": "hi"})],
        tools: None,
        add_generation_prompt: true,
        bos_token: None,
        eos_token: Some("</s>".into()),
        now: Clock::Fixed(datetime!(2024-09-05 14:07:03)),
    }
}

#[test]
fn renders_tools_says_whether_the_template_reads_tools() {
    let reads = ChatTemplate::compile("{% if tools %}{{ tools|tojson }}{% endif %}").unwrap();
    let ignores =
        ChatTemplate::compile("{% for m in messages %}{{ m.content }}{% endfor %}").unwrap();
    let sets_its_own = ChatTemplate::compile("{% set tools = [] %}{{ tools }}").unwrap();
    assert!(reads.renders_tools());
    assert!(!ignores.renders_tools());
    assert!(!sets_its_own.renders_tools());
}

#[test]
fn tokens_the_context_lacks_are_undefined_and_tools_none_is_none() {
    let template = ChatTemplate::compile(
        "{{ bos_token is defined }}|{{ eos_token }}|{{ tools is none }}|{{ strftime_now('%d %b %Y') }}",
    )
    .unwrap();
    assert_eq!(
        template.render(&context()).unwrap(),
        "False|</s>|True|05 Sep 2024"
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let error = ChatTemplate::compile("line one\n{% if x %}\n{{ x }").unwrap_err();
    assert!(
        matches!(error, TemplateError::Syntax { line: 3, .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), "syntax");
    assert!(error.to_string().contains("fix the template"), "{error}");
}

#[test]
fn raise_exception_carries_the_templates_message() {
    let template =
        ChatTemplate::compile("{{ raise_exception('Roles must alternate: ' ~ messages|length) }}")
            .unwrap();
    let error = template.render(&context()).unwrap_err();
    assert_eq!(
        error,
        TemplateError::Raised("Roles must alternate: 1".into())
    );
    assert_eq!(error.kind(), "raised");
}

#[test]
fn other_failures_are_render_errors() {
    let template = ChatTemplate::compile("{{ messages[0].missing.deeper }}").unwrap();
    let error = template.render(&context()).unwrap_err();
    assert_eq!(error.kind(), "render", "{error:?}");
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[test]
fn crlf_and_lf_sources_render_the_same() {
    let lf = ChatTemplate::compile("{% for m in messages %}\n[{{ m.role }}]\n{% endfor %}\nend\n")
        .unwrap();
    let crlf = ChatTemplate::compile(
        "{% for m in messages %}\r\n[{{ m.role }}]\r\n{% endfor %}\r\nend\r\n",
    )
    .unwrap();
    assert_eq!(lf.render(&context()).unwrap(), "[user]\nend");
    assert_eq!(crlf.render(&context()).unwrap(), "[user]\nend");
}
