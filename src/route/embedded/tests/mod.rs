//! Behaviour tests of `EmbeddedQueue` through its public API, and the fixture they share:
//! a queue in a temp dir on a `ManualClock`.

mod leases;
mod records;
mod retention;

use std::path::Path;
use std::sync::Arc;

use tempfile::TempDir;

use super::*;
use crate::route::{ErrorKind, Lease, LeaseToken, ManualClock, QueuedAs, SystemClock};

const LEASE_MS: i64 = 1_000;

struct Fixture {
    dir: TempDir,
    clock: Arc<ManualClock>,
    queue: EmbeddedQueue<String>,
}

impl Fixture {
    fn new() -> Self {
        Self::with(QueueSettings::default())
    }

    fn with(settings: QueueSettings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(ManualClock::new(10_000));
        let queue = open(dir.path(), settings, &clock);
        Self { dir, clock, queue }
    }

    /// Drops the queue (joining its writer) and opens the same directory again.
    fn reopen(self) -> Self {
        let Self { dir, clock, queue } = self;
        drop(queue);
        let queue = open(dir.path(), QueueSettings::default(), &clock);
        Self { dir, clock, queue }
    }

    /// Records a decision for `inquiry` with a ticket in `queue`; returns the ticket id.
    async fn add(&self, inquiry: &str, queue: &str, priority: u8, sla_due_ms: i64) -> u64 {
        let ticket = NewTicket::sample(inquiry, queue, priority, sla_due_ms);
        match self
            .queue
            .record_decision(inquiry, &"{}".into(), ticket)
            .await
        {
            Ok(Recorded::New { ticket_id }) => ticket_id,
            other => panic!("recording {inquiry} gave {other:?}"),
        }
    }

    async fn claim(&self, queue: &str, holder: &str) -> Option<Ticket> {
        self.queue
            .claim(queue, holder, LEASE_MS)
            .await
            .expect("claim")
    }

    async fn claim_some(&self, queue: &str, holder: &str) -> (Ticket, Lease) {
        let ticket = self.claim(queue, holder).await.expect("a ready ticket");
        let lease = ticket.lease.clone().expect("a claimed ticket is leased");
        (ticket, lease)
    }
}

/// A token no lease was given.
fn other_token() -> LeaseToken {
    LeaseToken::random().expect("the system random source")
}

fn open(dir: &Path, settings: QueueSettings, clock: &Arc<ManualClock>) -> EmbeddedQueue<String> {
    EmbeddedQueue::open(dir, settings, clock.clone()).expect("open queue")
}

/// A decision as the queue gives it back, with the ticket it queued.
fn stored(decision: &str, ticket_id: Option<u64>) -> Option<StoredDecision<String>> {
    Some(StoredDecision {
        decision: decision.into(),
        ticket_id,
    })
}
