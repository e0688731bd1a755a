//! What can go wrong compiling or rendering a chat template.

/// A chat template that does not compile, refused a conversation, or failed while
/// rendering it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template's text is not valid Jinja.
    #[error(
        "the chat template does not compile (line {line}): {message}; fix the template \
         (or give the model another one) before serving it"
    )]
    Syntax {
        /// The line (1-based) the error is on; 0 when the engine did not say.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The template called `raise_exception(message)`: it refuses this conversation
    /// (typically roles that do not alternate, or a turn it cannot show).
    #[error(
        "the chat template refused the conversation: {0}; change the conversation to what \
         the model's template accepts, or use another wrapper"
    )]
    Raised(String),
    /// Rendering failed for another reason (an undefined attribute, a type error, …).
    #[error(
        "the chat template failed on this conversation: {0}; the template does not handle \
         these messages (check the messages' shape, or use another wrapper)"
    )]
    Render(String),
}

impl TemplateError {
    /// A stable name of the error's kind: `"syntax"`, `"raised"` or `"render"`.
    pub fn kind(&self) -> &'static str {
        match self {
            TemplateError::Syntax { .. } => "syntax",
            TemplateError::Raised(_) => "raised",
            TemplateError::Render(_) => "render",
        }
    }
}

/// The message a template passed to `raise_exception`, carried as the source of the
/// engine's error so that [`TemplateError::Raised`] can be told apart from other
/// failures.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct RaisedByTemplate(pub(crate) String);

/// Sorts an engine error into a [`TemplateError`]: `raise_exception`'s message when the
/// template raised one (found anywhere in the error's source chain), else the
/// engine's own description.
pub(crate) fn from_render_error(error: &minijinja::Error) -> TemplateError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(raised) = current.downcast_ref::<RaisedByTemplate>() {
            return TemplateError::Raised(raised.0.clone());
        }
        source = current.source();
    }
    TemplateError::Render(describe(error))
}

/// Sorts a compile error into [`TemplateError::Syntax`].
pub(crate) fn from_compile_error(error: &minijinja::Error) -> TemplateError {
    TemplateError::Syntax {
        line: error.line().unwrap_or(0),
        message: describe(error),
    }
}

/// The error's kind and detail on one line, with the line number when known.
fn describe(error: &minijinja::Error) -> String {
    let mut text = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    if let Some(line) = error.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}
