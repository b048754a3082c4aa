//! The scaled-out queue's identity and set-up against real NATS JetStream and PostgreSQL:
//! ticket ids stay unique across replicas and when the stream is deleted and recreated mid-run
//! (every earlier resolve still audited); a deleted stream is restored; a replica whose
//! settings differ from the shared engines' is refused naming the setting, or rewrites them
//! when told to migrate; set-up errors name the server, the object and the cause.

// Needs real PostgreSQL and NATS servers: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::engines::{Namespace, nats_url};
use common::process::{closed_port, write_config};
use common::{stderr_of_failure, triage};
use triage::route::{
    JetStreamQueue, JetStreamSettings, Ledger, NewTicket, OnDrift, Recorded, RouteError,
    SystemClock, TicketQueue,
};

const QUEUES: [&str; 2] = ["seo", "billing"];

fn settings(namespace: &Namespace) -> JetStreamSettings {
    JetStreamSettings {
        url: nats_url(),
        stream: namespace.stream(),
        subject_prefix: namespace.name.clone(),
        replicas: 1,
        lease: Duration::from_secs(30),
        max_deliveries: 5,
        duplicate_window: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
        queues: QUEUES.iter().map(|q| q.to_string()).collect(),
        on_drift: OnDrift::Refuse,
    }
}

/// A replica's queue over `namespace`'s schema with `settings`.
async fn open(
    namespace: &Namespace,
    settings: JetStreamSettings,
) -> Result<JetStreamQueue<String>, RouteError> {
    let ledger = Ledger::new(namespace.postgres().await);
    JetStreamQueue::connect(settings, ledger, Arc::new(SystemClock)).await
}

fn ticket(inquiry: &str) -> NewTicket {
    let now = triage::route::Clock::now_ms(&SystemClock);
    NewTicket {
        inquiry_id: inquiry.to_owned(),
        client_id: "acme".to_owned(),
        queue: "seo".to_owned(),
        priority: 1,
        sla_due_ms: now + 3_600_000,
        created_ms: now,
        payload: format!("{{\"inquiry\":\"{inquiry}\"}}"),
        thread_id: None,
    }
}

/// Records a fresh inquiry's decision; returns its new ticket's id.
async fn enqueue(queue: &JetStreamQueue<String>, inquiry: &str) -> u64 {
    match queue
        .record_decision(inquiry, &inquiry.to_owned(), ticket(inquiry))
        .await
        .unwrap()
    {
        Recorded::New { ticket_id } => ticket_id,
        other => panic!("{inquiry}: {other:?}"),
    }
}

/// Claims the next ticket of `seo` and resolves it; returns its id.
async fn claim_and_resolve(queue: &JetStreamQueue<String>, outcome: &str) -> u64 {
    let claimed = queue
        .claim("seo", "alice", 30_000)
        .await
        .unwrap()
        .expect("a ready ticket");
    let token = claimed.lease.unwrap().token;
    queue
        .resolve(claimed.id, token, "alice", outcome.into())
        .await
        .unwrap();
    claimed.id
}

async fn delete_stream(namespace: &Namespace) {
    let nats = async_nats::connect(nats_url()).await.unwrap();
    async_nats::jetstream::new(nats)
        .delete_stream(namespace.stream())
        .await
        .expect("the stream is deleted");
}

/// The ack wait of one consumer of `namespace`'s stream, as the server holds it.
async fn ack_wait(namespace: &Namespace) -> Duration {
    let nats = async_nats::connect(nats_url()).await.unwrap();
    let stream = async_nats::jetstream::new(nats)
        .get_stream(namespace.stream())
        .await
        .unwrap();
    let name = format!("{}_seo_p1", namespace.stream());
    stream.consumer_info(name).await.unwrap().config.ack_wait
}

/// Two replicas hand out distinct ids; the stream deleted mid-run is recreated at the next
/// readiness check, new tickets get ids never used before, every earlier resolution keeps its
/// audit record, and a decision recorded before the deletion still stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_ids_outlive_a_recreated_stream() {
    let namespace = Namespace::new("ids");
    let (a, b) = (
        open(&namespace, settings(&namespace)).await.unwrap(),
        open(&namespace, settings(&namespace)).await.unwrap(),
    );
    let mut ids = BTreeSet::new();
    for n in 0..3 {
        assert!(ids.insert(enqueue(&a, &format!("before-a-{n}")).await));
        assert!(ids.insert(enqueue(&b, &format!("before-b-{n}")).await));
    }
    let mut resolved = Vec::new();
    for n in 0..4 {
        let outcome = format!("answered before {n}");
        resolved.push((claim_and_resolve(&a, &outcome).await, outcome));
    }

    delete_stream(&namespace).await;
    a.healthy().await.expect("the replica restores its stream");
    b.healthy().await.expect("the other finds it restored");

    for n in 0..3 {
        for (replica, queue) in [("a", &a), ("b", &b)] {
            let id = enqueue(queue, &format!("after-{replica}-{n}")).await;
            assert!(
                ids.insert(id),
                "ticket id {id} was used before the stream was recreated"
            );
        }
    }
    let after = claim_and_resolve(&b, "answered after").await;
    assert!(!resolved.iter().any(|(id, _)| *id == after));
    for (id, outcome) in &resolved {
        let audit = a.audit(*id).await.unwrap().expect("the audit record stays");
        assert_eq!(
            &audit.outcome, outcome,
            "ticket {id}'s record was overwritten"
        );
    }
    assert_eq!(
        a.audit(after).await.unwrap().unwrap().outcome,
        "answered after"
    );
    match a
        .record_decision("before-a-0", &"again".to_owned(), ticket("before-a-0"))
        .await
        .unwrap()
    {
        Recorded::Existing(stored) => assert_eq!(stored.decision, "before-a-0"),
        other => panic!("a decided inquiry made a new ticket: {other:?}"),
    }
    namespace.remove().await;
}

/// A replica whose subject prefix, lease or dead-letter count differs from the deployment's is
/// refused with the setting named, and changes nothing; told to migrate, it rewrites them, and
/// the replicas with the old settings are then the ones refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_replica_is_refused_naming_the_setting() {
    let namespace = Namespace::new("drift");
    let first = open(&namespace, settings(&namespace)).await.unwrap();
    let drifted = [
        (
            "subject_prefix",
            JetStreamSettings {
                subject_prefix: format!("{}_other", namespace.name),
                ..settings(&namespace)
            },
        ),
        (
            "default_lease_seconds",
            JetStreamSettings {
                lease: Duration::from_secs(90),
                ..settings(&namespace)
            },
        ),
        (
            "max_deliveries",
            JetStreamSettings {
                max_deliveries: 2,
                ..settings(&namespace)
            },
        ),
    ];
    for (setting, drifted) in drifted {
        match open(&namespace, drifted).await {
            Err(RouteError::SettingsDiffer(message)) => {
                assert!(message.contains(setting), "{setting} not named: {message}");
                assert!(message.contains("--migrate"), "{message}");
            }
            Err(other) => panic!("{setting}: {other}"),
            Ok(_) => panic!("a replica with another {setting} started"),
        }
    }
    assert_eq!(ack_wait(&namespace).await, Duration::from_secs(30));
    let id = enqueue(&first, "still-served").await;
    assert_eq!(claim_and_resolve(&first, "served").await, id);

    let migrated = JetStreamSettings {
        lease: Duration::from_secs(90),
        on_drift: OnDrift::Migrate,
        ..settings(&namespace)
    };
    open(&namespace, migrated).await.expect("told to migrate");
    assert_eq!(ack_wait(&namespace).await, Duration::from_secs(90));
    match open(&namespace, settings(&namespace)).await {
        Err(RouteError::SettingsDiffer(message)) => {
            assert!(message.contains("default_lease_seconds"), "{message}")
        }
        other => panic!("the old lease after a migration: {:?}", other.err()),
    }
    namespace.remove().await;
}

/// Migrating to another subject prefix while the stream holds tickets would strand them: it
/// is refused, saying how many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_would_strand_tickets_is_refused() {
    let namespace = Namespace::new("strand");
    let first = open(&namespace, settings(&namespace)).await.unwrap();
    let waiting = enqueue(&first, "waiting").await;
    let moved = JetStreamSettings {
        subject_prefix: format!("{}_moved", namespace.name),
        on_drift: OnDrift::Migrate,
        ..settings(&namespace)
    };
    match open(&namespace, moved).await {
        Err(RouteError::SettingsDiffer(message)) => {
            assert!(message.contains("holds 1 tickets"), "{message}")
        }
        other => panic!("tickets stranded: {:?}", other.err()),
    }
    assert_eq!(claim_and_resolve(&first, "still there").await, waiting);
    namespace.remove().await;
}

/// Set-up errors name the server, the object and the cause: NATS not listening, and a stream
/// whose subjects another deployment's stream already takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_errors_name_server_object_and_cause() {
    let namespace = Namespace::new("errors");
    let (_socket, port) = closed_port();
    let closed = format!("nats://127.0.0.1:{port}");
    let refused = open(
        &namespace,
        JetStreamSettings {
            url: closed.clone(),
            ..settings(&namespace)
        },
    )
    .await
    .err()
    .expect("no server there");
    let message = refused.to_string();
    assert!(message.contains(&closed), "{message}");
    assert!(message.contains("cannot connect"), "{message}");

    let _first = open(&namespace, settings(&namespace)).await.unwrap();
    let other = Namespace::new("errors_other");
    let overlapping = JetStreamSettings {
        subject_prefix: namespace.name.clone(),
        ..settings(&other)
    };
    let message = open(&other, overlapping)
        .await
        .err()
        .expect("overlap")
        .to_string();
    for part in [
        nats_url().as_str(),
        &other.stream(),
        "overlap",
        "subject_prefix",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    other.remove().await;
    namespace.remove().await;
}

/// `triage serve` with a subject prefix other than the running deployment's exits with the
/// setting named, before it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_drifted_config() {
    let namespace = Namespace::new("serve_drift");
    let _first = open(&namespace, settings(&namespace)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = namespace.config_toml(true).replace(
        &format!("subject_prefix = {:?}", namespace.name),
        "subject_prefix = \"elsewhere\"",
    );
    assert!(toml.contains("elsewhere"), "{toml}");
    let config = write_config(dir.path(), "drifted.toml", 0, &toml);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let stderr = stderr_of_failure(&triage(
        root,
        &["serve", "--config", config.to_str().unwrap()],
    ));
    assert!(stderr.contains("subject_prefix"), "{stderr}");
    assert!(stderr.contains("--migrate"), "{stderr}");
    namespace.remove().await;
}
