//! The names of the metrics the replica layer records through the `metrics` facade
//! (counted only where a recorder is installed; `serve` exports them on `/metrics`).
//! Labels: `model` (the configured name) and, per replica, `replica` (its
//! `host:port`).

/// Backend calls retried on another replica, by `model`.
pub const BACKEND_RETRIES: &str = "ccp_backend_retries_total";
/// Replicas taken out of rotation, by `model` and `replica`.
pub const REPLICA_EJECTIONS: &str = "ccp_replica_ejections_total";
/// 1 while a replica is healthy, else 0, by `model` and `replica`.
pub const REPLICA_HEALTHY: &str = "ccp_replica_healthy";
/// Requests in flight on a replica, by `model` and `replica`.
pub const REPLICA_IN_FLIGHT: &str = "ccp_replica_in_flight";
/// Backend calls a replica answered, by `model` and `replica`.
pub const REPLICA_ANSWERS: &str = "ccp_replica_answers_total";
/// Requests refused because a model's queue was full, by `model`.
pub const QUEUE_REJECTIONS: &str = "ccp_queue_rejections_total";
