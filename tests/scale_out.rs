//! Two replicas sharing one NATS JetStream and one PostgreSQL, each its own `triage serve`
//! process: one inquiry sent to both makes one ticket; specialists claiming on both never get
//! the same ticket while its lease holds; SIGKILL of one replica mid-load loses no
//! acknowledged ticket.

// Needs real PostgreSQL and NATS servers: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use common::engines::{Namespace, postgres_url};
use common::load::{Acknowledged, assert_all_kept, check_replays, claim_all, submitter, wait_for};
use common::process::{closed_port, connect, kill, start_server, write_config};
use common::{inquiry, triage};
use tonic::transport::Channel;
use triage::proto::v1 as pb;
use triage::proto::v1::specialist_service_client::SpecialistServiceClient;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// Two replicas of one namespace, with the agency status data imported by `triage import`.
struct Replicas {
    namespace: Namespace,
    children: Vec<Child>,
    channels: Vec<Channel>,
    _dir: tempfile::TempDir,
}

impl Replicas {
    async fn start(label: &str) -> Self {
        let namespace = Namespace::new(label);
        let imported = namespace.import_agency();
        assert!(imported.contains("imported 6 clients"), "{imported}");
        let dir = tempfile::tempdir().unwrap();
        let (mut children, mut channels) = (Vec::new(), Vec::new());
        for n in 0..2 {
            let config = write_config(
                dir.path(),
                &format!("replica{n}.toml"),
                0,
                &namespace.config_toml(true),
            );
            let (child, addr) = start_server(&config);
            children.push(child);
            channels.push(connect(&addr).await);
        }
        Self {
            namespace,
            children,
            channels,
            _dir: dir,
        }
    }

    async fn stop(self) {
        for child in self.children {
            kill(child);
        }
        self.namespace.remove().await;
    }
}

/// The same inquiry to both replicas at once: one ticket, one first decision, one replay.
/// Then tickets submitted on both and claimed on both: no ticket is delivered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_queue() {
    let replicas = Replicas::start("share").await;
    let mut a = TriageServiceClient::new(replicas.channels[0].clone());
    let mut b = TriageServiceClient::new(replicas.channels[1].clone());
    let text = "we were charged twice for the October retainer, please refund";
    let (first, second) = tokio::join!(
        a.submit(inquiry("same-1", "acme", text)),
        b.submit(inquiry("same-1", "acme", text))
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(
        [first.replayed, second.replayed]
            .iter()
            .filter(|r| **r)
            .count(),
        1,
        "exactly one of the two is the original decision"
    );
    let ticket_of =
        |r: &pb::SubmitResponse| match r.decision.as_ref().and_then(|d| d.outcome.as_ref()) {
            Some(pb::decision::Outcome::Ticket(t)) => t.ticket_id,
            other => panic!("{other:?}"),
        };
    assert_eq!(ticket_of(&first), ticket_of(&second));
    // A direct question is answered from the client's data in PostgreSQL.
    let answered = b
        .submit(inquiry("direct-1", "acme", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    match answered.decision.and_then(|d| d.outcome) {
        Some(pb::decision::Outcome::Answer(answer)) => {
            assert!(answer.text.contains("INV-1042"), "{}", answer.text)
        }
        other => panic!("{other:?}"),
    }

    for i in 0..30 {
        let client = if i % 2 == 0 { &mut a } else { &mut b };
        client
            .submit(inquiry(&format!("many-{i}"), "lumen", text))
            .await
            .unwrap();
    }
    // Specialists on both replicas claim at the same time until the queue is empty.
    let claims = replicas.channels.iter().map(|channel| {
        let mut specialist = SpecialistServiceClient::new(channel.clone());
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(ticket) = specialist
                .claim(pb::ClaimRequest {
                    queue: "billing".into(),
                    lease: None,
                })
                .await
                .unwrap()
                .into_inner()
                .ticket
            {
                got.push(ticket.ticket.unwrap().ticket_id);
            }
            got
        })
    });
    let mut all = Vec::new();
    for claim in claims.collect::<Vec<_>>() {
        let got = claim.await.unwrap();
        assert!(!got.is_empty(), "both replicas serve claims");
        all.extend(got);
    }
    let unique: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a ticket was delivered twice: {all:?}"
    );
    assert_eq!(all.len(), 31);
    replicas.stop().await;
}

/// SIGKILL of one replica mid-load: every ticket acknowledged by either replica is kept once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_replica_loses_no_acknowledged_ticket() {
    let mut replicas = Replicas::start("kill").await;
    let acknowledged = Acknowledged::default();
    let submitters: Vec<_> = ["acme", "brightwave", "lumen", "harbour"]
        .into_iter()
        .enumerate()
        .map(|(n, client)| {
            let channel = replicas.channels[n % 2].clone();
            submitter(
                channel,
                &format!("r{}", n % 2),
                client,
                n,
                acknowledged.clone(),
            )
        })
        .collect();
    wait_for(&acknowledged, 200).await;
    kill(replicas.children.remove(0));
    // The survivor goes on taking inquiries.
    let before = acknowledged.lock().unwrap().len();
    wait_for(&acknowledged, before + 50).await;
    let survivor = replicas.channels[1].clone();
    let mut triage = TriageServiceClient::new(survivor.clone());
    // Stop the survivor's submitters by ending the test's interest: collect what we have.
    let acknowledged_now = acknowledged.lock().unwrap().clone();
    for (n, submitter) in submitters.into_iter().enumerate() {
        if n % 2 == 0 {
            submitter.await.unwrap();
        } else {
            submitter.abort();
        }
    }
    triage.ping(pb::PingRequest {}).await.unwrap();
    check_replays(survivor.clone(), &acknowledged_now).await;
    let claimed = claim_all(survivor).await;
    assert_all_kept(&acknowledged_now, &claimed);
    replicas.stop().await;
}

/// The stream deleted under two serving replicas: within seconds an expert Submit makes a
/// ticket again on either replica, with an id neither handed out before, and it can be claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_stream_is_restored_while_serving() {
    let replicas = Replicas::start("restore").await;
    let text = "we were charged twice for the October retainer, please refund";
    let ticket_of = |r: pb::SubmitResponse| match r.decision.and_then(|d| d.outcome) {
        Some(pb::decision::Outcome::Ticket(t)) => t.ticket_id,
        other => panic!("{other:?}"),
    };
    let mut before = BTreeSet::new();
    for (n, channel) in replicas.channels.iter().enumerate() {
        let mut client = TriageServiceClient::new(channel.clone());
        let submitted = client.submit(inquiry(&format!("before-{n}"), "acme", text));
        before.insert(ticket_of(submitted.await.unwrap().into_inner()));
    }
    let nats = async_nats::connect(common::engines::nats_url())
        .await
        .unwrap();
    async_nats::jetstream::new(nats)
        .delete_stream(replicas.namespace.stream())
        .await
        .expect("delete the stream");

    let deleted = std::time::Instant::now();
    for (n, channel) in replicas.channels.iter().enumerate() {
        let mut client = TriageServiceClient::new(channel.clone());
        let id = loop {
            let submitted = client.submit(inquiry(&format!("after-{n}"), "acme", text));
            match submitted.await {
                Ok(response) => break ticket_of(response.into_inner()),
                Err(status) => assert!(
                    deleted.elapsed() < Duration::from_secs(30),
                    "replica {n} still fails 30 s after the stream was deleted: {status}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(!before.contains(&id), "ticket id {id} handed out twice");
        client.ping(pb::PingRequest {}).await.unwrap();
    }
    eprintln!(
        "tickets again {:?} after the stream was deleted",
        deleted.elapsed()
    );
    // The stream takes tickets as soon as it is back; its consumers follow one by one, and a
    // claim before its queue's are back is refused as UNAVAILABLE.
    let mut specialist = SpecialistServiceClient::new(replicas.channels[1].clone());
    let claimed = loop {
        let claim = specialist.claim(pb::ClaimRequest {
            queue: "billing".into(),
            lease: None,
        });
        match claim.await {
            Ok(response) => break response.into_inner().ticket,
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
                assert!(deleted.elapsed() < Duration::from_secs(30), "{status}");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let claimed = claimed.expect("a ticket made after the restore");
    assert!(!before.contains(&claimed.ticket.unwrap().ticket_id));
    replicas.stop().await;
}

/// With an engine down, `serve` refuses to start and says which one and where.
#[test]
fn startup_refuses_when_an_engine_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (_refusing, closed) = closed_port();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        (
            format!("[postgres]\nurl = \"postgres://postgres@127.0.0.1:{closed}/test\"\n"),
            [
                format!("postgres at 127.0.0.1:{closed}/test: cannot connect: "),
                "Connection refused".to_owned(),
            ],
        ),
        (
            format!(
                "[postgres]\nurl = {:?}\n[nats]\nurl = \"nats://127.0.0.1:{closed}\"\n",
                postgres_url()
            ),
            [
                format!("nats at nats://127.0.0.1:{closed}: cannot connect"),
                String::new(),
            ],
        ),
    ];
    for (n, (extra, expected)) in cases.iter().enumerate() {
        let config = write_config(dir.path(), &format!("down{n}.toml"), 0, extra);
        let output = triage(root, &["serve", "--config", config.to_str().unwrap()]);
        let stderr = common::stderr_of_failure(&output);
        for part in expected {
            assert!(stderr.contains(part), "{part} !~ {stderr}");
        }
    }
}
