//! The replica and failover keys of a `[[models]]` entry: several servers of one model
//! (`endpoints`), how they are judged (`[models.health]`), the wait queue
//! (`max_queue`), and the models asked instead (`fallbacks`,
//! `context_window_fallback`).
//!
//! ```toml
//! [[models]]
//! name = "local"
//! endpoint_type = "llamacpp"
//! context_window = 8192
//! endpoints = [
//!   { url = "http://gpu-1:8080", max_in_flight = 4 },          # llama-server -np 4
//!   { url = "http://gpu-2:8080", max_in_flight = 2, weight = 1 },
//!   { url = "http://gpu-3:8080", auth_type = "bearer_token", auth_key_env = "GPU3_KEY" },
//! ]
//! max_queue = 64                     # requests waiting for a slot; then 503 + Retry-After
//! fallbacks = ["small"]              # asked when every replica failed or is busy
//! context_window_fallback = "long"   # asked when the prompt does not fit (larger window)
//!
//! [models.health]
//! eject_after = 3                    # consecutive faults (refused, timeout, 5xx)
//! cooldown_secs = 10                 # no requests while ejected; then one probe
//! probe_interval_secs = 5            # active health checks of ejected replicas
//! retry_ratio = 0.2                  # retries on another replica: 20% of requests
//! retry_min_per_sec = 3              # ... plus this many per second
//! ```

use std::time::Duration;

use proxy_core::{FaultPolicy, ReplicaConfig};
use serde::Deserialize;

use crate::auth::Secret;
use crate::config::{ConfigError, ModelConfig, ServerConfig};

/// One server of a model (an item of `endpoints`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The server's base URL.
    pub url: String,
    /// Its share of the load relative to the others (default 1).
    #[serde(default)]
    pub weight: Option<u32>,
    /// The most requests it serves at once (llama.cpp's `-np` slots); default: no
    /// limit.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// Its auth: `bearer_token` or `api_key`; default: the entry's `auth_type`.
    #[serde(default)]
    pub auth_type: Option<String>,
    /// Its key (prefer `auth_key_env`).
    #[serde(default)]
    pub auth_key: Option<Secret>,
    /// The environment variable holding its key.
    #[serde(default)]
    pub auth_key_env: Option<String>,
}

/// The `[models.health]` table: how replicas are ejected, probed and retried. Every
/// key is optional (the defaults are [`FaultPolicy::default`]'s).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Consecutive faults (a refused connection, a timeout, a 5xx) that eject a
    /// replica (default 3).
    #[serde(default)]
    pub eject_after: Option<u32>,
    /// Seconds an ejected replica gets no requests (default 10).
    #[serde(default)]
    pub cooldown_secs: Option<f64>,
    /// Seconds between the health checks of ejected replicas (default 5).
    #[serde(default)]
    pub probe_interval_secs: Option<f64>,
    /// Retries on another replica allowed, as a fraction of the requests (default 0.2).
    #[serde(default)]
    pub retry_ratio: Option<f32>,
    /// Retries allowed per second whatever the traffic (default 3).
    #[serde(default)]
    pub retry_min_per_sec: Option<u32>,
}

impl HealthConfig {
    /// The policy these keys (and the entry's `max_queue`) describe.
    pub fn policy(&self, model: &ModelConfig) -> Result<FaultPolicy, ConfigError> {
        let mut policy = FaultPolicy::default();
        if let Some(eject_after) = self.eject_after {
            policy.eject_after = eject_after;
        }
        if let Some(seconds) = self.cooldown_secs {
            policy.cooldown = seconds_key(model, "health.cooldown_secs", seconds, true)?;
        }
        if let Some(seconds) = self.probe_interval_secs {
            policy.probe_interval =
                seconds_key(model, "health.probe_interval_secs", seconds, false)?;
        }
        if let Some(ratio) = self.retry_ratio {
            policy.retry_ratio = ratio;
        }
        if let Some(min) = self.retry_min_per_sec {
            policy.retry_min_per_sec = min;
        }
        if let Some(max_queue) = model.max_queue {
            policy.max_queue = max_queue;
        }
        match policy.problem() {
            Some(problem) => Err(model.invalid(format!("[models.health]: {problem}"))),
            None => Ok(policy),
        }
    }
}

/// A number of seconds as a duration; zero allowed only where `zero_ok`.
fn seconds_key(
    model: &ModelConfig,
    key: &str,
    seconds: f64,
    zero_ok: bool,
) -> Result<Duration, ConfigError> {
    let usable = seconds.is_finite() && (seconds > 0.0 || (zero_ok && seconds == 0.0));
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if usable => Ok(duration),
        _ => Err(model.invalid(format!("`{key}` must be a positive number of seconds"))),
    }
}

/// A key given in the file, else read from the environment variable named.
pub(crate) fn read_key(
    key: Option<&Secret>,
    variable: Option<&str>,
) -> Result<Option<Secret>, String> {
    match (key, variable) {
        (Some(_), Some(_)) => Err("give `auth_key` or `auth_key_env`, not both".to_owned()),
        (Some(key), None) => Ok(Some(key.clone())),
        (None, Some(variable)) => match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
            _ => Err(format!(
                "`auth_key_env` names the environment variable `{variable}`, which is not set (or empty); export it before starting the server"
            )),
        },
        (None, None) => Ok(None),
    }
}

impl ModelConfig {
    /// The entry's replicas as the library takes them (empty: the one `endpoint`),
    /// each with its own auth where it gives one.
    pub fn replicas(&self) -> Result<Vec<ReplicaConfig>, ConfigError> {
        let Some(endpoints) = &self.endpoints else {
            return Ok(Vec::new());
        };
        endpoints
            .iter()
            .map(|endpoint| {
                let invalid = |reason: String| {
                    self.invalid(format!("the endpoint `{}`: {reason}", endpoint.url))
                };
                let key = read_key(endpoint.auth_key.as_ref(), endpoint.auth_key_env.as_deref())
                    .map_err(invalid)?;
                let auth = match (&endpoint.auth_type, key) {
                    (None, None) => None,
                    (auth_type, key) => proxy_core::backend::BackendAuth::from_parts(
                        auth_type.as_deref().or(self.auth_type.as_deref()),
                        key.as_ref().map(Secret::expose),
                    )
                    .map_err(|error| invalid(error.to_string()))?,
                };
                Ok(ReplicaConfig {
                    endpoint: endpoint.url.clone(),
                    auth,
                    weight: endpoint.weight.unwrap_or(1),
                    max_in_flight: endpoint.max_in_flight,
                })
            })
            .collect()
    }
}

/// Checks the replica and failover keys of every entry: `endpoint` or `endpoints`,
/// endpoints with a URL, weights and limits of at least 1, fallbacks that name other
/// models, a context-window fallback with a larger window, health knobs in range.
pub(crate) fn validate_failover(config: &ServerConfig) -> Result<(), ConfigError> {
    let find = |name: &str| {
        config
            .models
            .iter()
            .find(|m| m.name == name || m.aliases.iter().any(|alias| alias == name))
    };
    for model in &config.models {
        match &model.endpoints {
            Some(_) if model.endpoint.is_some() => {
                return Err(model
                    .invalid("give `endpoint` (one server) or `endpoints` (several), not both"))
            }
            Some(endpoints) if endpoints.is_empty() => {
                return Err(
                    model.invalid("`endpoints` is empty; list the servers, or give one `endpoint`")
                )
            }
            Some(endpoints) => {
                for endpoint in endpoints {
                    if endpoint.url.trim().is_empty() {
                        return Err(model.invalid("an item of `endpoints` has an empty `url`"));
                    }
                    if endpoint.weight == Some(0) || endpoint.max_in_flight == Some(0) {
                        return Err(model.invalid(format!(
                            "the endpoint `{}`: `weight` and `max_in_flight` must be at least 1",
                            endpoint.url
                        )));
                    }
                }
            }
            None => {}
        }
        model.health.policy(model)?;
        for fallback in &model.fallbacks {
            match find(fallback) {
                None => {
                    return Err(model.invalid(format!(
                        "`fallbacks` names `{fallback}`, which is no model's name or alias"
                    )))
                }
                Some(other) if other.name == model.name => {
                    return Err(model.invalid(format!(
                        "`fallbacks` names `{fallback}`, this model itself; name another model"
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(fallback) = &model.context_window_fallback {
            match find(fallback) {
                None => {
                    return Err(model.invalid(format!(
                        "`context_window_fallback` names `{fallback}`, which is no model's name or alias"
                    )))
                }
                Some(other) if other.context_window <= model.context_window => {
                    return Err(model.invalid(format!(
                        "`context_window_fallback` names `{fallback}`, whose context window ({}) is not larger than this model's ({}); name a model with a larger one",
                        other.context_window, model.context_window
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::ServerConfig;

    const LOCAL: &str =
        "[[models]]\nname = \"local\"\nendpoint_type = \"llamacpp\"\ncontext_window = 4096\n";
    const BIG: &str =
        "[[models]]\nname = \"big\"\nendpoint_type = \"llamacpp\"\ncontext_window = 32768\n";

    fn refusal(text: &str) -> String {
        ServerConfig::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn endpoints_fallbacks_and_health_parse() {
        let text = format!(
            "{LOCAL}endpoints = [{{ url = \"http://a:8080\", max_in_flight = 4 }}, {{ url = \"http://b:8080\", weight = 2, auth_type = \"bearer_token\", auth_key = \"k\" }}]\nmax_queue = 8\nfallbacks = [\"big\"]\ncontext_window_fallback = \"big\"\n[models.health]\neject_after = 5\ncooldown_secs = 30\nprobe_interval_secs = 2.5\nretry_ratio = 0.5\nretry_min_per_sec = 1\n{BIG}"
        );
        let config = ServerConfig::from_toml_str(&text).unwrap();
        let model = &config.models[0];
        let replicas = model.replicas().unwrap();
        assert_eq!(replicas.len(), 2);
        assert_eq!(
            (replicas[0].max_in_flight, replicas[0].weight),
            (Some(4), 1)
        );
        assert_eq!(replicas[1].weight, 2);
        assert!(replicas[1].auth.is_some() && replicas[0].auth.is_none());
        let policy = model.health.policy(model).unwrap();
        assert_eq!(
            (
                policy.eject_after,
                policy.cooldown.as_secs(),
                policy.max_queue
            ),
            (5, 30, 8)
        );
        assert_eq!(policy.probe_interval.as_millis(), 2500);
        assert!(!format!("{config:?}").contains("\"k\""));
    }

    #[test]
    fn inconsistent_failover_keys_are_refused_naming_them() {
        let cases = [
            (
                format!("{LOCAL}endpoint = \"http://a:1\"\nendpoints = [{{ url = \"http://b:1\" }}]\n"),
                "model `local`: give `endpoint` (one server) or `endpoints` (several), not both",
            ),
            (format!("{LOCAL}endpoints = []\n"), "`endpoints` is empty"),
            (
                format!("{LOCAL}endpoints = [{{ url = \"http://a:1\", max_in_flight = 0 }}]\n"),
                "at least 1",
            ),
            (
                format!("{LOCAL}endpoints = [{{ url = \"http://a:1\", colour = 1 }}]\n"),
                "colour",
            ),
            (
                format!("{LOCAL}fallbacks = [\"nope\"]\n"),
                "`fallbacks` names `nope`, which is no model's name or alias",
            ),
            (format!("{LOCAL}fallbacks = [\"local\"]\n"), "this model itself"),
            (
                format!("{BIG}context_window_fallback = \"local\"\n{LOCAL}"),
                "model `big`: `context_window_fallback` names `local`, whose context window (4096) is not larger than this model's (32768)",
            ),
            (
                format!("{LOCAL}context_window_fallback = \"nope\"\n"),
                "no model's name or alias",
            ),
            (format!("{LOCAL}[models.health]\neject_after = 0\n"), "eject_after"),
            (format!("{LOCAL}[models.health]\nretry_ratio = 20.0\n"), "retry_ratio"),
            (
                format!("{LOCAL}[models.health]\nprobe_interval_secs = 0\n"),
                "probe_interval_secs",
            ),
            (format!("{LOCAL}[models.health]\ncooldown_secs = -1\n"), "cooldown_secs"),
        ];
        for (text, needle) in cases {
            let message = refusal(&text);
            assert!(message.contains(needle), "{needle}: {message}");
        }
        let fine =
            format!("{LOCAL}fallbacks = [\"big\"]\ncontext_window_fallback = \"big\"\n{BIG}");
        assert!(ServerConfig::from_toml_str(&fine).is_ok());
    }
}
