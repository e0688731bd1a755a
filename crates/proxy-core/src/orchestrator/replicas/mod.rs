//! A model's replicas: several servers of the same model behind one
//! [`ResolvedTarget`](super::ResolvedTarget), spread by load, ejected on faults,
//! retried on another before anything reached the client.
//!
//! * **Pick**: power of two choices over each replica's requests in flight divided
//!   by its weight, among the replicas not ejected (when all are, among all: the
//!   model's own error is a better answer than none). tower's `balance` needs an
//!   owned `Service` per replica that owns each request; here a request borrows its
//!   prepared prompt, the endpoint is just a field of the
//!   [`BackendRequest`](crate::backend::BackendRequest), and the one shared
//!   `reqwest::Client` is the connection pool, so the pick is these few lines.
//! * **Limit**: a `tokio::sync::Semaphore` per replica (its `max_in_flight`, the
//!   server's slots); when every candidate is full the request waits for the first
//!   free slot, at most [`FaultPolicy::max_queue`] requests at once across the model,
//!   and the next is refused with [`ProxyError::Overloaded`].
//! * **Faults**: a refused connection, a timeout, a broken connection or a 5xx counts
//!   against the replica; [`FaultPolicy::eject_after`] in a row eject it for
//!   [`FaultPolicy::cooldown`], after which one request (or the health check,
//!   `health.rs`) is let through to decide: a success brings it back, a fault ejects
//!   it again. A success forgets the count.
//! * **Retry**: a connection error, a timeout, a 502/503/504 goes to a replica not
//!   yet tried, while tower's `TpsBudget` allows it (a fraction of the requests plus
//!   a few per second), so a failing fleet is not hit with the retries too. A stream
//!   is retried only while it is being opened; once it started it is never replayed.
//! * **Metrics** through the `metrics` facade (no-ops without a recorder):
//!   `ccp_backend_retries_total{model}`, `ccp_replica_ejections_total{model,replica}`,
//!   `ccp_replica_healthy{model,replica}`, `ccp_replica_in_flight{model,replica}`,
//!   `ccp_queue_rejections_total{model}`; `replica` is the replica's `host:port`.

mod health;
pub mod metric_names;
mod policy;
mod resolve;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::retry::budget::{Budget, TpsBudget};

use super::error::ProxyError;
use crate::backend::{BackendAuth, BackendError, Endpoint, RegisteredBackend};
use health::{Change, Claim, Health};

pub use health::HealthChecks;
pub(crate) use policy::is_fault;
use policy::{is_retryable, BUDGET_WINDOW};
pub use policy::{
    FaultPolicy, ReplicaConfig, DEFAULT_COOLDOWN, DEFAULT_EJECT_AFTER, DEFAULT_MAX_QUEUE,
    DEFAULT_PROBE_INTERVAL, DEFAULT_RETRY_MIN_PER_SEC, DEFAULT_RETRY_RATIO,
};

/// The replicas of one resolved model and their state. Cheap to clone (shared).
#[derive(Clone)]
pub struct ReplicaSet(Arc<Inner>);

struct Inner {
    model: String,
    backend: &'static RegisteredBackend,
    replicas: Vec<Arc<Replica>>,
    policy: FaultPolicy,
    waiting: AtomicUsize,
    budget: TpsBudget,
}

/// One server of a model.
pub(crate) struct Replica {
    label: String,
    address: String,
    endpoint: Endpoint,
    auth: Option<BackendAuth>,
    weight: u32,
    max_in_flight: Option<u32>,
    permits: Arc<Semaphore>,
    in_flight: AtomicUsize,
    health: Health,
}

impl Replica {
    /// Its base URL.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Its credentials.
    pub(crate) fn auth(&self) -> Option<&BackendAuth> {
        self.auth.as_ref()
    }

    /// Requests in flight over weight, as a fraction `(numerator, denominator)` of
    /// the next request's load.
    fn load(&self) -> (u64, u64) {
        let in_flight = u64::try_from(self.in_flight.load(Ordering::Relaxed)).unwrap_or(u64::MAX);
        (in_flight.saturating_add(1), u64::from(self.weight.max(1)))
    }
}

/// What one replica looks like now ([`ReplicaSet::snapshot`]), for `/ready` and
/// metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaStatus {
    /// `replica 1`, `replica 2`, … in configuration order.
    pub label: String,
    /// Its `host:port` (no path, no credentials).
    pub address: String,
    /// Not ejected.
    pub healthy: bool,
    /// Requests it is serving now.
    pub in_flight: usize,
    /// Its concurrency limit, if any.
    pub max_in_flight: Option<u32>,
    /// How many times it was ejected since start-up.
    pub ejections: u64,
}

impl std::fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.replicas.iter().map(|replica| &replica.endpoint))
            .finish()
    }
}

impl ReplicaSet {
    /// The set for `model` (its name in logs and metrics) on `backend`: each replica's
    /// checked endpoint and auth, weight and concurrency limit, in order.
    ///
    /// Errors ([`ProxyError::InvalidRequest`]): no replica, a knob out of range.
    pub(crate) fn new(
        model: String,
        backend: &'static RegisteredBackend,
        replicas: Vec<(Endpoint, Option<BackendAuth>, u32, Option<u32>)>,
        policy: FaultPolicy,
    ) -> Result<Self, ProxyError> {
        if replicas.is_empty() {
            return Err(ProxyError::invalid(
                "no replica given; give one endpoint or a list of endpoints",
            ));
        }
        if let Some(problem) = policy.problem() {
            return Err(ProxyError::invalid(problem));
        }
        let replicas: Vec<Arc<Replica>> = replicas
            .into_iter()
            .enumerate()
            .map(|(index, (endpoint, auth, weight, max_in_flight))| {
                let permits = max_in_flight.map_or(Semaphore::MAX_PERMITS, |max| {
                    usize::try_from(max)
                        .unwrap_or(usize::MAX)
                        .clamp(1, Semaphore::MAX_PERMITS)
                });
                Arc::new(Replica {
                    label: format!("replica {}", index + 1),
                    address: endpoint.authority(),
                    endpoint,
                    auth,
                    weight: weight.max(1),
                    max_in_flight,
                    permits: Arc::new(Semaphore::new(permits)),
                    in_flight: AtomicUsize::new(0),
                    health: Health::default(),
                })
            })
            .collect();
        let budget = TpsBudget::new(BUDGET_WINDOW, policy.retry_min_per_sec, policy.retry_ratio);
        let set = ReplicaSet(Arc::new(Inner {
            model,
            backend,
            replicas,
            policy,
            waiting: AtomicUsize::new(0),
            budget,
        }));
        for replica in &set.0.replicas {
            set.healthy_gauge(replica).set(1.0);
        }
        Ok(set)
    }

    /// The model's name in logs and metrics.
    pub fn model(&self) -> &str {
        &self.0.model
    }

    /// How many replicas the model has (at least 1).
    pub fn len(&self) -> usize {
        self.0.replicas.len()
    }

    /// Always `false`: a set has at least one replica.
    pub fn is_empty(&self) -> bool {
        self.0.replicas.is_empty()
    }

    /// The knobs.
    pub fn policy(&self) -> &FaultPolicy {
        &self.0.policy
    }

    /// Whether at least one replica is not ejected.
    pub fn any_healthy(&self) -> bool {
        self.0
            .replicas
            .iter()
            .any(|replica| replica.health.healthy())
    }

    /// Each replica's state now, in configuration order.
    pub fn snapshot(&self) -> Vec<ReplicaStatus> {
        self.0
            .replicas
            .iter()
            .map(|replica| ReplicaStatus {
                label: replica.label.clone(),
                address: replica.address.clone(),
                healthy: replica.health.healthy(),
                in_flight: replica.in_flight.load(Ordering::Relaxed),
                max_in_flight: replica.max_in_flight,
                ejections: replica.health.ejections(),
            })
            .collect()
    }

    pub(super) fn backend(&self) -> &'static RegisteredBackend {
        self.0.backend
    }

    fn replicas(&self) -> &[Arc<Replica>] {
        &self.0.replicas
    }

    /// The first replica (the target's endpoint, as a single-endpoint target has it).
    pub(crate) fn first(&self) -> &Replica {
        // `new` refuses an empty list.
        &self.0.replicas[0]
    }

    /// The replica for a request that is not a completion (the tokenizer, the image
    /// marker, the chat template): the least loaded one not ejected, else the first.
    pub(crate) fn preferred(&self) -> &Replica {
        let now = Instant::now();
        self.0
            .replicas
            .iter()
            .filter(|replica| replica.health.available(now))
            .min_by(|a, b| compare_load(a, b))
            .map_or_else(|| self.first(), AsRef::as_ref)
    }

    /// Runs `send` on a replica (picked by load, waiting for a slot within the queue
    /// bound) and again on another while the failure is one before any byte reached
    /// the client ([`is_retryable`]), another replica is left and the retry budget
    /// allows; records each outcome. On success, returns the value and the lease,
    /// which holds the replica's slot until dropped (a stream keeps it to its end).
    ///
    /// Errors: the last replica's error; [`ProxyError::Overloaded`] when every
    /// replica is full and the queue too.
    pub(crate) async fn call<T, F, Fut>(&self, mut send: F) -> Result<(T, Lease), ProxyError>
    where
        F: FnMut(Arc<Replica>) -> Fut,
        Fut: Future<Output = Result<T, BackendError>>,
    {
        self.0.budget.deposit();
        let mut tried = Vec::new();
        let mut last: Option<BackendError> = None;
        loop {
            let Some(mut lease) = self.acquire(&tried).await? else {
                return Err(match last {
                    Some(error) => error.into(),
                    None => ProxyError::invalid("the model has no replica"),
                });
            };
            tried.push(lease.index);
            let replica = Arc::clone(&self.0.replicas[lease.index]);
            match send(replica).await {
                Ok(value) => {
                    lease.record(None);
                    return Ok((value, lease));
                }
                Err(error) => {
                    lease.record(Some(&error));
                    drop(lease);
                    if tried.len() >= self.len() || !is_retryable(&error) {
                        return Err(error.into());
                    }
                    if !self.0.budget.withdraw() {
                        tracing::warn!(
                            model = self.model(),
                            "not retrying on another replica: the retry budget is spent ({error})"
                        );
                        return Err(error.into());
                    }
                    metrics::counter!(metric_names::BACKEND_RETRIES, "model" => self.0.model.clone())
                        .increment(1);
                    tracing::warn!(model = self.model(), "retrying on another replica: {error}");
                    last = Some(error);
                }
            }
        }
    }

    /// A slot on a replica not in `tried`: the two-choice pick among the available
    /// ones (all untried, when none is available and nothing was tried yet), a free
    /// slot at once if any has one, else the first slot freed, within the queue
    /// bound. `None`: no untried replica is available.
    async fn acquire(&self, tried: &[usize]) -> Result<Option<Lease>, ProxyError> {
        let now = Instant::now();
        let untried: Vec<usize> = (0..self.len())
            .filter(|index| !tried.contains(index))
            .collect();
        let mut candidates: Vec<usize> = untried
            .iter()
            .copied()
            .filter(|index| self.0.replicas[*index].health.available(now))
            .collect();
        if candidates.is_empty() {
            if !tried.is_empty() {
                return Ok(None);
            }
            candidates = untried;
        }
        self.order(&mut candidates);
        for &index in &candidates {
            if let Ok(permit) = Arc::clone(&self.0.replicas[index].permits).try_acquire_owned() {
                return Ok(Some(self.lease(index, permit)));
            }
        }
        let waiting = self.0.waiting.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.0.waiting);
        if waiting >= self.0.policy.max_queue {
            metrics::counter!(metric_names::QUEUE_REJECTIONS, "model" => self.0.model.clone())
                .increment(1);
            return Err(ProxyError::Overloaded {
                model: self.0.model.clone(),
                waiting,
            });
        }
        let waits = candidates.iter().map(|&index| {
            let permits = Arc::clone(&self.0.replicas[index].permits);
            Box::pin(async move { (permits.acquire_owned().await, index) })
        });
        let ((permit, index), _, _) = futures::future::select_all(waits).await;
        match permit {
            Ok(permit) => Ok(Some(self.lease(index, permit))),
            // The semaphores are never closed.
            Err(_) => Err(ProxyError::invalid("a replica's slots were closed")),
        }
    }

    /// Puts `candidates` in the order to try: two picked at random, the less loaded
    /// first, then the rest by load.
    fn order(&self, candidates: &mut [usize]) {
        fastrand::shuffle(candidates);
        let replicas = &self.0.replicas;
        if candidates.len() > 2 {
            candidates[2..].sort_by(|a, b| compare_load(&replicas[*a], &replicas[*b]));
        }
        if candidates.len() >= 2
            && compare_load(&replicas[candidates[1]], &replicas[candidates[0]]).is_lt()
        {
            candidates.swap(0, 1);
        }
    }

    fn lease(&self, index: usize, permit: OwnedSemaphorePermit) -> Lease {
        let replica = &self.0.replicas[index];
        let probe = replica.health.claim(Instant::now()) == Claim::Probe;
        let in_flight = replica.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.in_flight_gauge(replica).set(in_flight as f64);
        Lease {
            set: self.clone(),
            index,
            probe,
            recorded: false,
            _permit: permit,
        }
    }

    /// Records the outcome of a request or probe on replica `index`: `None` a
    /// success, else its error (a fault counts; an error made before sending
    /// changes nothing; any other answer shows the server up).
    fn record(&self, index: usize, error: Option<&BackendError>) -> bool {
        let replica = &self.0.replicas[index];
        let change = match error {
            Some(error) if is_fault(error) => replica
                .health
                .failure(self.0.policy.eject_after, self.0.policy.cooldown),
            Some(
                BackendError::InvalidAuth { .. }
                | BackendError::InvalidEndpoint { .. }
                | BackendError::InvalidRequest { .. },
            ) => {
                replica.health.release();
                return false;
            }
            _ => replica.health.success(),
        };
        match change {
            Change::Ejected => {
                tracing::warn!(
                    model = self.model(),
                    replica = replica.address,
                    "{} ejected after {} consecutive failures; no requests for {:?}",
                    replica.label,
                    self.0.policy.eject_after,
                    self.0.policy.cooldown
                );
                metrics::counter!(metric_names::REPLICA_EJECTIONS, "model" => self.0.model.clone(), "replica" => replica.address.clone())
                    .increment(1);
                self.healthy_gauge(replica).set(0.0);
            }
            Change::Recovered => {
                tracing::info!(
                    model = self.model(),
                    replica = replica.address,
                    "{} is back",
                    replica.label
                );
                self.healthy_gauge(replica).set(1.0);
            }
            Change::None => {}
        }
        true
    }

    fn healthy_gauge(&self, replica: &Replica) -> metrics::Gauge {
        metrics::gauge!(metric_names::REPLICA_HEALTHY, "model" => self.0.model.clone(), "replica" => replica.address.clone())
    }

    fn in_flight_gauge(&self, replica: &Replica) -> metrics::Gauge {
        metrics::gauge!(metric_names::REPLICA_IN_FLIGHT, "model" => self.0.model.clone(), "replica" => replica.address.clone())
    }
}

/// Orders two replicas by the load the next request would give each.
fn compare_load(a: &Replica, b: &Replica) -> std::cmp::Ordering {
    let ((a_load, a_weight), (b_load, b_weight)) = (a.load(), b.load());
    (u128::from(a_load) * u128::from(b_weight)).cmp(&(u128::from(b_load) * u128::from(a_weight)))
}

/// One waiting request, counted in the queue until dropped.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A slot on one replica, held while its request runs; dropping it frees the slot.
pub(crate) struct Lease {
    set: ReplicaSet,
    index: usize,
    /// The request is the half-open probe of an ejected replica.
    probe: bool,
    recorded: bool,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// Records the request's outcome (`None`: a success; see [`ReplicaSet::call`]).
    /// A stream that fails after it started records its error here.
    pub(crate) fn record(&mut self, error: Option<&BackendError>) {
        if self.set.record(self.index, error) {
            self.recorded = true;
        }
        if error.is_none() {
            let replica = &self.set.0.replicas[self.index];
            metrics::counter!(metric_names::REPLICA_ANSWERS, "model" => self.set.0.model.clone(), "replica" => replica.address.clone())
                .increment(1);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let replica = &self.set.0.replicas[self.index];
        if self.probe && !self.recorded {
            replica.health.release();
        }
        let in_flight = replica
            .in_flight
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        self.set.in_flight_gauge(replica).set(in_flight as f64);
    }
}
