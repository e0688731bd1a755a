//! MemGPT's summarizer requests and the wrapper names the choice of wrapper falls back
//! on: [`DEFAULT_WRAPPER`] when a request names none, [`SUMMARY_WRAPPER`] for a
//! request [`is_summarizer_request`] recognises.

use crate::chat::{ChatMessage, Role};

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
