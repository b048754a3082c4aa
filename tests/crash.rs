//! Nothing lost: the server runs as its own process, takes expert inquiries from several
//! clients, is killed with SIGKILL mid-load and restarted on the same data folder; every ticket
//! whose Submit got a reply must be there exactly once. Answered (direct) decisions, which commit
//! without an fsync of their own, survive a SIGKILL once the flush interval has passed, and so
//! do the tickets decided beside them.

mod common;

use common::inquiry;
use common::load::{
    Acknowledged, EXPERT_TEXTS, assert_all_kept, check_replays, claim_all, submitter, wait_for,
};
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

/// Direct answers and expert tickets to a quiet server, then an idle second (five flush
/// intervals), then SIGKILL: every decision replays after the restart, the same as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_survive_a_sigkill_after_an_idle_second() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "triage.toml", 0, "");
    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    let mut decided = Vec::new();
    for n in 0..60 {
        let (id, text) = if n % 3 == 2 {
            (format!("expert-{n}"), EXPERT_TEXTS[n % EXPERT_TEXTS.len()])
        } else {
            (format!("direct-{n}"), "is invoice 1042 paid?")
        };
        let decision = triage
            .submit(inquiry(&id, "acme", text))
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        match (&decision.outcome, n % 3 == 2) {
            (Some(pb::decision::Outcome::Answer(_)), false)
            | (Some(pb::decision::Outcome::Ticket(_)), true) => {}
            (other, _) => panic!("{id}: unexpected outcome {other:?}"),
        }
        decided.push((id, decision.outcome));
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    kill(child);

    let (child, addr) = start_server(&config);
    let mut triage = TriageServiceClient::new(connect(&addr).await);
    for (id, outcome) in &decided {
        let replay = triage
            .submit(inquiry(id, "acme", "resubmitted"))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.replayed, "{id} was not kept");
        assert_eq!(&replay.decision.unwrap().outcome, outcome, "{id}");
    }
    kill(child);
}
