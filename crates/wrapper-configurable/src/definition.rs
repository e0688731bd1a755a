//! A wrapper definition as a user writes it in a TOML file, and loading one.

use std::path::PathBuf;

use prompt_kit::GrammarStyle;
use serde::Deserialize;

/// Every setting of a [`ConfigurableWrapper`](crate::ConfigurableWrapper): the keyword
/// arguments of the reference's `ConfigurableJSONWrapper`, plus
/// `function_messages_as_tool` and `grammar`.
///
/// Every key is optional and defaults to the reference's default (empty text, `false`,
/// `json_indent = 2`, no stop sequences, no grammar). Unknown keys are refused, so a
/// misspelt key is an error rather than a silently ignored setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WrapperDefinition {
    /// Text at the very start of the prompt.
    pub pre_prompt: String,
    /// Text after the last message (the assistant cue, e.g. `"### Assistant:"`).
    pub post_prompt: String,
    /// Text before a system message.
    pub sys_prompt_start: String,
    /// Text after a system message.
    pub sys_prompt_end: String,
    /// Text before a user message.
    pub user_prompt_start: String,
    /// Text after a user message.
    pub user_prompt_end: String,
    /// Text before an assistant message.
    pub assistant_prompt_start: String,
    /// Text after an assistant message.
    pub assistant_prompt_end: String,
    /// Text before a tool (function result) message.
    pub tool_prompt_start: String,
    /// Text after a tool (function result) message.
    pub tool_prompt_end: String,
    /// Text that ends the prompt and pre-seeds the model's JSON answer (e.g.
    /// `"\n{\n  \"function\":"`); re-attached to the model's reply before parsing.
    pub assistant_prefix_extra: String,
    /// Like `assistant_prefix_extra`, for the agent's first reply (e.g. pre-seeding
    /// `send_message`).
    pub assistant_prefix_extra_first_message: String,
    /// Show assistant messages that carry a `name` (AutoGen-style agents) under that
    /// name, with the `custom_roles_*` texts.
    pub allow_custom_roles: bool,
    /// Text between a custom role's name and the message (ChatML: `"\n"`).
    pub custom_post_role: String,
    /// Text before a custom role's name (ChatML: `"<|im_start|>"`).
    pub custom_roles_prompt_start: String,
    /// Text after a custom role's message (ChatML: `"<|im_end|>\n"`).
    pub custom_roles_prompt_end: String,
    /// Put the system message inside the first user turn (Llama 2 style): the prompt
    /// opens with `user_prompt_start` and the next user message has no start text.
    pub include_sys_prompt_in_first_user_message: bool,
    /// Stop sequences this format needs (sent to the backend besides the settings').
    pub default_stop_sequences: Vec<String>,
    /// Show a MemGPT user event by its `"message"` text instead of its whole JSON.
    pub simplify_json_content: bool,
    /// Remove whitespace around the finished prompt.
    pub strip_prompt: bool,
    /// The indent of JSON shown in the prompt (past calls, user events, results).
    pub json_indent: usize,
    /// Clean the parsed call: drop `request_heartbeat` from `send_message` and move
    /// `inner_thoughts` out of the arguments.
    pub clean_function_args: bool,
    /// Render legacy `function` messages like `tool` messages. The reference renders
    /// only `tool` messages and silently drops `function` ones; the built-in neural-chat
    /// format keeps that behaviour (its reference prompts prove it), so the default is
    /// `false`.
    pub function_messages_as_tool: bool,
    /// Build a grammar for this format, in the given answer shape
    /// (`"inner-thoughts-in-params"` or `"inner-thoughts-top-level"`). A grammar
    /// constrains the whole answer, so the assistant prefix extras must then be empty.
    pub grammar: Option<GrammarShape>,
}

impl Default for WrapperDefinition {
    fn default() -> Self {
        WrapperDefinition {
            pre_prompt: String::new(),
            post_prompt: String::new(),
            sys_prompt_start: String::new(),
            sys_prompt_end: String::new(),
            user_prompt_start: String::new(),
            user_prompt_end: String::new(),
            assistant_prompt_start: String::new(),
            assistant_prompt_end: String::new(),
            tool_prompt_start: String::new(),
            tool_prompt_end: String::new(),
            assistant_prefix_extra: String::new(),
            assistant_prefix_extra_first_message: String::new(),
            allow_custom_roles: false,
            custom_post_role: String::new(),
            custom_roles_prompt_start: String::new(),
            custom_roles_prompt_end: String::new(),
            include_sys_prompt_in_first_user_message: false,
            default_stop_sequences: Vec::new(),
            simplify_json_content: false,
            strip_prompt: false,
            json_indent: 2,
            clean_function_args: false,
            function_messages_as_tool: false,
            grammar: None,
        }
    }
}

/// The answer shape a grammar enforces (the TOML spelling of [`GrammarStyle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrammarShape {
    /// `{"function": …, "params": {"inner_thoughts": …, …}}`: every answer is a call.
    InnerThoughtsInParams,
    /// `{"inner_thoughts": …, "function": …, "params": {…}}`, the call optional.
    InnerThoughtsTopLevel,
}

impl From<GrammarShape> for GrammarStyle {
    fn from(shape: GrammarShape) -> Self {
        match shape {
            GrammarShape::InnerThoughtsInParams => GrammarStyle::InnerThoughtsInParams,
            GrammarShape::InnerThoughtsTopLevel => GrammarStyle::InnerThoughtsTopLevel,
        }
    }
}

impl WrapperDefinition {
    /// The text the prompt ends with, which the model's reply continues.
    pub(crate) fn assistant_prefix(&self, first_message: bool) -> &str {
        if first_message {
            &self.assistant_prefix_extra_first_message
        } else {
            &self.assistant_prefix_extra
        }
    }
    /// Why this definition cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let has_prefix = !self.assistant_prefix_extra.is_empty()
            || !self.assistant_prefix_extra_first_message.is_empty();
        (self.grammar.is_some() && has_prefix).then(|| {
            "`grammar` is set together with `assistant_prefix_extra` or \
             `assistant_prefix_extra_first_message`; a grammar constrains the whole \
             answer, so remove the prefix extras (or the grammar)"
                .to_owned()
        })
    }
}

/// Why a wrapper file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read wrapper file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid wrapper definition (TOML syntax, an unknown key, a
    /// value of the wrong type).
    #[error("invalid wrapper file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// TOML's message, with the line and column.
        message: String,
    },
    /// The definition parses but its settings contradict each other.
    #[error("invalid wrapper file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What to change.
        reason: String,
    },
}

/// Parses a definition; the error is one line: where, then TOML's message.
pub(crate) fn parse_definition(text: &str) -> Result<WrapperDefinition, String> {
    toml::from_str(text).map_err(|error: toml::de::Error| {
        let message = error.message().trim().replace('\n', " ");
        match error.span() {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                format!("line {line}, column {column}: {message}")
            }
            None => message,
        }
    })
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before
        .get(line_start..)
        .map_or(0, |rest| rest.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_defaults_to_the_reference() {
        let definition = parse_definition("").unwrap();
        assert_eq!(definition, WrapperDefinition::default());
        assert_eq!(definition.json_indent, 2);
        assert!(!definition.strip_prompt && !definition.clean_function_args);
        assert_eq!(definition.grammar, None);
    }

    #[test]
    fn a_misspelt_key_is_refused_with_its_position() {
        let error =
            parse_definition("post_prompt = \"A:\"\nsys_prompt_strat = \"S\"\n").unwrap_err();
        assert!(
            error.starts_with("line 2, column 1: unknown field `sys_prompt_strat`"),
            "{error}"
        );
        assert!(error.contains("sys_prompt_start"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused() {
        let error = parse_definition("strip_prompt = \"yes\"").unwrap_err();
        assert!(
            error.contains("line 1") && error.contains("boolean"),
            "{error}"
        );
        let error = parse_definition("json_indent = -1").unwrap_err();
        assert!(
            error.contains("json_indent") || error.contains("line 1"),
            "{error}"
        );
    }

    #[test]
    fn grammar_shapes_are_spelt_in_kebab_case() {
        let definition = parse_definition("grammar = \"inner-thoughts-top-level\"").unwrap();
        assert_eq!(
            definition.grammar,
            Some(GrammarShape::InnerThoughtsTopLevel)
        );
        assert_eq!(
            GrammarStyle::from(GrammarShape::InnerThoughtsInParams),
            GrammarStyle::InnerThoughtsInParams
        );
        assert!(parse_definition("grammar = \"sometimes\"").is_err());
    }

    #[test]
    fn grammar_with_a_prefix_is_a_contradiction() {
        let definition = WrapperDefinition {
            grammar: Some(GrammarShape::InnerThoughtsInParams),
            assistant_prefix_extra: "{".to_owned(),
            ..WrapperDefinition::default()
        };
        assert!(definition.problem().is_some_and(|p| p.contains("prefix")));
        assert_eq!(WrapperDefinition::default().problem(), None);
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_and_column("ab\ncé=", 6), (2, 3));
        assert_eq!(line_and_column("x", 0), (1, 1));
        assert_eq!(line_and_column("x", 99), (1, 2));
    }
}
