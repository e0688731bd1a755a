//! Checks of a [`WireFormat`]'s pure functions and of what its spec promises, shared by
//! every backend crate ([`wire_format_suite!`](crate::wire_format_suite)), and the
//! check that any registered backend does what its capabilities say
//! ([`capabilities_hold`]).

use proxy_core::backend::{
    find_backend, BackendCapabilities, BackendError, BackendRequest, CompletionBackend, Constraint,
    ConstraintLanguage, ConstraintPlacement, ConstraintText, Endpoint, TokenCountRequest,
    WireFormat,
};
use proxy_core::TemplateSourceError;
use serde_json::{Map, Value};

/// A GBNF grammar no server would write itself.
const GRAMMAR: &str = "root ::= \"conformance-grammar\"";

fn mentions(body: &Value, text: &str) -> bool {
    body.to_string().contains(text)
}

/// `W`'s constraint fields each write their text where their placement says.
fn check_constraints<W: WireFormat>(request: &BackendRequest<'_>, plain: &Value) {
    let spec = W::SPEC;
    let schema = serde_json::json!({"type": "object", "title": "conformance-schema"});
    assert!(
        !mentions(plain, "conformance-"),
        "{}: no constraint asked, none sent: {plain}",
        spec.name
    );
    for (index, field) in spec.constraints.fields.iter().enumerate() {
        assert!(
            spec.constraints.fields[..index]
                .iter()
                .all(|earlier| earlier.name != field.name),
            "{}: the constraint name `{}` is stated twice",
            spec.name,
            field.name
        );
        let (text, expected) = match field.language {
            ConstraintLanguage::Gbnf => (ConstraintText::Gbnf(GRAMMAR), Value::from(GRAMMAR)),
            ConstraintLanguage::JsonSchema => (ConstraintText::JsonSchema(&schema), schema.clone()),
        };
        let constrained = W::body(
            &BackendRequest {
                constraint: Some(Constraint { field, text }),
                ..request.clone()
            },
            false,
        );
        let found = match field.placement {
            ConstraintPlacement::Field(name) => constrained.get(name),
            ConstraintPlacement::Nested { outer, inner } => {
                constrained.get(outer).and_then(|outer| outer.get(inner))
            }
            ConstraintPlacement::ResponseFormat => constrained
                .get("response_format")
                .filter(|format| format["type"] == "json_schema")
                .and_then(|format| format.pointer("/json_schema/schema")),
        };
        assert_eq!(
            found,
            Some(&expected),
            "{}: the `{}` constraint goes in {}: {constrained}",
            spec.name,
            field.name,
            field.placement.label()
        );
        let mut others = constrained.clone();
        let top = match field.placement {
            ConstraintPlacement::Field(name) => name,
            ConstraintPlacement::Nested { outer, .. } => outer,
            ConstraintPlacement::ResponseFormat => "response_format",
        };
        if let Some(object) = others.as_object_mut() {
            object.remove(top);
        }
        assert_eq!(
            &others, plain,
            "{}: the `{}` constraint changes nothing else of the body",
            spec.name, field.name
        );
    }
}

/// The pure functions and the registration of `W` agree with its spec:
/// - the registration (name, description, default endpoint, capabilities) is the spec's;
/// - the body carries the prompt, and the model name when one is given;
/// - a body carries a constraint only when asked, and each constraint field the spec
///   states puts the grammar or schema where its placement says, changing nothing
///   else; no name is stated twice;
/// - a streamed body differs from the plain one when both go to the same path;
/// - the tokenizer route's body carries the text.
///
/// Panics (this is a test) naming what does not hold.
pub fn check<W: WireFormat>() {
    let spec = W::SPEC;
    let registered = find_backend(spec.name).ok().map(|backend| {
        let registration = backend.registration;
        (
            registration.capabilities,
            registration.default_endpoint,
            registration.description,
        )
    });
    assert_eq!(
        registered,
        Some((spec.capabilities(), spec.default_endpoint, spec.description)),
        "{} is registered with its spec's capabilities, endpoint and description",
        spec.name
    );

    let settings = Map::new();
    let endpoint = Endpoint::parse("http://localhost:1")
        .unwrap_or_else(|error| unreachable!("a literal endpoint is well formed: {error}"));
    let request = crate::request(&endpoint, &settings);
    let plain = W::body(&request, false);
    assert!(
        mentions(&plain, "Say hi"),
        "{}: no prompt in {plain}",
        spec.name
    );
    assert!(
        mentions(&plain, crate::MODEL) || !spec.model_required,
        "{}: no model in {plain}",
        spec.name
    );

    check_constraints::<W>(&request, &plain);

    if let Some(route) = spec.stream {
        if route.path == spec.completion_path {
            assert_ne!(
                W::body(&request, true),
                plain,
                "{}: the streamed body asks for a stream",
                spec.name
            );
        }
    }
    if let Some(tokenizer) = spec.tokenizer {
        let count = TokenCountRequest {
            endpoint: request.endpoint,
            auth: None,
            model: Some(crate::MODEL),
            text: "count these words",
        };
        let body = (tokenizer.body)(&count);
        assert!(
            mentions(&body, "count these words"),
            "{}: {body}",
            spec.name
        );
    }
}

/// A port on loopback that nothing listens on.
fn closed_endpoint() -> Endpoint {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or(9);
    Endpoint::parse(&format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|error| unreachable!("a loopback endpoint is well formed: {error}"))
}

/// `backend` does what `capabilities` say, checked against a closed port (so any
/// attempt at I/O is a connection error): it streams, counts tokens, asks the server
/// for its chat template and needs a model exactly when they say so. Panics naming what does not hold.
pub async fn capabilities_hold(
    name: &str,
    backend: &dyn CompletionBackend,
    capabilities: BackendCapabilities,
) {
    let endpoint = closed_endpoint();
    let settings = Map::new();
    let http = crate::client();
    let mut request = crate::request(&endpoint, &settings);

    let streamed = backend.complete_streaming(&http, &request).await;
    assert_eq!(
        !matches!(streamed, Ok(None)),
        capabilities.streaming,
        "{name}: complete_streaming tries to stream exactly when the capabilities say it streams"
    );

    let counted = backend
        .count_tokens(
            &http,
            &TokenCountRequest {
                endpoint: &endpoint,
                auth: None,
                model: Some(crate::MODEL),
                text: "hi",
            },
        )
        .await;
    assert_eq!(
        !matches!(counted, Ok(None)),
        capabilities.tokenizer,
        "{name}: count_tokens asks the server exactly when the capabilities say it has a tokenizer"
    );

    let template = backend.chat_template(&http, &endpoint, None).await;
    assert_eq!(
        !matches!(template, Err(TemplateSourceError::NotServed { .. })),
        capabilities.chat_template.is_some(),
        "{name}: chat_template asks the server exactly when the capabilities state a route ({template:?})"
    );

    request.model = None;
    let without_model = backend.complete(&http, &request).await;
    assert_eq!(
        matches!(without_model, Err(BackendError::InvalidRequest { .. })),
        capabilities.model_required,
        "{name}: a request without a model is refused before sending exactly when one is required ({without_model:?})"
    );
}

/// Expands to a `wire_format` test module checking `$format`'s pure functions
/// ([`check`]) and that it does what its capabilities say ([`capabilities_hold`]).
/// The calling crate needs `tokio` (with macros) among its dev-dependencies.
#[macro_export]
macro_rules! wire_format_suite {
    ($format:ty) => {
        $crate::wire_format_suite!(wire_format, $format);
    };
    ($module:ident, $format:ty) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn pure_functions_agree_with_the_spec() {
                $crate::wire::check::<$format>();
            }

            #[::tokio::test]
            async fn capabilities_hold() {
                let spec = <$format as ::proxy_core::backend::WireFormat>::SPEC;
                $crate::wire::capabilities_hold(
                    spec.name,
                    &<$format as ::core::default::Default>::default(),
                    spec.capabilities(),
                )
                .await;
            }
        }
    };
}
