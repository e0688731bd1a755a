//! The pick, the limit, ejection and retry, without HTTP (the server's tests run them
//! over loopback).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::orchestrator::test_support::target;
use crate::ErrorKind;

const A: &str = "http://127.0.0.1:1";
const B: &str = "http://127.0.0.1:2";

fn set(replicas: &[(&str, Option<u32>)], policy: FaultPolicy) -> ReplicaSet {
    let mut target = target();
    target.replicas = replicas
        .iter()
        .map(|(endpoint, max_in_flight)| ReplicaConfig {
            max_in_flight: *max_in_flight,
            ..ReplicaConfig::new(*endpoint)
        })
        .collect();
    target.faults = policy;
    target.resolve().unwrap().replicas().clone()
}

fn refused(endpoint: &str) -> BackendError {
    BackendError::Connection {
        endpoint: endpoint.to_owned(),
        uri: format!("{endpoint}/completion"),
        server: "test server",
        detail: "refused".into(),
    }
}

/// Calls `set` once; the replica answers with its endpoint, or a refusal where
/// `down` says.
async fn ask(set: &ReplicaSet, down: &[&str]) -> Result<String, ProxyError> {
    set.call(|replica| {
        let endpoint = replica.endpoint().as_str().to_owned();
        let fails = down.contains(&endpoint.as_str());
        async move {
            if fails {
                Err(refused(&endpoint))
            } else {
                Ok(endpoint)
            }
        }
    })
    .await
    .map(|(endpoint, _)| endpoint)
}

async fn lease(set: &ReplicaSet) -> Lease {
    match set.acquire(&[]).await {
        Ok(Some(lease)) => lease,
        other => panic!("no lease: {:?}", other.err()),
    }
}

#[tokio::test]
async fn both_replicas_get_requests_and_the_idle_one_is_preferred() {
    let set = set(&[(A, None), (B, None)], FaultPolicy::default());
    let mut seen = HashSet::new();
    for _ in 0..64 {
        seen.insert(ask(&set, &[]).await.unwrap());
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    let busy = lease(&set).await;
    let busy_endpoint = set.replicas()[busy.index].endpoint().as_str().to_owned();
    for _ in 0..16 {
        let answered = ask(&set, &[]).await.unwrap();
        assert_ne!(
            answered, busy_endpoint,
            "the replica with a request in flight was picked"
        );
    }
    assert_eq!(set.snapshot()[busy.index].in_flight, 1);
    drop(busy);
    assert!(set.snapshot().iter().all(|replica| replica.in_flight == 0));
}

#[tokio::test]
async fn consecutive_faults_eject_a_replica_for_its_cooldown() {
    let policy = FaultPolicy {
        eject_after: 2,
        cooldown: Duration::from_secs(3600),
        ..FaultPolicy::default()
    };
    let set = set(&[(A, None), (B, None)], policy);
    set.record(0, Some(&refused(A)));
    assert!(set.snapshot()[0].healthy, "one fault does not eject");
    set.record(0, None);
    set.record(0, Some(&refused(A)));
    assert!(
        set.snapshot()[0].healthy,
        "a success forgot the earlier fault"
    );
    set.record(0, Some(&refused(A)));
    let status = &set.snapshot()[0];
    assert!(!status.healthy);
    assert_eq!(
        (
            status.ejections,
            status.label.as_str(),
            status.address.as_str()
        ),
        (1, "replica 1", "127.0.0.1:1")
    );
    assert!(set.any_healthy());
    for _ in 0..32 {
        assert_eq!(
            ask(&set, &[]).await.unwrap(),
            B,
            "an ejected replica got a request"
        );
    }
}

#[tokio::test]
async fn after_the_cooldown_one_request_decides() {
    let policy = FaultPolicy {
        eject_after: 1,
        cooldown: Duration::ZERO,
        ..FaultPolicy::default()
    };
    let set = set(&[(A, None), (B, None)], policy);
    set.record(0, Some(&refused(A)));
    assert!(!set.snapshot()[0].healthy);
    // Hold B so that the probe goes to A, then the next request must avoid A while
    // it is being probed.
    let held_b = loop {
        let lease = lease(&set).await;
        if lease.index == 1 {
            break lease;
        }
    };
    let mut probe = lease(&set).await;
    assert_eq!(probe.index, 0);
    assert!(probe.probe);
    let other = lease(&set).await;
    assert_eq!(
        other.index, 1,
        "a replica being probed got a second request"
    );
    probe.record(None);
    drop((probe, other, held_b));
    assert!(
        set.snapshot()[0].healthy,
        "the probe's success brought it back"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_on_another_replica_within_the_budget() {
    let set = set(&[(A, None), (B, None)], FaultPolicy::default());
    for _ in 0..16 {
        assert_eq!(ask(&set, &[A]).await.unwrap(), B);
    }

    let no_budget = FaultPolicy {
        retry_ratio: 0.0,
        retry_min_per_sec: 0,
        eject_after: 1000,
        ..FaultPolicy::default()
    };
    let set = self::set(&[(A, None), (B, None)], no_budget);
    // B busy, so that A is asked first; its refusal is not retried.
    let held_b = loop {
        let lease = lease(&set).await;
        if lease.index == 1 {
            break lease;
        }
    };
    let error = ask(&set, &[A]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionError);
    drop(held_b);
}

#[tokio::test]
async fn a_full_queue_is_refused_at_once() {
    let policy = FaultPolicy {
        max_queue: 1,
        ..FaultPolicy::default()
    };
    let set = set(&[(A, Some(1))], policy);
    let held = lease(&set).await;
    let waiter = {
        let set = set.clone();
        tokio::spawn(async move { ask(&set, &[]).await })
    };
    while set.0.waiting.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let refused = ask(&set, &[]).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Overloaded);
    assert_eq!(refused.retry_after(), Some("1"));
    assert!(refused.is_replica_failure());
    drop(held);
    let answered = tokio::time::timeout(Duration::from_secs(30), waiter).await;
    assert_eq!(
        answered.unwrap().unwrap().unwrap(),
        A,
        "the waiting request got the slot"
    );
}

#[tokio::test]
async fn a_lone_ejected_replica_is_still_asked() {
    let policy = FaultPolicy {
        eject_after: 1,
        cooldown: Duration::from_secs(3600),
        ..FaultPolicy::default()
    };
    let set = set(&[(A, None)], policy);
    assert_eq!(
        ask(&set, &[A]).await.unwrap_err().kind(),
        ErrorKind::ConnectionError
    );
    assert!(!set.any_healthy());
    assert_eq!(
        ask(&set, &[A]).await.unwrap_err().kind(),
        ErrorKind::ConnectionError
    );
    assert_eq!(ask(&set, &[]).await.unwrap(), A);
    assert!(set.any_healthy(), "its answer brought it back");
}

#[test]
fn replicas_are_checked_when_the_target_is_resolved() {
    let mut both = target();
    both.endpoint = Some(A.into());
    both.replicas = vec![ReplicaConfig::new(B)];
    let message = both.resolve().unwrap_err().to_string();
    assert!(
        message.contains("`endpoint`") && message.contains("`endpoints`"),
        "{message}"
    );
    let mut zero = target();
    zero.replicas = vec![ReplicaConfig {
        weight: 0,
        ..ReplicaConfig::new(A)
    }];
    assert!(zero.resolve().unwrap_err().to_string().contains("weight 0"));
    let mut ratio = target();
    ratio.faults.retry_ratio = f32::NAN;
    assert!(ratio
        .resolve()
        .unwrap_err()
        .to_string()
        .contains("retry_ratio"));
    let single = target().resolve().unwrap();
    assert_eq!(single.replicas().len(), 1);
    assert_eq!(single.replicas().snapshot()[0].address, "localhost:9");
    let _shared: Arc<Replica> = Arc::clone(&single.replicas().replicas()[0]);
}

/// A metric's name, labels and value.
type Recorded = (
    String,
    Vec<(String, String)>,
    metrics_util::debugging::DebugValue,
);

#[test]
fn events_go_out_under_the_names_the_exporter_reads() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let policy = FaultPolicy {
                eject_after: 1,
                cooldown: Duration::from_secs(3600),
                max_queue: 0,
                ..FaultPolicy::default()
            };
            let set = set(&[(A, Some(1)), (B, Some(1))], policy);
            // B busy: A is asked first, refuses and is ejected; the retry finds B
            // full and the queue (0) too.
            let held_b = loop {
                let lease = lease(&set).await;
                if lease.index == 1 {
                    break lease;
                }
            };
            let refused = ask(&set, &[A]).await.unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::Overloaded);
            drop(held_b);
            assert_eq!(ask(&set, &[A]).await.unwrap(), B);
        });
    });
    let values: Vec<Recorded> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let find = |name: &str, replica: Option<&str>| {
        values
            .iter()
            .find(|(key, labels, _)| {
                key == name
                    && labels.contains(&("model".to_owned(), "unit-test-server".to_owned()))
                    && replica.is_none_or(|replica| {
                        labels.contains(&("replica".to_owned(), replica.to_owned()))
                    })
            })
            .map(|(_, _, value)| value)
            .unwrap_or_else(|| panic!("no {name} for {replica:?}: {values:?}"))
    };
    assert_eq!(
        find("ccp_backend_retries_total", None),
        &DebugValue::Counter(1)
    );
    assert_eq!(
        find("ccp_queue_rejections_total", None),
        &DebugValue::Counter(1)
    );
    assert_eq!(
        find("ccp_replica_ejections_total", Some("127.0.0.1:1")),
        &DebugValue::Counter(1)
    );
    assert!(matches!(
        find("ccp_replica_healthy", Some("127.0.0.1:1")),
        DebugValue::Gauge(value) if value.into_inner() == 0.0
    ));
    assert_eq!(
        find("ccp_replica_answers_total", Some("127.0.0.1:2")),
        &DebugValue::Counter(1)
    );
    assert!(
        !values
            .iter()
            .any(|(key, labels, _)| key == "ccp_replica_answers_total"
                && labels.contains(&("replica".to_owned(), "127.0.0.1:1".to_owned()))),
        "the replica that refused answered nothing: {values:?}"
    );
    assert!(matches!(
        find("ccp_replica_in_flight", Some("127.0.0.1:2")),
        DebugValue::Gauge(value) if value.into_inner() == 0.0
    ));
}
