//! [`ReplicaConfig`] and [`FaultPolicy`]: the replicas of a model and the knobs of
//! their failure handling, as a user describes them; and which backend errors count
//! as a replica's fault and may be retried elsewhere.

use std::time::Duration;

use crate::backend::{BackendAuth, BackendError};

/// One server of a model (one of [`ModelTarget::replicas`](super::super::ModelTarget)).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaConfig {
    /// The server's base URL (`http://gpu-2:8080`).
    pub endpoint: String,
    /// Its credentials; `None`: the target's [`auth`](super::super::ModelTarget::auth).
    pub auth: Option<BackendAuth>,
    /// Its share of the load relative to the others (at least 1): a replica of weight
    /// 2 is picked as if it had half its requests in flight.
    pub weight: u32,
    /// The most requests it serves at once (llama.cpp's `-np` slots); `None`: no
    /// limit. More wait for a slot, up to [`FaultPolicy::max_queue`] across the model.
    pub max_in_flight: Option<u32>,
}

impl ReplicaConfig {
    /// A replica at `endpoint`: the target's auth, weight 1, no concurrency limit.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ReplicaConfig {
            endpoint: endpoint.into(),
            auth: None,
            weight: 1,
            max_in_flight: None,
        }
    }
}

/// How a model's replicas are judged and retried (the model entry's `[models.health]`
/// table in a server config). The defaults suit local servers; see each field.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPolicy {
    /// A replica is ejected after this many consecutive faults (a refused connection,
    /// a timeout, a 5xx) ([`DEFAULT_EJECT_AFTER`]); at least 1.
    pub eject_after: u32,
    /// How long an ejected replica gets no requests ([`DEFAULT_COOLDOWN`]); then one
    /// request or health probe decides whether it is back.
    pub cooldown: Duration,
    /// How often the health checks ([`ReplicaSet::start_health_checks`](super::ReplicaSet::start_health_checks))
    /// probe ejected replicas whose cooldown is over ([`DEFAULT_PROBE_INTERVAL`]).
    pub probe_interval: Duration,
    /// The most requests that may wait for a slot across the model when every replica
    /// is at its `max_in_flight` ([`DEFAULT_MAX_QUEUE`]); one more is refused at once
    /// ([`ProxyError::Overloaded`](super::super::ProxyError::Overloaded): a 503 with
    /// `Retry-After`).
    pub max_queue: usize,
    /// Retries allowed on top of the requests, as a fraction of them over the last
    /// ten seconds ([`DEFAULT_RETRY_RATIO`], tower's `TpsBudget`); 0 to 10.
    pub retry_ratio: f32,
    /// Retries allowed per second whatever the traffic ([`DEFAULT_RETRY_MIN_PER_SEC`]).
    pub retry_min_per_sec: u32,
}

/// [`FaultPolicy::eject_after`] unless set.
pub const DEFAULT_EJECT_AFTER: u32 = 3;
/// [`FaultPolicy::cooldown`] unless set.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(10);
/// [`FaultPolicy::probe_interval`] unless set.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// [`FaultPolicy::max_queue`] unless set.
pub const DEFAULT_MAX_QUEUE: usize = 64;
/// [`FaultPolicy::retry_ratio`] unless set: 20% extra requests.
pub const DEFAULT_RETRY_RATIO: f32 = 0.2;
/// [`FaultPolicy::retry_min_per_sec`] unless set.
pub const DEFAULT_RETRY_MIN_PER_SEC: u32 = 3;

/// How long the retry budget remembers requests and retries.
pub(super) const BUDGET_WINDOW: Duration = Duration::from_secs(10);

impl Default for FaultPolicy {
    fn default() -> Self {
        FaultPolicy {
            eject_after: DEFAULT_EJECT_AFTER,
            cooldown: DEFAULT_COOLDOWN,
            probe_interval: DEFAULT_PROBE_INTERVAL,
            max_queue: DEFAULT_MAX_QUEUE,
            retry_ratio: DEFAULT_RETRY_RATIO,
            retry_min_per_sec: DEFAULT_RETRY_MIN_PER_SEC,
        }
    }
}

impl FaultPolicy {
    /// What is wrong with these knobs, naming the config key, if anything (tower's
    /// budget would panic on a ratio out of range).
    pub fn problem(&self) -> Option<String> {
        if self.eject_after == 0 {
            return Some("`eject_after` must be at least 1".to_owned());
        }
        if self.probe_interval.is_zero() {
            return Some("`probe_interval_secs` must be more than 0".to_owned());
        }
        if !(self.retry_ratio.is_finite() && (0.0..=10.0).contains(&self.retry_ratio)) {
            return Some(
                "`retry_ratio` must be between 0 and 10 (0.2: 20% extra requests)".to_owned(),
            );
        }
        if i32::try_from(self.retry_min_per_sec).is_err() {
            return Some("`retry_min_per_sec` is too large".to_owned());
        }
        None
    }
}

/// Whether `error` counts against the replica that gave it: nothing answered, no
/// answer in time, the connection broke, or a 5xx. (A 4xx, an error body or an
/// unreadable reply says the request or the configuration is wrong, not the server.)
pub(crate) fn is_fault(error: &BackendError) -> bool {
    match error {
        BackendError::Connection { .. }
        | BackendError::Timeout { .. }
        | BackendError::Transport { .. } => true,
        BackendError::Http { status, .. } | BackendError::Unavailable { status, .. } => {
            *status >= 500
        }
        _ => false,
    }
}

/// Whether a request that failed with `error` before anything reached the client may
/// go to another replica: a refused connection, a timeout, a connection broken before
/// the answer was read (a server killed mid-generation: the client has had nothing
/// yet, and a stream is only retried while it opens), a 502, 503 or 504.
pub(super) fn is_retryable(error: &BackendError) -> bool {
    match error {
        BackendError::Connection { .. }
        | BackendError::Timeout { .. }
        | BackendError::Transport { .. } => true,
        BackendError::Http { status, .. } | BackendError::Unavailable { status, .. } => {
            matches!(status, 502..=504)
        }
        _ => false,
    }
}
