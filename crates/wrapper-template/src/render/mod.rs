//! The Jinja engine: a chat template compiled once ([`ChatTemplate::compile`]) and
//! rendered on a conversation ([`ChatTemplate::render`]) to the same bytes Python's
//! jinja2 gives with the settings Hugging Face `transformers` uses in
//! `apply_chat_template`.
//!
//! Files by concept: `environment` (engine settings and globals), `pyjson`
//! (`tojson` as `json.dumps`), `pystr` (Python's `str()`, `%`-formatting), [`clock`]
//! (`strftime_now`), [`error`].
//!
//! Known differences from jinja2 (minijinja 2.24's engine, not reachable from filters,
//! tests or the formatter):
//! * `{% for x in none %}` renders nothing; jinja2 fails (`'NoneType' object is not
//!   iterable`).
//! * In a loop over a string's characters `loop.last` is always false and
//!   `loop.length` undefined (minijinja's character iterator has no exact size).
//! * The `%` operator on strings (`'%s' % x`) fails; the `format` filter
//!   (`'%s'|format(x)`) is Python's.

pub mod clock;
mod environment;
pub mod error;
mod pyjson;
mod pystr;

use std::collections::BTreeMap;

use minijinja::value::Value;
use minijinja::Environment;

pub use clock::Clock;
pub use error::TemplateError;

/// The name the compiled template is kept under in its environment.
const TEMPLATE_NAME: &str = "chat_template";

/// A compiled chat template.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    renders_tools: bool,
}

/// What a chat template is rendered with: the variables transformers passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateContext {
    /// The conversation, in the shape Hugging Face templates expect (see
    /// [`crate::messages::template_messages`]).
    pub messages: Vec<serde_json::Value>,
    /// The tools offered (see [`crate::messages::template_tools`]); `None`: the
    /// template's `tools` is `none`, as transformers passes it.
    pub tools: Option<Vec<serde_json::Value>>,
    /// Whether the prompt ends with the header of the assistant's turn.
    pub add_generation_prompt: bool,
    /// The model's beginning-of-sequence token; `None`: undefined in the template.
    pub bos_token: Option<String>,
    /// The model's end-of-sequence token; `None`: undefined in the template.
    pub eos_token: Option<String>,
    /// The clock `strftime_now` reads.
    pub now: Clock,
}

impl ChatTemplate {
    /// Compiles a template's text (CRLF line ends read as the reference reads them).
    pub fn compile(source: &str) -> Result<ChatTemplate, TemplateError> {
        let mut env = environment::environment();
        env.add_template_owned(TEMPLATE_NAME, environment::normalize_newlines(source))
            .map_err(|error| error::from_compile_error(&error))?;
        let template = env
            .get_template(TEMPLATE_NAME)
            .map_err(|error| error::from_compile_error(&error))?;
        let renders_tools = template.undeclared_variables(false).contains("tools");
        Ok(ChatTemplate { env, renders_tools })
    }

    /// Renders; the same bytes Python's jinja2 with transformers' settings gives.
    pub fn render(&self, context: &TemplateContext) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|error| error::from_render_error(&error))?;
        let now = context.now;
        let mut variables: BTreeMap<&str, Value> = BTreeMap::new();
        variables.insert("messages", Value::from_serialize(&context.messages));
        variables.insert("tools", Value::from_serialize(&context.tools));
        variables.insert("documents", Value::from(()));
        variables.insert(
            "add_generation_prompt",
            Value::from(context.add_generation_prompt),
        );
        if let Some(token) = &context.bos_token {
            variables.insert("bos_token", Value::from(token.as_str()));
        }
        if let Some(token) = &context.eos_token {
            variables.insert("eos_token", Value::from(token.as_str()));
        }
        variables.insert(
            "strftime_now",
            Value::from_function(move |format: &str| clock::strftime(now.now(), format)),
        );
        template
            .render(variables)
            .map_err(|error| error::from_render_error(&error))
    }

    /// Whether the template reads a `tools` variable (so tools go to the template;
    /// otherwise the wrapper lists them itself).
    pub fn renders_tools(&self) -> bool {
        self.renders_tools
    }
}
