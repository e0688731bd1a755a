//! A Hugging Face `tokenizer_config.json`'s chat template and special tokens.

use std::path::Path;

use serde_json::Value;

use super::error::TemplateSourceError;
use super::read_text;

/// The template `transformers` picks from a list of named ones.
const DEFAULT_NAME: &str = "default";
/// The file newer `transformers` save the template in, beside the config.
const JINJA_FILE: &str = "chat_template.jinja";

/// What a tokenizer config gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TokenizerConfigTemplate {
    /// The template text.
    pub template: String,
    /// `bos_token`.
    pub bos_token: Option<String>,
    /// `eos_token`.
    pub eos_token: Option<String>,
    /// Which of several templates was taken, or that it came from the `.jinja` file.
    pub note: Option<String>,
}

/// Reads the config at `path` (and the `chat_template.jinja` beside it when the config
/// has no `chat_template`).
pub(super) fn read(path: &Path) -> Result<TokenizerConfigTemplate, TemplateSourceError> {
    let text = read_text(path)?;
    let config: Value =
        serde_json::from_str(&text).map_err(|error| TemplateSourceError::TokenizerConfigJson {
            path: path.to_owned(),
            detail: error.to_string(),
        })?;
    let Some(config) = config.as_object() else {
        return Err(TemplateSourceError::TokenizerConfigJson {
            path: path.to_owned(),
            detail: "it is not a JSON object".to_owned(),
        });
    };
    let bos_token = token(path, config.get("bos_token"), "bos_token")?;
    let eos_token = token(path, config.get("eos_token"), "eos_token")?;
    let (template, note) = match config.get("chat_template") {
        None | Some(Value::Null) => {
            let jinja = path.with_file_name(JINJA_FILE);
            if !jinja.is_file() {
                return Err(TemplateSourceError::TokenizerConfigNoTemplate {
                    path: path.to_owned(),
                });
            }
            (
                read_text(&jinja)?,
                Some(format!("its template from `{}`", jinja.display())),
            )
        }
        Some(Value::String(template)) => (template.clone(), None),
        Some(Value::Array(named)) => named_template(path, named)?,
        Some(other) => {
            return Err(TemplateSourceError::TokenizerConfigField {
                path: path.to_owned(),
                field: "chat_template",
                detail: format!(
                    "is {}, not a string or a list of {{name, template}}",
                    json_type(other)
                ),
            })
        }
    };
    Ok(TokenizerConfigTemplate {
        template,
        bos_token,
        eos_token,
        note,
    })
}

/// The `default` one of a list of `{name, template}` (the only one, if there is one),
/// with a note naming the others.
fn named_template(
    path: &Path,
    named: &[Value],
) -> Result<(String, Option<String>), TemplateSourceError> {
    let field_error = |detail: String| TemplateSourceError::TokenizerConfigField {
        path: path.to_owned(),
        field: "chat_template",
        detail,
    };
    let mut templates = Vec::with_capacity(named.len());
    for (index, entry) in named.iter().enumerate() {
        let name = entry.get("name").and_then(Value::as_str);
        let template = entry.get("template").and_then(Value::as_str);
        match (name, template) {
            (Some(name), Some(template)) => templates.push((name, template)),
            _ => {
                return Err(field_error(format!(
                    "item {index} is not a {{\"name\": string, \"template\": string}} object"
                )))
            }
        }
    }
    let names: Vec<&str> = templates.iter().map(|(name, _)| *name).collect();
    let chosen = match templates.as_slice() {
        [only] => Some(*only),
        _ => templates
            .iter()
            .find(|(name, _)| *name == DEFAULT_NAME)
            .copied(),
    };
    let Some((name, template)) = chosen else {
        return Err(field_error(format!(
            "lists the templates {} and none is named `{DEFAULT_NAME}`; copy the one to use into a file and give it with --chat-template-file",
            names.join(", ")
        )));
    };
    let others: Vec<&str> = names
        .iter()
        .copied()
        .filter(|other| *other != name)
        .collect();
    let note = if others.is_empty() {
        format!("its template `{name}`")
    } else {
        format!(
            "its template `{name}`; also listed and not used: {}",
            others.join(", ")
        )
    };
    Ok((template.to_owned(), Some(note)))
}

/// A special token: a string, an `AddedToken` object (`{"content": …}`), or none.
fn token(
    path: &Path,
    value: Option<&Value>,
    field: &'static str,
) -> Result<Option<String>, TemplateSourceError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) => Ok(Some(token.clone())),
        Some(Value::Object(added)) => match added.get("content") {
            Some(Value::String(token)) => Ok(Some(token.clone())),
            _ => Err(TemplateSourceError::TokenizerConfigField {
                path: path.to_owned(),
                field,
                detail: "is an object without a string `content`".to_owned(),
            }),
        },
        Some(other) => Err(TemplateSourceError::TokenizerConfigField {
            path: path.to_owned(),
            field,
            detail: format!(
                "is {}, not a string or a {{\"content\": string}} object",
                json_type(other)
            ),
        }),
    }
}

/// A JSON value's type, for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
