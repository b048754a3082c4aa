//! Nothing lost: the server runs as its own process, takes expert inquiries from several
//! clients, is killed with SIGKILL mid-load and restarted on the same data folder; every ticket
//! whose Submit got a reply must be there exactly once.

mod common;

use common::load::{Acknowledged, assert_all_kept, check_replays, claim_all, submitter, wait_for};
use common::process::{connect, kill, start_server, write_config};

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
