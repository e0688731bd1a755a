//! A [`ModelTarget`]'s replicas, checked once when it is resolved.

use super::ReplicaSet;
use crate::backend::{Endpoint, RegisteredBackend};
use crate::orchestrator::error::ProxyError;
use crate::orchestrator::ModelTarget;

impl ReplicaSet {
    /// The replicas of `target`, checked: its one endpoint (or the endpoint type's
    /// usual address), or its list.
    pub(in crate::orchestrator) fn for_target(
        target: &ModelTarget,
        backend: &'static RegisteredBackend,
    ) -> Result<ReplicaSet, ProxyError> {
        let empty = |endpoint: &str| {
            endpoint.trim().is_empty().then(|| {
                ProxyError::invalid(
                    "the endpoint is empty; set it to the server's base URL (e.g. `http://localhost:8080`) or leave it out for the usual address",
                )
            })
        };
        let replicas = if target.replicas.is_empty() {
            let endpoint = match &target.endpoint {
                Some(endpoint) => match empty(endpoint) {
                    Some(error) => return Err(error),
                    None => Endpoint::parse(endpoint)?,
                },
                None => Endpoint::parse(backend.registration.default_endpoint)?,
            };
            vec![(endpoint, target.auth.clone(), 1, None)]
        } else {
            if target.endpoint.is_some() {
                return Err(ProxyError::invalid(
                    "give one `endpoint` or a list of `endpoints`, not both",
                ));
            }
            let mut replicas = Vec::with_capacity(target.replicas.len());
            for replica in &target.replicas {
                if let Some(error) = empty(&replica.endpoint) {
                    return Err(error);
                }
                if replica.weight == 0 {
                    return Err(ProxyError::invalid(format!(
                        "the replica at `{}` has weight 0; give a weight of at least 1 or remove it",
                        replica.endpoint
                    )));
                }
                if replica.max_in_flight == Some(0) {
                    return Err(ProxyError::invalid(format!(
                        "the replica at `{}` has `max_in_flight` 0; give at least 1 (the server's slots) or leave it out for no limit",
                        replica.endpoint
                    )));
                }
                replicas.push((
                    Endpoint::parse(&replica.endpoint)?,
                    replica.auth.clone().or_else(|| target.auth.clone()),
                    replica.weight,
                    replica.max_in_flight,
                ));
            }
            replicas
        };
        let name = target
            .name
            .clone()
            .or_else(|| target.public_name.clone())
            .or_else(|| target.model.clone())
            .unwrap_or_else(|| backend.registration.name.to_owned());
        ReplicaSet::new(name, backend, replicas, target.faults.clone())
    }
}
