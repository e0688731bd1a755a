//! Writing the caller's sampling fields into a request body under each server's own
//! field names.

use serde_json::{json, Map, Value};

use super::request::{BackendRequest, SamplingOverrides};

/// Where a server expects each OpenAI sampling field; `None` means it has no such
/// field and the value is dropped (with a debug log).
#[derive(Debug, Clone, Copy)]
pub struct SamplingFieldNames {
    /// Field for `temperature`.
    pub temperature: Option<&'static str>,
    /// Field for `top_p`.
    pub top_p: Option<&'static str>,
    /// Fields for `max_tokens` (webui reads both `max_tokens` and `max_new_tokens`).
    pub max_tokens: &'static [&'static str],
    /// Field for `seed`.
    pub seed: Option<&'static str>,
    /// Field for `presence_penalty`.
    pub presence_penalty: Option<&'static str>,
    /// Field for `frequency_penalty`.
    pub frequency_penalty: Option<&'static str>,
}

impl SamplingFieldNames {
    /// The OpenAI names, used as they are by OpenAI-compatible servers.
    pub const OPENAI: SamplingFieldNames = SamplingFieldNames {
        temperature: Some("temperature"),
        top_p: Some("top_p"),
        max_tokens: &["max_tokens"],
        seed: Some("seed"),
        presence_penalty: Some("presence_penalty"),
        frequency_penalty: Some("frequency_penalty"),
    };

    /// The OpenAI names with `max_tokens` written to `max_tokens` instead.
    pub const fn with_max_tokens(self, max_tokens: &'static [&'static str]) -> Self {
        SamplingFieldNames { max_tokens, ..self }
    }
}

/// Writes every override that is set into `body`, replacing what the settings or the
/// backend's defaults put there.
pub fn write_overrides(
    body: &mut Map<String, Value>,
    overrides: &SamplingOverrides,
    names: &SamplingFieldNames,
    backend: &str,
) {
    let mut put = |field: Option<&'static str>, openai_name: &str, value: Option<Value>| {
        let Some(value) = value else { return };
        match field {
            Some(field) => {
                body.insert(field.to_owned(), value);
            }
            None => {
                tracing::debug!("{backend} has no field for `{openai_name}`; the value is not sent")
            }
        }
    };
    put(
        names.temperature,
        "temperature",
        overrides.temperature.map(|t| json!(t)),
    );
    put(names.top_p, "top_p", overrides.top_p.map(|p| json!(p)));
    put(names.seed, "seed", overrides.seed.map(|s| json!(s)));
    put(
        names.presence_penalty,
        "presence_penalty",
        overrides.presence_penalty.map(|p| json!(p)),
    );
    put(
        names.frequency_penalty,
        "frequency_penalty",
        overrides.frequency_penalty.map(|p| json!(p)),
    );
    if let Some(max_tokens) = overrides.max_tokens {
        for field in names.max_tokens {
            body.insert((*field).to_owned(), json!(max_tokens));
        }
    }
}

/// Puts the request's stop list (see [`BackendRequest::stop_sequences`]) under
/// `field`, replacing the settings' `stop` when `field` is another name. A
/// `stopping_strings` list from the settings (text-generation-webui's name, in the
/// `deterministic_mirostat` preset) loses the
/// [`removed_stops`](SamplingOverrides::removed_stops) too.
pub fn write_stop_sequences(
    body: &mut Map<String, Value>,
    request: &BackendRequest<'_>,
    field: &str,
) {
    if let Some(Value::Array(stops)) = body.get_mut("stopping_strings") {
        stops.retain(|stop| {
            stop.as_str()
                .is_none_or(|stop| request.overrides.sends_default_stop(stop))
        });
    }
    if let Some(stops) = request.stop_sequences() {
        if field != "stop" {
            body.remove("stop");
        }
        body.insert(field.to_owned(), json!(stops));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_land_under_the_backends_names() {
        let mut body = Map::new();
        body.insert("n_predict".into(), json!(5));
        let overrides = SamplingOverrides {
            temperature: Some(0.25),
            max_tokens: Some(64),
            frequency_penalty: Some(1.0),
            ..SamplingOverrides::default()
        };
        let names = SamplingFieldNames {
            frequency_penalty: None,
            ..SamplingFieldNames::OPENAI.with_max_tokens(&["n_predict"])
        };
        write_overrides(&mut body, &overrides, &names, "test");
        assert_eq!(
            Value::Object(body),
            json!({"n_predict": 64, "temperature": 0.25})
        );
    }

    #[test]
    fn removed_stops_leave_stopping_strings_too() {
        let settings = json!({"stopping_strings": ["a", "  }\n}\n"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "p",
            1,
            10,
            &settings,
        );
        request.overrides.removed_stops = vec!["  }\n}\n".into()];
        let mut body = settings.clone();
        write_stop_sequences(&mut body, &request, "stop");
        assert_eq!(Value::Object(body), json!({"stopping_strings": ["a"]}));
    }

    #[test]
    fn stop_list_moves_to_the_backends_field() {
        let settings = json!({"stop": ["a"], "x": 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let request = BackendRequest::new(
            crate::backend::endpoint::test_endpoint(),
            "p",
            1,
            10,
            &settings,
        );
        let mut body = settings.clone();
        write_stop_sequences(&mut body, &request, "stop_sequence");
        assert_eq!(Value::Object(body), json!({"x": 1, "stop_sequence": ["a"]}));
    }
}
