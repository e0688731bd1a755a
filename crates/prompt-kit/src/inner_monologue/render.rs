//! [`InnerMonologueFormat`]: a [`TurnTemplate`] plus [`InnerMonologueOptions`], as a
//! complete [`PromptWrapper`].

use super::bodies::{
    assistant_body, function_response_body, is_system_event, python_strip, speaker_role, user_body,
};
use super::functions::system_block;
use super::parse::{forced_message, optional_message, reply_json, strip_trailing_token};
use super::restart::read_seeded_reply;
use super::{InnerMonologueOptions, ThoughtsPlacement};
use crate::chat::{AssistantMessage, ChatMessage, MessageContent, Role};
use crate::parallel_calls::parse_answers;
use crate::wrapper::{
    require_system_first, text_answer, with_system_first, GrammarStyle, PromptWrapper,
    RenderRequest, WrapperError,
};

/// How a format opens and closes turns. A turn is
/// `turn_separator + role_start + ROLE + role_end + BODY + turn_end` (the first turn,
/// the system one, has no separator), and the prompt ends with the assistant cue
/// `turn_separator + role_start + "assistant" + assistant_cue_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnTemplate {
    /// Text before the first turn (Llama 3's `<|begin_of_text|>`).
    pub prompt_start: String,
    /// Opens a turn, before the role name (`<|im_start|>`).
    pub role_start: String,
    /// Closes the role header (`"\n"` for ChatML).
    pub role_end: String,
    /// Closes the role header of a function result shown under another role (Llama 3
    /// writes only `"\n"` there, without `<|end_header_id|>`, in the reference).
    pub function_reply_role_end: String,
    /// Ends a turn (`<|im_end|>`).
    pub turn_end: String,
    /// Between turns.
    pub turn_separator: String,
    /// After the final `assistant` role name.
    pub assistant_cue_end: String,
    /// A token removed from the end of the reply (after trailing whitespace) before
    /// its JSON is read; empty for none.
    pub reply_end_token: String,
}

/// A guess at the length of a prompt showing `messages` after `fixed` bytes (the
/// system turn), so that it is allocated once: the later messages' text, call
/// arguments and names, half again for re-indented JSON, and room for each turn's
/// tokens.
pub(crate) fn prompt_capacity(messages: &[ChatMessage], fixed: usize) -> usize {
    let text: usize = messages
        .iter()
        .skip(1)
        .map(|message| {
            let content = match &message.content {
                Some(MessageContent::Text(text)) => text.len(),
                Some(MessageContent::Parts(parts)) => parts
                    .iter()
                    .map(|part| part.as_text().map_or(0, str::len))
                    .sum(),
                None => 0,
            };
            let calls: usize = message
                .calls()
                .iter()
                .map(|call| call.name.len() + call.arguments.len())
                .sum();
            content + calls + message.name.as_ref().map_or(0, String::len)
        })
        .sum();
    fixed + text + text / 2 + 64 * messages.len()
}

/// A complete inner-monologue wrapper (see the [module docs](super)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerMonologueFormat {
    /// The format's turn tokens.
    pub template: TurnTemplate,
    /// The reference's options.
    pub options: InnerMonologueOptions,
    /// What [`PromptWrapper::stop_sequences`] returns.
    pub stop_sequences: Vec<String>,
}

impl InnerMonologueFormat {
    /// A format with no extra stop sequences.
    pub fn new(template: TurnTemplate, options: InnerMonologueOptions) -> Self {
        InnerMonologueFormat {
            template,
            options,
            stop_sequences: Vec::new(),
        }
    }

    /// The same format with these extra stop sequences.
    pub fn with_stop_sequences(
        mut self,
        stops: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.stop_sequences = stops.into_iter().map(Into::into).collect();
        self
    }

    fn push_turn(&self, prompt: &mut String, role: &str, role_end: &str, body: &str) {
        let template = &self.template;
        prompt.push_str(&template.turn_separator);
        prompt.push_str(&template.role_start);
        prompt.push_str(role);
        prompt.push_str(role_end);
        prompt.push_str(body);
        prompt.push_str(&template.turn_end);
    }

    /// Renders the prompt (see [`PromptWrapper::render_prompt`]).
    pub fn render(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let options = &self.options;
        let template = &self.template;
        let indent = options.json_indent;
        let system = require_system_first(request.messages)?;
        let text_answer = request.wants_text();
        let block = if text_answer {
            system.text_cow().into_owned()
        } else {
            system_block(
                &system.text_cow(),
                request.functions,
                request.function_documentation,
                options.placement,
            )
        };
        let mut prompt = String::with_capacity(prompt_capacity(request.messages, block.len()));
        prompt.push_str(&template.prompt_start);
        prompt.push_str(&template.role_start);
        prompt.push_str("system");
        prompt.push_str(&template.role_end);
        prompt.push_str(python_strip(&block));
        prompt.push_str(&template.turn_end);

        for (index, message) in request.messages.iter().enumerate().skip(1) {
            match message.role {
                Role::User => {
                    let mut role = speaker_role(message, options.allow_custom_roles);
                    if options.use_system_role_in_user && is_system_event(message) {
                        role = Role::System.as_str().to_owned();
                    }
                    let body = user_body(message, options.simplify_json_content, indent);
                    self.push_turn(&mut prompt, &role, &template.role_end, python_strip(&body));
                }
                Role::Assistant => {
                    let role = speaker_role(message, options.allow_custom_roles);
                    let body = if text_answer && message.calls().is_empty() {
                        message.text_cow().into_owned()
                    } else {
                        assistant_body(message, options.placement, indent, index)?
                    };
                    self.push_turn(&mut prompt, &role, &template.role_end, python_strip(&body));
                }
                Role::Function | Role::Tool => {
                    let body = function_response_body(message, indent);
                    if options.allow_function_role {
                        let role = message.role.as_str();
                        self.push_turn(&mut prompt, role, &template.role_end, python_strip(&body));
                    } else {
                        let body =
                            format!("{}{}", options.no_function_role_prefix, python_strip(&body));
                        self.push_turn(
                            &mut prompt,
                            &options.no_function_role_role,
                            &template.function_reply_role_end,
                            &body,
                        );
                    }
                }
                // Deviation: the reference asserted that only the first message is a
                // system message; a later one is shown as a system turn.
                Role::System => {
                    let body = user_body(message, false, indent);
                    self.push_turn(
                        &mut prompt,
                        "system",
                        &template.role_end,
                        python_strip(&body),
                    );
                }
            }
        }

        prompt.push_str(&template.turn_separator);
        prompt.push_str(&template.role_start);
        prompt.push_str("assistant");
        if text_answer {
            // An ordinary turn's header: the model writes the turn's text.
            prompt.push_str(&template.role_end);
            return Ok(prompt);
        }
        prompt.push_str(&template.assistant_cue_end);
        if let Some(hint) = options.hint(request.first_message) {
            prompt.push('\n');
            prompt.push_str(hint);
        }
        prompt.push_str(options.assistant_prefix(request.first_message));
        Ok(prompt)
    }

    /// Parses a reply (see [`PromptWrapper::parse_output`]): the assistant prefix is
    /// put back, the format's end token dropped, the JSON repaired and read as a
    /// forced or an optional call; failing that, a code fence the model opened after
    /// the prefix is taken away and the answer inside read ([`read_seeded_reply`]).
    pub fn parse(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        let prefix = self.options.assistant_prefix(first_message);
        read_seeded_reply(raw_output, prefix, |text| {
            self.read_answer(self.without_end_token(text))
        })
    }

    /// Parses a reply that may hold several answers
    /// ([`PromptWrapper::parse_parallel_output`]): the prefix put back, the
    /// end-of-turn token dropped and a code fence after the prefix handled as in
    /// [`parse`](Self::parse), then each answer object read as `parse` reads one
    /// ([`parse_answers`]).
    pub fn parse_parallel(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        let prefix = self.options.assistant_prefix(first_message);
        read_seeded_reply(raw_output, prefix, |text| {
            parse_answers(self.without_end_token(text), |answer| {
                self.read_answer(answer)
            })
        })
    }

    /// The reply without its trailing end-of-turn token, if the template has one.
    fn without_end_token<'a>(&self, text: &'a str) -> &'a str {
        if self.template.reply_end_token.is_empty() {
            text
        } else {
            strip_trailing_token(text, &self.template.reply_end_token)
        }
    }

    /// One answer: its JSON repaired, read in this format's placement.
    fn read_answer(&self, text: &str) -> Result<AssistantMessage, WrapperError> {
        let options = &self.options;
        let json = reply_json(text)?;
        match options.placement {
            ThoughtsPlacement::InParams => forced_message(&json, text, options.clean_function_args),
            ThoughtsPlacement::TopLevel => {
                optional_message(&json, text, options.clean_function_args)
            }
        }
    }
}

impl PromptWrapper for InnerMonologueFormat {
    /// Renders with [`render`](InnerMonologueFormat::render); a conversation with no
    /// system message is given an empty one first ([`with_system_first`]).
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let messages = with_system_first(request.messages);
        self.render(&RenderRequest {
            messages: &messages,
            ..*request
        })
    }

    fn parse_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.parse(raw_output, first_message)
    }

    fn parse_parallel_output(
        &self,
        raw_output: &str,
        first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.parse_parallel(raw_output, first_message)
    }

    fn supports_first_message(&self) -> bool {
        self.options.supports_first_message
    }

    fn supports_text_answers(&self) -> bool {
        true
    }

    fn parse_text_output(&self, raw_output: &str) -> AssistantMessage {
        text_answer(raw_output, &[self.template.reply_end_token.as_str()])
    }

    fn grammar_style(&self) -> Option<GrammarStyle> {
        self.options
            .grammar
            .then(|| self.options.placement.grammar_style())
    }

    fn stop_sequences(&self) -> &[String] {
        &self.stop_sequences
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatMessage, FunctionCall, FunctionSchema};
    use crate::inner_monologue::{FUNCTION_RETURN_PREFIX, PREFIX_HINT};
    use serde_json::json;

    /// A small ChatML-like template, to test the logic without any plugin.
    fn template() -> TurnTemplate {
        TurnTemplate {
            prompt_start: "<s>".into(),
            role_start: "[".into(),
            role_end: "]\n".into(),
            function_reply_role_end: "|\n".into(),
            turn_end: "[end]".into(),
            turn_separator: "\n".into(),
            assistant_cue_end: "]".into(),
            reply_end_token: "[end]".into(),
        }
    }

    fn functions() -> Vec<FunctionSchema> {
        vec![FunctionSchema {
            name: "send_message".into(),
            description: Some("Says it.".into()),
            parameters: Some(json!({"properties": {"message": {"description": "Text."}}})),
        }]
    }

    fn conversation() -> Vec<ChatMessage> {
        let mut assistant = ChatMessage::new(Role::Assistant, "Greet.");
        assistant.function_call = Some(FunctionCall {
            name: "send_message".into(),
            arguments: r#"{"message": "Hi"}"#.into(),
        });
        let mut tool = ChatMessage::new(Role::Tool, r#"{"status": "OK"}"#);
        tool.tool_call_id = Some("call_1".into());
        vec![
            ChatMessage::new(Role::System, "  Be kind.  "),
            assistant,
            tool,
            ChatMessage::new(Role::User, r#"{"type": "login"}"#),
        ]
    }

    #[test]
    fn forced_conversation_renders_each_turn() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let messages = conversation();
        let functions = functions();
        let prompt = format.render(&RenderRequest::new(&messages, &functions));
        // Only the whole block is stripped, as in the reference.
        let expected = "<s>[system]\nBe kind.  \nPlease select the most suitable function and parameters from the list of available functions below, based on the ongoing conversation. Provide your response in JSON format.\nAvailable functions:\nsend_message:\n  description: Says it.\n  params:\n    inner_thoughts: Deep inner monologue private to you only.\n    message: Text.[end]\n[assistant]\n{\n  \"function\": \"send_message\",\n  \"params\": {\n    \"inner_thoughts\": \"Greet.\",\n    \"message\": \"Hi\"\n  }\n}[end]\n[assistant|\nFUNCTION RETURN:\n{\n  \"status\": \"OK\"\n}[end]\n[user]\n{\n  \"type\": \"login\"\n}[end]\n[assistant]\n{\n  \"function\":";
        assert_eq!(prompt.ok().as_deref(), Some(expected));
    }

    #[test]
    fn roles_options_use_system_and_tool_roles() {
        let options = InnerMonologueOptions::noforce().with_roles().for_grammar();
        let format = InnerMonologueFormat::new(template(), options);
        let messages = conversation();
        let prompt = format
            .render(&RenderRequest::new(&messages, &functions()))
            .unwrap_or_default();
        assert!(prompt.contains("\n[tool]\n{\n  \"status\": \"OK\"\n}[end]"));
        assert!(prompt.contains("\n[system]\n{\n  \"type\": \"login\"\n}[end]"));
        assert!(prompt.ends_with("[end]\n[assistant]"));
        assert!(!prompt.contains(FUNCTION_RETURN_PREFIX));
        assert_eq!(
            format.grammar_style(),
            Some(GrammarStyle::InnerThoughtsTopLevel)
        );
    }

    #[test]
    fn custom_role_names_become_the_turn_role() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let mut messages = conversation();
        messages[3].name = Some(" Alice ".into());
        messages[1].name = Some("Coder".into());
        let prompt = format
            .render(&RenderRequest::new(&messages, &[]))
            .unwrap_or_default();
        assert!(prompt.contains("\n[alice]\n{"));
        assert!(prompt.contains("\n[coder]\n{"));
    }

    #[test]
    fn noforce_ignores_first_message_for_hints_and_prefix() {
        let format =
            InnerMonologueFormat::new(template(), InnerMonologueOptions::noforce().with_hints());
        let messages = conversation();
        let mut request = RenderRequest::new(&messages, &[]);
        request.first_message = true;
        let prompt = format.render(&request).unwrap_or_default();
        assert!(prompt.ends_with(&format!(
            "[assistant]\n{PREFIX_HINT}\n{{\n  \"inner_thoughts\":"
        )));
        assert!(!format.supports_first_message());
    }

    #[test]
    fn forced_first_message_preseeds_send_message() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let messages = conversation();
        let mut request = RenderRequest::new(&messages, &[]);
        request.first_message = true;
        let prompt = format.render(&request).unwrap_or_default();
        assert!(prompt.ends_with("[assistant]\n{\n  \"function\": \"send_message\","));
        let reply = format.parse(
            "\n  \"params\": {\"inner_thoughts\": \"hi\", \"message\": \"yo\"}}[end]\n",
            true,
        );
        assert_eq!(
            reply.ok(),
            Some(AssistantMessage {
                content: Some("hi".into()),
                reasoning: None,
                function_calls: vec![crate::chat::ParsedFunctionCall {
                    name: "send_message".into(),
                    arguments: json!({"message": "yo"}),
                }],
            })
        );
    }

    #[test]
    fn missing_system_message_is_an_error() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let messages = vec![ChatMessage::new(Role::User, "hi")];
        let error = format.render(&RenderRequest::new(&messages, &[])).err();
        assert!(matches!(
            error,
            Some(WrapperError::MissingSystemMessage { .. })
        ));
        let error = format.render(&RenderRequest::new(&[], &[])).err();
        assert!(matches!(
            error,
            Some(WrapperError::MissingSystemMessage { .. })
        ));
    }

    #[test]
    fn a_later_system_message_is_a_system_turn() {
        // The reference asserted on it (AssertionError).
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let messages = vec![
            ChatMessage::new(Role::System, "S"),
            ChatMessage::new(Role::System, " note "),
        ];
        let prompt = format
            .render(&RenderRequest::new(&messages, &[]))
            .unwrap_or_default();
        assert!(prompt.contains("[end]\n[system]\nnote[end]\n[assistant]"));
    }

    #[test]
    fn bad_call_arguments_name_the_message() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::forced());
        let mut messages = conversation();
        messages[1].function_call = Some(FunctionCall {
            name: "send_message".into(),
            arguments: "{not json".into(),
        });
        let error = format.render(&RenderRequest::new(&messages, &[])).err();
        assert!(matches!(
            error,
            Some(WrapperError::InvalidMessage { index: 1, .. })
        ));
    }

    #[test]
    fn noforce_parse_accepts_a_null_function() {
        let format = InnerMonologueFormat::new(template(), InnerMonologueOptions::noforce());
        let reply = format.parse(" \"Nothing to do.\", \"function\": null}", false);
        assert_eq!(
            reply.ok(),
            Some(AssistantMessage {
                content: Some("Nothing to do.".into()),
                reasoning: None,
                function_calls: Vec::new()
            })
        );
    }
}
