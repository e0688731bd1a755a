//! [`TemplateWrapper`]: a [`PromptWrapper`] that renders a model's own chat template
//! and reads replies in the model's tool-call format.

use prompt_kit::chat_template_plugin::ChatTemplateSpec;
use prompt_kit::{
    AnswerMode, AssistantMessage, GrammarStyle, PromptWrapper, RenderRequest, WrapperError,
};

use crate::generic_tools::without_tool_turns;
use crate::messages::{template_messages, template_tools};
use crate::render::{ChatTemplate, Clock, TemplateContext, TemplateError};
use crate::tool_format::{split_reasoning, ToolCallFormat};

/// A model's chat template, compiled once, with its special tokens and tool-call
/// format.
pub struct TemplateWrapper {
    template: ChatTemplate,
    bos_token: Option<String>,
    eos_token: Option<String>,
    format: ToolCallFormat,
    stops: Vec<String>,
    origin: String,
}

impl std::fmt::Debug for TemplateWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateWrapper")
            .field("origin", &self.origin)
            .field("format", &self.format.name())
            .field("renders_tools", &self.template.renders_tools())
            .finish()
    }
}

impl TemplateWrapper {
    /// Compiles `spec`'s template. The tool-call format is the one `spec` names, else
    /// the one the template's text shows, else plain JSON (the generic format, which
    /// is also how tools are listed for a template that does not render them).
    ///
    /// Errors: a template that does not compile, an unknown format name
    /// ([`WrapperError::InvalidDefinition`], naming the source).
    pub fn from_spec(spec: &ChatTemplateSpec) -> Result<TemplateWrapper, WrapperError> {
        let template = ChatTemplate::compile(&spec.source).map_err(|error| {
            WrapperError::InvalidDefinition(format!(
                "the chat template from {} does not compile: {error}",
                spec.origin
            ))
        })?;
        let format = match spec.tool_call_format.as_deref() {
            Some(name) => ToolCallFormat::from_name(name).map_err(|error| {
                WrapperError::InvalidDefinition(format!(
                    "the tool-call format for the chat template from {}: {error}",
                    spec.origin
                ))
            })?,
            None if template.renders_tools() => {
                ToolCallFormat::detect(&spec.source).unwrap_or(ToolCallFormat::Json)
            }
            None => ToolCallFormat::Json,
        };
        let stops = spec
            .eos_token
            .iter()
            .filter(|token| !token.is_empty())
            .cloned()
            .collect();
        Ok(TemplateWrapper {
            template,
            bos_token: spec.bos_token.clone(),
            eos_token: spec.eos_token.clone(),
            format,
            stops,
            origin: spec.origin.clone(),
        })
    }

    /// The tool-call format replies are read in.
    pub fn tool_call_format(&self) -> ToolCallFormat {
        self.format
    }

    /// Whether the template renders the tools itself (else they are listed the
    /// generic way, see [`crate::generic_tools`]).
    pub fn renders_tools(&self) -> bool {
        self.template.renders_tools()
    }

    fn refused(&self, error: TemplateError) -> WrapperError {
        WrapperError::TemplateRefused(format!("{error} (template from {})", self.origin))
    }

    fn without_end_token<'a>(&self, raw: &'a str) -> &'a str {
        let trimmed = raw.trim_end();
        match self.eos_token.as_deref().filter(|token| !token.is_empty()) {
            Some(token) => trimmed.strip_suffix(token).unwrap_or(trimmed),
            None => trimmed,
        }
    }
}

impl PromptWrapper for TemplateWrapper {
    fn render_prompt(&self, request: &RenderRequest<'_>) -> Result<String, WrapperError> {
        let messages = template_messages(request.messages)?;
        let offered = request.answer == AnswerMode::FunctionCall && !request.functions.is_empty();
        let tools = offered.then(|| template_tools(request.functions));
        let (messages, tools) = if self.template.renders_tools() {
            (messages, tools)
        } else {
            (
                without_tool_turns(messages, tools.as_deref().unwrap_or(&[])),
                None,
            )
        };
        let context = TemplateContext {
            messages,
            tools,
            add_generation_prompt: true,
            bos_token: self.bos_token.clone(),
            eos_token: self.eos_token.clone(),
            now: Clock::System,
        };
        self.template
            .render(&context)
            .map_err(|error| self.refused(error))
    }

    fn parse_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        let mut message = self.parse_parallel_output(raw_output, false)?;
        message.function_calls.truncate(1);
        Ok(message)
    }

    fn parse_parallel_output(
        &self,
        raw_output: &str,
        _first_message: bool,
    ) -> Result<AssistantMessage, WrapperError> {
        self.format.parse_reply(self.without_end_token(raw_output))
    }

    fn supports_text_answers(&self) -> bool {
        true
    }

    fn parse_text_output(&self, raw_output: &str) -> AssistantMessage {
        let (reasoning, rest) = split_reasoning(self.without_end_token(raw_output));
        let mut message = prompt_kit::text_answer(rest, &[]);
        message.reasoning = reasoning;
        message
    }

    fn grammar_style(&self) -> Option<GrammarStyle> {
        Some(GrammarStyle::NativeCall(self.format.call_syntax()))
    }

    fn stop_sequences(&self) -> &[String] {
        &self.stops
    }
}
