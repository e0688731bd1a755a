//! Which wrapper serves a request: the summarizer special case, the named wrapper, or
//! the default.

use std::sync::Once;

use crate::chat::{ChatMessage, Role};
use crate::registry::{find_wrapper, wrapper_registry, RegistryError};
use crate::wrapper::PromptWrapper;

/// The wrapper used when a request names none.
pub const DEFAULT_WRAPPER: &str = "chatml";

/// The wrapper used for MemGPT's summarizer requests.
pub const SUMMARY_WRAPPER: &str = "simple-summary";

/// The system prompt of MemGPT's conversation summarizer (`prompts/gpt_summarize.py`).
/// A request whose first message is this prompt is answered in plain text with the
/// [`SUMMARY_WRAPPER`], whatever wrapper it names.
pub const SUMMARIZER_SYSTEM_PROMPT: &str = "
Your job is to summarize a history of previous messages in a conversation between an AI persona and a human.
The conversation you are given is a from a fixed context window and may not be complete.
Messages sent by the AI are marked with the 'assistant' role.
The AI 'assistant' can also make calls to functions, whose outputs can be seen in messages with the 'function' role.
Things the AI says in the message content are considered inner monologue and are not seen by the user.
The only AI messages seen by the user are from when the AI uses 'send_message'.
Messages the user sends are in the 'user' role.
The 'user' role is also used for important system events, such as login events and heartbeat events (heartbeats run the AI's program without user action, allowing the AI to act without prompting from the user sending them a message).
Summarize what happened in the conversation from the perspective of the AI (use the first person).
Keep your summary less than 100 words, do NOT exceed this word limit.
Only output the summary, do NOT include anything else in your output.
";

/// Whether `messages` is a MemGPT summarizer request (its first message is the
/// summarizer's system prompt, compared after trimming whitespace).
pub fn is_summarizer_request(messages: &[ChatMessage]) -> bool {
    messages.first().is_some_and(|first| {
        first.role == Role::System
            && first
                .text()
                .is_some_and(|text| text.trim() == SUMMARIZER_SYSTEM_PROMPT.trim())
    })
}

/// The wrapper chosen for a request.
#[derive(Clone, Copy)]
pub struct ChosenWrapper {
    /// The registered name of the wrapper.
    pub name: &'static str,
    /// The wrapper.
    pub wrapper: &'static dyn PromptWrapper,
}

impl std::fmt::Debug for ChosenWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChosenWrapper")
            .field("name", &self.name)
            .finish()
    }
}

/// Picks the wrapper for a request: the summary wrapper for summarizer requests, else
/// the requested one, else [`DEFAULT_WRAPPER`] (logging a warning once per process).
pub fn choose_wrapper(
    messages: &[ChatMessage],
    requested: Option<&str>,
) -> Result<ChosenWrapper, RegistryError> {
    if is_summarizer_request(messages) {
        if let Ok(wrapper) = find_wrapper(SUMMARY_WRAPPER) {
            return Ok(ChosenWrapper {
                name: SUMMARY_WRAPPER,
                wrapper,
            });
        }
        tracing::warn!(
            "summarizer request, but the `{SUMMARY_WRAPPER}` wrapper is not compiled in; using the requested wrapper"
        );
    }
    let name = match requested {
        Some(name) => name,
        None => {
            warn_default_wrapper_once();
            DEFAULT_WRAPPER
        }
    };
    let (name, entry) = wrapper_registry().resolve(name)?;
    Ok(ChosenWrapper {
        name,
        wrapper: entry.wrapper.as_ref(),
    })
}

static DEFAULT_WRAPPER_WARNING: Once = Once::new();

fn warn_default_wrapper_once() {
    DEFAULT_WRAPPER_WARNING.call_once(|| {
        tracing::warn!(
            "no wrapper specified, using the default wrapper `{DEFAULT_WRAPPER}` (name one with --wrapper to remove this warning)"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizer_prompt_is_recognised_after_trimming() {
        let messages = vec![ChatMessage::new(
            Role::System,
            format!("  {}  ", SUMMARIZER_SYSTEM_PROMPT.trim()),
        )];
        assert!(is_summarizer_request(&messages));
        let other = vec![ChatMessage::new(Role::System, "You are MemGPT.")];
        assert!(!is_summarizer_request(&other));
        let user_first = vec![ChatMessage::new(Role::User, SUMMARIZER_SYSTEM_PROMPT)];
        assert!(!is_summarizer_request(&user_first));
    }
}
