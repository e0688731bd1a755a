//! The inner-monologue prompt formats shared by the ChatML, Llama 3 and configurable
//! wrappers (the reference's `ChatMLInnerMonologueWrapper`,
//! `ChatMLOuterInnerMonologueWrapper`, `LLaMA3InnerMonologueWrapper` and the pieces of
//! `ConfigurableJSONWrapper` they share).
//!
//! The model answers every turn with JSON: either
//! `{"function": …, "params": {"inner_thoughts": …, …}}` (a call is forced,
//! [`ThoughtsPlacement::InParams`]) or, for the `noforce` formats,
//! `{"inner_thoughts": …, "function": …, "params": {…}}` where the call may be `null`
//! ([`ThoughtsPlacement::TopLevel`]).
//!
//! # Using it
//!
//! A complete wrapper is an [`InnerMonologueFormat`]: a [`TurnTemplate`] (the tokens
//! that open and close a turn) plus [`InnerMonologueOptions`] (the reference's
//! constructor arguments). It implements [`PromptWrapper`].
//!
//! The pieces are public for formats with a different turn structure (the
//! configurable wrapper):
//! - the system turn: [`function_description`], [`function_block`], [`system_block`]
//!   and their text constants;
//! - message bodies: [`assistant_body`] (calls and `tool_calls`), [`user_body`],
//!   [`function_response_body`], [`function_call_json`], [`reindent_json`],
//!   [`speaker_role`] (custom role names), [`is_system_event`], [`python_strip`],
//!   [`python_rstrip`];
//! - parsing: [`attach_prefix`], [`strip_trailing_token`], [`reply_json`], then
//!   [`forced_call`] / [`forced_message`] or [`optional_call`] /
//!   [`optional_message`], and [`clean_function_args`], [`thoughts_text`];
//! - answers the model started over after the seed: [`restarted_answer`] and
//!   [`repeated_reply`] (a repeated opening), [`unfenced_reply`] (a code fence),
//!   [`read_seeded_reply`] (the reading with both as fallbacks).
//!
//! Where the reference crashed on valid input (a missing description, empty
//! arguments, `content: null`, a second system message, `"params": null`) these do the
//! sensible thing; each such case is pinned by a unit test.

mod bodies;
mod functions;
mod parse;
mod render;
mod restart;

pub use bodies::{
    assistant_body, call_arguments, function_call_json, function_response_body, is_system_event,
    python_rstrip, python_strip, reindent_json, speaker_role, user_body, INNER_THOUGHTS_KWARG,
};
pub use functions::{
    function_block, function_description, system_block, AVAILABLE_FUNCTIONS_HEADING,
    INNER_THOUGHTS_DESCRIPTION, OPTIONAL_CALL_INSTRUCTION, SELECT_FUNCTION_INSTRUCTION,
};
pub use parse::{
    attach_prefix, clean_function_args, forced_call, forced_message, optional_call,
    optional_message, reply_json, strip_trailing_token, thoughts_text, ForcedCall, OptionalCall,
};
pub(crate) use render::prompt_capacity;
pub use render::{InnerMonologueFormat, TurnTemplate};
pub use restart::{read_seeded_reply, repeated_reply, restarted_answer, unfenced_reply};

use crate::wrapper::GrammarStyle;
#[cfg(doc)]
use crate::wrapper::PromptWrapper;

/// The reminder appended to the assistant cue by the `-hints` formats.
pub const PREFIX_HINT: &str = "# Reminders:
# Important information about yourself and the user is stored in (limited) core memory
# You can modify core memory with core_memory_replace
# You can add to core memory with core_memory_append
# Less important information is stored in (unlimited) archival memory
# You can add to archival memory with archival_memory_insert
# You can search archival memory with archival_memory_search
# You will always see the statistics of archival memory, so you know if there is content inside it
# If you receive new important information about the user (or yourself), you immediately update your memory with core_memory_replace, core_memory_append, or archival_memory_insert";

/// The reminder used instead of [`PREFIX_HINT`] on the agent's first reply.
pub const FIRST_PREFIX_HINT: &str = "# Reminders:
# This is your first interaction with the user!
# Initial information about them is provided in the core memory user block
# Make sure to introduce yourself to them
# Your inner thoughts should be private, interesting, and creative
# Do NOT use inner thoughts to communicate with the user
# Use send_message to communicate with the user";

/// The text that pre-seeds a forced answer.
pub const FORCED_PREFIX_EXTRA: &str = "\n{\n  \"function\":";

/// The text that pre-seeds a forced answer on the agent's first reply.
pub const FORCED_FIRST_MESSAGE_PREFIX_EXTRA: &str = "\n{\n  \"function\": \"send_message\",";

/// The text that pre-seeds a `noforce` answer.
pub const NOFORCE_PREFIX_EXTRA: &str = "\n{\n  \"inner_thoughts\":";

/// The prefix of a function result shown under another role (`no_function_role_prefix`).
pub const FUNCTION_RETURN_PREFIX: &str = "FUNCTION RETURN:\n";

/// Where the model writes its inner thoughts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThoughtsPlacement {
    /// As the first of the call's `params`; every answer is a call.
    InParams,
    /// Beside `function` at the top level; the call may be omitted (`noforce`).
    TopLevel,
}

impl ThoughtsPlacement {
    /// The grammar shape that matches this placement.
    pub fn grammar_style(self) -> GrammarStyle {
        match self {
            ThoughtsPlacement::InParams => GrammarStyle::InnerThoughtsInParams,
            ThoughtsPlacement::TopLevel => GrammarStyle::InnerThoughtsTopLevel,
        }
    }
}

/// The reference's constructor arguments for the inner-monologue wrappers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerMonologueOptions {
    /// Where inner thoughts go (forced or `noforce`).
    pub placement: ThoughtsPlacement,
    /// The indent of JSON in the prompt (`json_indent`, 2); `None` for one line.
    pub json_indent: Option<usize>,
    /// Show only the `"message"` of JSON user events (`simplify_json_content`).
    pub simplify_json_content: bool,
    /// Drop `request_heartbeat` from `send_message` and move `inner_thoughts` into
    /// the content when parsing (`clean_function_args`).
    pub clean_function_args: bool,
    /// Show user and assistant turns under the message's `name` (`allow_custom_roles`).
    pub allow_custom_roles: bool,
    /// Show user messages that are MemGPT system events under the `system` role
    /// (`use_system_role_in_user`).
    pub use_system_role_in_user: bool,
    /// Show function results under their own role (`allow_function_role`); otherwise
    /// under `no_function_role_role`, after `no_function_role_prefix`.
    pub allow_function_role: bool,
    /// The role function results are shown under without a function role.
    pub no_function_role_role: String,
    /// What precedes a function result shown under another role.
    pub no_function_role_prefix: String,
    /// Append [`PREFIX_HINT`] (or [`FIRST_PREFIX_HINT`]) to the assistant cue.
    pub assistant_prefix_hint: bool,
    /// Text that pre-seeds the answer (empty for the `-grammar` formats).
    pub assistant_prefix_extra: String,
    /// Text that pre-seeds the agent's first answer (empty for the `-grammar` formats).
    pub assistant_prefix_extra_first_message: String,
    /// Whether `first_message` changes the prompt; when it does not, the hint and the
    /// prefix are the ordinary ones (the reference's caller dropped the flag).
    pub supports_first_message: bool,
    /// Whether the orchestrator should build a grammar (the `-grammar` formats).
    pub grammar: bool,
}

impl InnerMonologueOptions {
    /// `ChatMLInnerMonologueWrapper()`'s defaults: a call is forced, the first reply
    /// can be pre-seeded with `send_message`, function results are shown as assistant
    /// turns starting with `FUNCTION RETURN:`.
    pub fn forced() -> Self {
        InnerMonologueOptions {
            placement: ThoughtsPlacement::InParams,
            json_indent: Some(2),
            simplify_json_content: false,
            clean_function_args: true,
            allow_custom_roles: true,
            use_system_role_in_user: false,
            allow_function_role: false,
            no_function_role_role: "assistant".to_owned(),
            no_function_role_prefix: FUNCTION_RETURN_PREFIX.to_owned(),
            assistant_prefix_hint: false,
            assistant_prefix_extra: FORCED_PREFIX_EXTRA.to_owned(),
            assistant_prefix_extra_first_message: FORCED_FIRST_MESSAGE_PREFIX_EXTRA.to_owned(),
            supports_first_message: true,
            grammar: false,
        }
    }

    /// `ChatMLOuterInnerMonologueWrapper()`'s defaults: inner thoughts at the top
    /// level, the call optional, `first_message` not supported.
    pub fn noforce() -> Self {
        InnerMonologueOptions {
            placement: ThoughtsPlacement::TopLevel,
            assistant_prefix_extra: NOFORCE_PREFIX_EXTRA.to_owned(),
            supports_first_message: false,
            ..Self::forced()
        }
    }

    /// With the reminder hints (`assistant_prefix_hint=True`).
    pub fn with_hints(mut self) -> Self {
        self.assistant_prefix_hint = true;
        self
    }

    /// With system events under the `system` role and function results under their
    /// own role (the `-roles` formats).
    pub fn with_roles(mut self) -> Self {
        self.use_system_role_in_user = true;
        self.allow_function_role = true;
        self
    }

    /// For the `-grammar` formats: a grammar is built and the prefix extras are
    /// removed (the reference's caller blanked them).
    pub fn for_grammar(mut self) -> Self {
        self.grammar = true;
        self.assistant_prefix_extra.clear();
        self.assistant_prefix_extra_first_message.clear();
        self
    }

    /// The text the prompt ends with after the assistant cue (and hint), which a reply
    /// continues: the first-message prefix when `first_message` is supported and set.
    pub fn assistant_prefix(&self, first_message: bool) -> &str {
        if self.supports_first_message && first_message {
            &self.assistant_prefix_extra_first_message
        } else {
            &self.assistant_prefix_extra
        }
    }

    /// The reminder hint for the cue, when hints are on.
    pub fn hint(&self, first_message: bool) -> Option<&'static str> {
        self.assistant_prefix_hint
            .then_some(if self.supports_first_message && first_message {
                FIRST_PREFIX_HINT
            } else {
                PREFIX_HINT
            })
    }
}

impl Default for InnerMonologueOptions {
    fn default() -> Self {
        Self::forced()
    }
}
