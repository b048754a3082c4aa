//! Nothing lost: the server runs as its own process, takes expert inquiries from several
//! clients, is killed with SIGKILL mid-load and restarted on the same data folder; every ticket
//! whose Submit got a reply must be there exactly once. Answered (direct) decisions, which commit
//! without an fsync of their own, survive a SIGKILL once the flush interval has passed.

mod common;

use common::inquiry;
use common::load::{Acknowledged, assert_all_kept, check_replays, claim_all, submitter, wait_for};
use common::process::{connect, kill, start_server, write_config};
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// Every acknowledged ticket survives a SIGKILL exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let channel = connect(&addr).await;

    // Four submitters, one per client, each recording the tickets it got a reply for.
    let acknowledged = Acknowledged::default();
    let submitters: Vec<_> = ["acme", "brightwave", "lumen", "harbour"]
        .into_iter()
        .enumerate()
        .map(|(n, client)| submitter(channel.clone(), "kill", client, n, acknowledged.clone()))
        .collect();
    wait_for(&acknowledged, 400).await;
    kill(child);
    for submitter in submitters {
        submitter.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (child, addr) = start_server(&config);
    let channel = connect(&addr).await;
    check_replays(channel.clone(), &acknowledged).await;
    // Claim everything: each inquiry's ticket exactly once, every acknowledged one among them.
    let claimed = claim_all(channel).await;
    assert_all_kept(&acknowledged, &claimed);
    kill(child);
}

/// Direct answers to a quiet server, then an idle second (five flush intervals), then SIGKILL:
/// every answer replays after the restart, with the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_survive_a_sigkill_after_an_idle_second() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    let mut answered = Vec::new();
    for n in 0..50 {
        let id = format!("direct-{n}");
        let decision = triage
            .submit(inquiry(&id, "acme", "is invoice 1042 paid?"))
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        match decision.outcome {
            Some(pb::decision::Outcome::Answer(answer)) => answered.push((id, answer.text)),
            other => panic!("{id}: expected an answer, got {other:?}"),
        }
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    kill(child);

    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    for (id, text) in &answered {
        let replay = triage
            .submit(inquiry(id, "acme", "resubmitted"))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.replayed, "{id} was not kept");
        match replay.decision.and_then(|d| d.outcome) {
            Some(pb::decision::Outcome::Answer(answer)) => assert_eq!(&answer.text, text, "{id}"),
            other => panic!("{id}: the replay is not the answer: {other:?}"),
        }
    }
    kill(child);
}
