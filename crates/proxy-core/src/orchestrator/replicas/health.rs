//! One replica's health: consecutive faults, ejection for a cooldown, the half-open
//! probe after it; and the background task that probes ejected replicas with the
//! backend's own health route ([`HealthRoute`](crate::backend::HealthRoute)).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::ReplicaSet;
use crate::backend::{probe, BackendCall};

/// The health of one replica.
#[derive(Debug, Default)]
pub(super) struct Health(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    /// Faults since the last success.
    failures: u32,
    /// Ejected until then (`Some` also after it passed, until a success).
    ejected_until: Option<Instant>,
    /// A request or probe is deciding whether the ejected replica is back.
    probing: bool,
    /// How many times it was ejected.
    ejections: u64,
}

/// What a recorded outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Nothing worth telling.
    None,
    /// It was just ejected.
    Ejected,
    /// It was ejected and is back.
    Recovered,
}

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent across a panic elsewhere: every update is a few
        // plain assignments.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether it is not ejected (what `/ready` reports).
    pub(super) fn healthy(&self) -> bool {
        self.state().ejected_until.is_none()
    }

    /// How many times it was ejected.
    pub(super) fn ejections(&self) -> u64 {
        self.state().ejections
    }

    /// Whether a request may go to it now: not ejected, or its cooldown is over and
    /// no other request is probing it.
    pub(super) fn available(&self, now: Instant) -> bool {
        let state = self.state();
        match state.ejected_until {
            None => true,
            Some(until) => now >= until && !state.probing,
        }
    }

    /// Claims the half-open probe of an ejected replica whose cooldown is over.
    pub(super) fn claim(&self, now: Instant) -> Claim {
        let mut state = self.state();
        match state.ejected_until {
            None => Claim::Healthy,
            Some(until) if now >= until && !state.probing => {
                state.probing = true;
                Claim::Probe
            }
            Some(_) => Claim::Unavailable,
        }
    }

    /// A request or probe succeeded: the faults are forgotten.
    pub(super) fn success(&self) -> Change {
        let mut state = self.state();
        state.failures = 0;
        state.probing = false;
        match state.ejected_until.take() {
            Some(_) => Change::Recovered,
            None => Change::None,
        }
    }

    /// A fault: ejected for `cooldown` after `eject_after` in a row, or at once when
    /// it was being probed.
    pub(super) fn failure(&self, eject_after: u32, cooldown: Duration) -> Change {
        let mut state = self.state();
        state.failures = state.failures.saturating_add(1);
        let probing = std::mem::take(&mut state.probing);
        let until = Instant::now() + cooldown;
        match state.ejected_until {
            Some(_) if probing => {
                state.ejected_until = Some(until);
                Change::None
            }
            Some(_) => Change::None,
            None if state.failures >= eject_after => {
                state.ejected_until = Some(until);
                state.ejections += 1;
                Change::Ejected
            }
            None => Change::None,
        }
    }

    /// A probe claimed with [`claim`](Self::claim) ended without an outcome (the
    /// request was cancelled, or failed for the request's own reasons).
    pub(super) fn release(&self) {
        self.state().probing = false;
    }

    /// When its cooldown ends, if ejected.
    pub(super) fn ejected_until(&self) -> Option<Instant> {
        self.state().ejected_until
    }
}

/// The result of [`Health::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// Not ejected.
    Healthy,
    /// Ejected, cooldown over: this request is its probe.
    Probe,
    /// Ejected, in its cooldown or already being probed.
    Unavailable,
}

/// The running health checks of one [`ReplicaSet`]
/// ([`ReplicaSet::start_health_checks`]); dropping it (or [`stop`](Self::stop))
/// stops them.
#[derive(Debug)]
pub struct HealthChecks {
    task: Option<JoinHandle<()>>,
}

impl HealthChecks {
    /// Stops the checks.
    pub fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Whether checks run (`false` when the backend has no health route).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }
}

impl Drop for HealthChecks {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl ReplicaSet {
    /// Starts a tokio task that, every [`probe_interval`](super::FaultPolicy::probe_interval),
    /// sends the backend's health check ([`HealthRoute`](crate::backend::HealthRoute))
    /// to each ejected replica whose cooldown is over: an answer brings it back, a
    /// fault ejects it for another cooldown. Without these checks an ejected replica
    /// comes back through the first request after its cooldown. A backend with no
    /// health route gets no task. Must be called inside a tokio runtime; the checks
    /// stop when the returned value is dropped.
    pub fn start_health_checks(&self, http: reqwest::Client) -> HealthChecks {
        let Some(route) = self.backend().registration.capabilities.health else {
            return HealthChecks { task: None };
        };
        let set = self.clone();
        let interval = self.policy().probe_interval;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let probes = set.replicas().iter().enumerate().map(|(index, replica)| {
                    let http = &http;
                    let set = &set;
                    async move {
                        if replica.health.ejected_until().is_none()
                            || replica.health.claim(Instant::now()) != Claim::Probe
                        {
                            return;
                        }
                        let call = BackendCall {
                            endpoint: &replica.endpoint,
                            path: route.path,
                            auth: replica.auth.as_ref(),
                            server: set.backend().registration.name,
                        };
                        let outcome = probe(http, &call, interval).await;
                        set.record(index, outcome.as_ref().err());
                    }
                });
                futures::future::join_all(probes).await;
            }
        });
        HealthChecks { task: Some(task) }
    }
}
