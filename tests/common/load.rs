//! Expert load for the "nothing lost" tests: submitters that keep what was acknowledged, and
//! the checks that every acknowledged ticket is kept exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::Channel;
use triage::proto::v1 as pb;
use triage::proto::v1::specialist_service_client::SpecialistServiceClient;
use triage::proto::v1::triage_service_client::TriageServiceClient;

use super::inquiry;

/// Inquiries that become tickets on different queues.
pub const EXPERT_TEXTS: [&str; 4] = [
    "our checkout page throws a 500 error since this morning",
    "what should the SEO report focus on next quarter?",
    "we were charged twice for the October retainer, please refund",
    "can you integrate our HubSpot forms with the new website?",
];

/// Inquiry id → ticket id, for every Submit that got a ticket back.
pub type Acknowledged = Arc<Mutex<BTreeMap<String, u64>>>;

/// Submits expert inquiries for `client_id` over `channel` (ids `<tag>-<client>-<n>`) until a
/// call fails, recording each acknowledged ticket.
pub fn submitter(
    channel: Channel,
    tag: &str,
    client_id: &'static str,
    offset: usize,
    acknowledged: Acknowledged,
) -> tokio::task::JoinHandle<()> {
    let tag = tag.to_owned();
    tokio::spawn(async move {
        let mut client = TriageServiceClient::new(channel);
        for i in 0.. {
            let id = format!("{tag}-{client_id}-{i}");
            let text = EXPERT_TEXTS[(offset + i) % EXPERT_TEXTS.len()];
            let Ok(response) = client.submit(inquiry(&id, client_id, text)).await else {
                break;
            };
            if let Some(pb::decision::Outcome::Ticket(ticket)) =
                response.into_inner().decision.and_then(|d| d.outcome)
            {
                acknowledged.lock().unwrap().insert(id, ticket.ticket_id);
            }
        }
    })
}

/// How long a test waits for load to make progress before calling it a hang: a guard against a
/// stuck server, not a timing check.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Waits until at least `count` submissions were acknowledged; fails when the load stalls.
pub async fn wait_for(acknowledged: &Acknowledged, count: usize) {
    let reached = tokio::time::timeout(HANG_GUARD, async {
        while acknowledged.lock().unwrap().len() < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let got = acknowledged.lock().unwrap().len();
    assert!(
        reached.is_ok(),
        "{got} of {count} submissions acknowledged after {HANG_GUARD:?}"
    );
}

/// Resubmits every acknowledged inquiry: each must be a replay with its original ticket.
pub async fn check_replays(channel: Channel, acknowledged: &BTreeMap<String, u64>) {
    let mut triage = TriageServiceClient::new(channel);
    for (id, ticket_id) in acknowledged {
        let client_id = id.split('-').nth(1).unwrap();
        let replay = triage
            .submit(inquiry(id, client_id, "resubmitted"))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.replayed, "{id} was acknowledged but not kept");
        match replay.decision.and_then(|d| d.outcome) {
            Some(pb::decision::Outcome::Ticket(ticket)) => {
                assert_eq!(ticket.ticket_id, *ticket_id, "{id}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
}

/// Claims every ticket of every queue over `channel`; fails on an inquiry with two tickets.
/// Returns the inquiry ids claimed.
pub async fn claim_all(channel: Channel) -> BTreeSet<String> {
    let mut specialist = SpecialistServiceClient::new(channel);
    let queues = specialist
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    let mut seen = BTreeSet::new();
    for queue in queues {
        while let Some(claimed) = specialist
            .claim(pb::ClaimRequest {
                queue: queue.queue.clone(),
                lease: None,
            })
            .await
            .unwrap()
            .into_inner()
            .ticket
        {
            let id = claimed.inquiry.unwrap().inquiry_id;
            assert!(seen.insert(id.clone()), "{id} has two tickets");
        }
    }
    seen
}

/// Every acknowledged inquiry is among `claimed`.
pub fn assert_all_kept(acknowledged: &BTreeMap<String, u64>, claimed: &BTreeSet<String>) {
    for id in acknowledged.keys() {
        assert!(claimed.contains(id), "{id} has no ticket");
    }
}
