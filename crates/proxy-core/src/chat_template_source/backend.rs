//! A chat template served by the backend: read from its server's reply to the route
//! its capabilities state ([`ChatTemplateRoute`]).

use serde_json::Value;

use crate::backend::wire::ChatTemplateRoute;
use crate::backend::JsonReply;
use crate::chat_template_plugin::ChatTemplateSpec;

use super::error::TemplateSourceError;

/// The template and tokens in `reply` (to `GET route.path`), where `route` says they
/// are. A missing, `null` or empty template is
/// [`TemplateSourceError::BackendHasNoTemplate`]; a token that is missing, `null` or
/// empty is `None`; a field of another JSON type is an invalid reply.
pub(crate) fn spec_from_reply(
    reply: &JsonReply<Value>,
    route: &ChatTemplateRoute,
) -> Result<ChatTemplateSpec, TemplateSourceError> {
    let no_template = |state| TemplateSourceError::BackendHasNoTemplate {
        server: reply.server,
        uri: reply.uri.clone(),
        field: route.template_field,
        state,
    };
    let source = match reply.value.get(route.template_field) {
        None => return Err(no_template("missing")),
        Some(Value::Null) => return Err(no_template("null")),
        Some(Value::String(text)) if text.trim().is_empty() => return Err(no_template("empty")),
        Some(Value::String(text)) => text.clone(),
        Some(_) => {
            return Err(reply
                .invalid(format!("`{}` is not a string", route.template_field))
                .into())
        }
    };
    Ok(ChatTemplateSpec {
        source,
        bos_token: token(reply, route.bos_token_field)?,
        eos_token: token(reply, route.eos_token_field)?,
        origin: format!(
            "the {} at {} (`{}`)",
            reply.server, reply.uri, route.template_field
        ),
        tool_call_format: None,
    })
}

/// The token in `field` of the reply, if the route names one and the reply has it.
fn token(
    reply: &JsonReply<Value>,
    field: Option<&'static str>,
) -> Result<Option<String>, TemplateSourceError> {
    let Some(field) = field else {
        return Ok(None);
    };
    match reply.value.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) if token.is_empty() => Ok(None),
        Some(Value::String(token)) => Ok(Some(token.clone())),
        Some(_) => Err(reply.invalid(format!("`{field}` is not a string")).into()),
    }
}
