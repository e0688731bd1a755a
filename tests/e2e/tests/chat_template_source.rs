//! The chat template of the real model (SmolLM2-135M-Instruct), read from its GGUF
//! file and asked of the real llama-server running it: both give the same template
//! and special tokens. Run with `cargo xtask e2e`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails loudly

use chat_completion_proxy::backend::{find_backend, Endpoint};
use chat_completion_proxy::{load_local, TemplateSource};
use e2e_tests::{model_path, server_url};

#[test]
fn the_gguf_metadata_gives_smollm2s_chatml_template_and_tokens() {
    // Setup
    let path = model_path().unwrap();

    // Exec
    let spec = load_local(&TemplateSource::Gguf(path.clone()), Some("hermes")).unwrap();

    // Check
    assert!(
        spec.source.contains("<|im_start|>") && spec.source.contains("add_generation_prompt"),
        "{}",
        spec.source
    );
    assert_eq!(spec.bos_token.as_deref(), Some("<|im_start|>"));
    assert_eq!(spec.eos_token.as_deref(), Some("<|im_end|>"));
    assert_eq!(
        spec.origin,
        format!("the GGUF metadata of `{}`", path.display())
    );
    assert_eq!(spec.tool_call_format.as_deref(), Some("hermes"));
}

#[tokio::test]
async fn the_server_serves_the_same_template_as_the_file_holds() {
    // Setup
    let local = load_local(&TemplateSource::Gguf(model_path().unwrap()), None).unwrap();
    let endpoint = Endpoint::parse(&server_url().unwrap()).unwrap();
    let llamacpp = find_backend("llamacpp").unwrap();

    // Exec
    let served = llamacpp
        .backend
        .chat_template(&reqwest::Client::new(), &endpoint, None)
        .await
        .unwrap();

    // Check
    assert_eq!(served.source, local.source);
    assert_eq!(served.bos_token, local.bos_token);
    assert_eq!(served.eos_token, local.eos_token);
    assert!(
        served.origin.ends_with("/props (`chat_template`)"),
        "{}",
        served.origin
    );
}
