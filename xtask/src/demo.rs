//! `cargo xtask demo`: the main job, end to end, on a real model.
//!
//! Provides (first run only, with progress) and starts a real llama.cpp server with
//! SmolLM2-135M-Instruct, starts `chat-completion-proxy serve` in front of it, sends the
//! MemGPT-style conversation in `examples/conversation.json` with its tools over HTTP as
//! any OpenAI client would, prints the returned tool call and the timings, and stops both.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::e2e::start_proxy;
use crate::llama_server;
use crate::plugins::CLI;
use crate::workspace::cargo;

/// Runs the demo.
pub fn run(root: &Path) -> Result<()> {
    println!("== building chat-completion-proxy");
    cargo(root, &["build", "--quiet", "-p", CLI])?;
    println!("== starting a real llama.cpp server with SmolLM2-135M-Instruct (ChatML)");
    let llama = llama_server::start()?;
    println!("== starting `chat-completion-proxy serve` in front of it (wrapper chatml-grammar)");
    let proxy = start_proxy(root, &llama.url, None, "smollm2", None)?;

    let example = root.join("examples/conversation.json");
    let conversation: Value = serde_json::from_str(
        &std::fs::read_to_string(&example)
            .with_context(|| format!("cannot read {}", example.display()))?,
    )?;
    let tools: Vec<Value> = conversation["functions"]
        .as_array()
        .context("examples/conversation.json has no functions")?
        .iter()
        .map(|function| json!({"type": "function", "function": function}))
        .collect();
    let request = json!({
        "model": "smollm2",
        "messages": conversation["messages"],
        "tools": tools,
        "temperature": 0,
        "seed": 42,
    });
    println!("\n== POST {}/v1/chat/completions", proxy.url);
    for message in conversation["messages"].as_array().into_iter().flatten() {
        println!(
            "   {}: {}",
            message["role"].as_str().unwrap_or("?"),
            short(&message["content"])
        );
    }
    let started = Instant::now();
    let mut reply = ureq::post(&format!("{}/v1/chat/completions", proxy.url))
        .send_json(&request)
        .context("the proxy did not answer")?;
    let elapsed = started.elapsed();
    let overhead = reply
        .headers()
        .get("x-proxy-overhead-ms")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    let response: Value = reply.body_mut().read_json()?;
    let message = &response["choices"][0]["message"];
    println!("\n== the model's answer, as an OpenAI response");
    println!("   inner thoughts: {}", short(&message["content"]));
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        println!(
            "   tool call {}: {}({})",
            call["id"].as_str().unwrap_or("?"),
            call["function"]["name"].as_str().unwrap_or("?"),
            call["function"]["arguments"]
                .as_str()
                .unwrap_or("?")
                .replace('\n', "")
        );
    }
    println!(
        "   finish_reason: {}",
        response["choices"][0]["finish_reason"]
    );
    println!("   usage: {}", response["usage"]);
    println!(
        "\n== timings: {:.0?} in all, of which the proxy's own work: {overhead} ms",
        elapsed
    );
    drop(proxy);
    drop(llama);
    println!("== stopped the proxy and llama-server");
    Ok(())
}

fn short(value: &Value) -> String {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    let line = text.replace('\n', " ");
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
