//! The queue contract: one suite, run unchanged against the embedded queue (redb) and the
//! scaled-out queue (NATS JetStream with its PostgreSQL ledger), both real; the scaled-out half
//! runs with the `engines` feature.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::engines::{Namespace, nats_url};
use serde::{Deserialize, Serialize};
use triage::route::{
    Attached, Clock, DeadLetterOutcome, EmbeddedQueue, JetStreamQueue, JetStreamSettings,
    LeaseToken, Ledger, MAX_FOLLOW_UPS, NewFollowUp, NewTicket, OnDrift, QueueSettings, Recorded,
    Resolution, RouteError, StoredDecision, SystemClock, ThreadTicket, TicketQueue,
};

const QUEUES: [&str; 2] = ["seo", "billing"];

#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "engines"), allow(dead_code))]
enum Backend {
    Embedded,
    JetStream,
}

/// The decision type the suite stores: the queue keeps any serializable type and gives the
/// same type back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    text: String,
    /// Not JSON-safe as a float (NaN is refused), so it is an integer.
    weight: u32,
}

fn note(text: &str, weight: u32) -> Note {
    Note {
        text: text.to_owned(),
        weight,
    }
}

/// A queue under test and what it needs removed afterwards.
struct Harness {
    queue: Arc<dyn TicketQueue<Note>>,
    lease_ms: i64,
    _dir: tempfile::TempDir,
    namespace: Option<Namespace>,
}

impl Harness {
    async fn open(backend: Backend, lease: Duration, max_deliveries: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(SystemClock);
        let lease_ms = lease.as_millis() as i64;
        match backend {
            Backend::Embedded => {
                let settings = QueueSettings {
                    max_deliveries,
                    ..QueueSettings::default()
                };
                let queue = EmbeddedQueue::open(dir.path(), settings, clock).unwrap();
                Self {
                    queue: Arc::new(queue),
                    lease_ms,
                    _dir: dir,
                    namespace: None,
                }
            }
            Backend::JetStream => {
                let namespace = Namespace::new("queue");
                let ledger = Ledger::new(namespace.postgres().await);
                let settings = JetStreamSettings {
                    url: nats_url(),
                    stream: namespace.stream(),
                    subject_prefix: namespace.name.clone(),
                    replicas: 1,
                    lease,
                    max_deliveries,
                    duplicate_window: Duration::from_secs(60),
                    timeout: Duration::from_secs(2),
                    queues: QUEUES.iter().map(|q| q.to_string()).collect(),
                    on_drift: OnDrift::Refuse,
                };
                let queue = JetStreamQueue::connect(settings, ledger, clock)
                    .await
                    .unwrap_or_else(|err| panic!("nats at {} must be running: {err}", nats_url()));
                Self {
                    queue: Arc::new(queue),
                    lease_ms,
                    _dir: dir,
                    namespace: Some(namespace),
                }
            }
        }
    }

    async fn close(self) {
        if let Some(namespace) = &self.namespace {
            namespace.remove().await;
        }
    }

    /// Queues a ticket for a fresh inquiry; returns its id.
    async fn enqueue(&self, inquiry: &str, queue: &str, priority: u8) -> u64 {
        let outcome = self
            .queue
            .record_decision(inquiry, &note(inquiry, 1), ticket(inquiry, queue, priority))
            .await
            .unwrap();
        match outcome {
            Recorded::New { ticket_id } => ticket_id,
            other => panic!("{inquiry}: {other:?}"),
        }
    }

    /// Queues a ticket for a fresh inquiry of acme in `thread`; returns its id.
    async fn enqueue_in_thread(&self, inquiry: &str, queue: &str, thread: Option<&str>) -> u64 {
        let ticket = NewTicket {
            thread_id: thread.map(str::to_owned),
            ..ticket(inquiry, queue, 1)
        };
        match self
            .queue
            .record_decision(inquiry, &note(inquiry, 1), ticket)
            .await
            .unwrap()
        {
            Recorded::New { ticket_id } => ticket_id,
            other => panic!("{inquiry}: {other:?}"),
        }
    }

    /// Attaches the follow-up `inquiry` of `client` to ticket `ticket_id`, its decision a note
    /// of its id, its payload its id.
    async fn attach(&self, inquiry: &str, client: &str, ticket_id: u64) -> Attached<Note> {
        let follow_up = NewFollowUp {
            inquiry_id: inquiry.to_owned(),
            client_id: client.to_owned(),
            ticket_id,
            payload: inquiry.to_owned(),
            reopened_sla_due_ms: now_ms() + 7_200_000,
        };
        self.queue
            .attach(&note(inquiry, 1), follow_up)
            .await
            .unwrap()
    }

    /// The payloads of the follow-ups ticket `id` shows.
    async fn follow_ups_of(&self, id: u64) -> Vec<String> {
        let ticket = self.queue.ticket(id).await.unwrap().expect("a live ticket");
        ticket.follow_ups.into_iter().map(|f| f.payload).collect()
    }

    async fn claim(&self, queue: &str, holder: &str) -> Option<triage::route::Ticket> {
        self.queue
            .claim(queue, holder, self.lease_ms)
            .await
            .unwrap()
    }

    /// The (ready, leased) counts of `queue`.
    async fn ready_and_leased(&self, queue: &str) -> (u64, u64) {
        let stats = self.queue.stats(&[queue.into()]).await.unwrap();
        (stats[0].ready, stats[0].leased)
    }

    /// Claims the next ticket of `queue` as `holder` and releases it, saying `reason`; returns
    /// its id (with its last allowed delivery, that dead-letters it).
    async fn claim_and_release(&self, queue: &str, holder: &str, reason: &str) -> u64 {
        let claimed = self.claim(queue, holder).await.expect("a ready ticket");
        let token = claimed.lease.unwrap().token;
        self.queue
            .release(claimed.id, token, holder, reason)
            .await
            .unwrap();
        claimed.id
    }

    /// Asserts that `queue` holds nothing but ticket `id`, dead-lettered.
    async fn assert_only_dead_letter(&self, queue: &str, id: u64) {
        let dead = self.queue.dead_letters(queue).await.unwrap();
        assert_eq!(
            dead.iter().map(|d| d.ticket.id).collect::<Vec<_>>(),
            vec![id]
        );
        let stats = self.queue.stats(&[queue.into()]).await.unwrap();
        assert_eq!(
            (stats[0].ready, stats[0].leased, stats[0].dead_letters),
            (0, 0, 1)
        );
    }
}

/// A well-formed token that no lease was given.
fn other_token() -> LeaseToken {
    LeaseToken::random().unwrap()
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
}

fn ticket(inquiry: &str, queue: &str, priority: u8) -> NewTicket {
    let now = now_ms();
    NewTicket {
        inquiry_id: inquiry.to_owned(),
        client_id: "acme".to_owned(),
        queue: queue.to_owned(),
        priority,
        sla_due_ms: now + 3_600_000,
        created_ms: now,
        payload: format!("{{\"inquiry\":\"{inquiry}\"}}"),
        thread_id: Some(format!("thread-{inquiry}")),
    }
}

const LONG_LEASE: Duration = Duration::from_secs(60);

/// A decision is stored once: a repeat gets the first decision and its ticket, no second one.
async fn decisions_are_idempotent(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let first = h.enqueue("inq-1", "seo", 1).await;
    let again = h
        .queue
        .record_decision("inq-1", &note("other", 2), ticket("inq-1", "seo", 1))
        .await
        .unwrap();
    let first_decision = StoredDecision {
        decision: note("inq-1", 1),
        ticket_id: Some(first),
    };
    assert_eq!(again, Recorded::Existing(first_decision.clone()));
    assert_eq!(
        h.queue.decision("inq-1").await.unwrap(),
        Some(first_decision)
    );
    h.queue
        .record_answer("ans-1", &note("answer", 1))
        .await
        .unwrap();
    h.queue
        .record_answer("ans-1", &note("answer", 2))
        .await
        .unwrap();
    h.queue.flush().await.unwrap();
    let answer = StoredDecision {
        decision: note("answer", 1),
        ticket_id: None,
    };
    assert_eq!(h.queue.decision("ans-1").await.unwrap(), Some(answer));
    assert_eq!(h.queue.decision("never").await.unwrap(), None);
    let stats = h.queue.stats(&["seo".into()]).await.unwrap();
    assert_eq!((stats[0].ready, stats[0].leased), (1, 0), "{stats:?}");
    assert!(matches!(
        h.queue
            .record_decision(" ", &note("blank", 1), ticket(" ", "seo", 1))
            .await,
        Err(RouteError::InvalidArgument(_))
    ));
    h.close().await;
}

/// The decisions stored since a time come back once each, tickets' and answers' alike, the
/// latest first and no more than asked for; none are stored in the future.
async fn decisions_since_a_time_come_back_latest_first(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let before = now_ms();
    let first = h.enqueue("inq-a", "seo", 1).await;
    h.queue
        .record_answer("ans-b", &note("answer", 1))
        .await
        .unwrap();
    h.queue
        .record_answer("ans-b", &note("answer again", 2))
        .await
        .unwrap();
    h.queue.flush().await.unwrap();
    let last = h.enqueue("inq-c", "billing", 2).await;
    let all = h.queue.decisions_since(before, 10).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(
        all[0],
        StoredDecision {
            decision: note("inq-c", 1),
            ticket_id: Some(last),
        }
    );
    for expected in [
        StoredDecision {
            decision: note("inq-a", 1),
            ticket_id: Some(first),
        },
        StoredDecision {
            decision: note("answer", 1),
            ticket_id: None,
        },
    ] {
        assert!(all.contains(&expected), "{expected:?} in {all:?}");
    }
    let latest = h.queue.decisions_since(before, 1).await.unwrap();
    assert_eq!(latest, all[..1]);
    let future = h
        .queue
        .decisions_since(now_ms() + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(future, Vec::new());
    h.close().await;
}

/// Claims take the most urgent priority first, then arrival order; queues are separate; a
/// queue's statistics name the priority of the ticket the next claim takes.
async fn claims_follow_priority_then_arrival(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let low = h.enqueue("low", "seo", 3).await;
    let urgent_a = h.enqueue("urgent-a", "seo", 0).await;
    let middle = h.enqueue("middle", "seo", 1).await;
    let urgent_b = h.enqueue("urgent-b", "seo", 0).await;
    let billing = h.enqueue("bill", "billing", 0).await;
    let before = h.queue.stats(&["seo".into()]).await.unwrap();
    assert_eq!(
        before[0].next_ready.map(|next| next.priority),
        Some(0),
        "{before:?}"
    );
    let mut order = Vec::new();
    while let Some(ticket) = h.claim("seo", "alice").await {
        assert_eq!(ticket.queue, "seo");
        assert_eq!(ticket.lease.as_ref().unwrap().holder, "alice");
        order.push(ticket.id);
    }
    assert_eq!(order, vec![urgent_a, urgent_b, middle, low]);
    let stats = h
        .queue
        .stats(&["seo".into(), "billing".into()])
        .await
        .unwrap();
    assert_eq!((stats[0].ready, stats[0].leased), (0, 4), "{stats:?}");
    assert_eq!(stats[0].next_ready, None, "{stats:?}");
    assert_eq!((stats[1].ready, stats[1].leased), (1, 0), "{stats:?}");
    for lease_ms in [0, -1] {
        assert!(matches!(
            h.queue.claim("billing", "bob", lease_ms).await,
            Err(RouteError::InvalidArgument(_))
        ));
    }
    assert_eq!(h.claim("billing", "bob").await.unwrap().id, billing);
    assert!(h.claim("billing", "bob").await.is_none());
    h.close().await;
}

/// Only the holder with the current token may act; resolve removes the ticket and keeps an
/// audit record.
async fn leases_are_checked_and_resolve_is_audited(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let id = h.enqueue("inq-r", "seo", 1).await;
    let claimed = h.claim("seo", "alice").await.unwrap();
    let token = claimed.lease.as_ref().unwrap().token;
    assert_eq!((claimed.id, claimed.deliveries), (id, 1));
    assert_eq!(claimed.inquiry_id, "inq-r");
    assert_eq!(claimed.payload, "{\"inquiry\":\"inq-r\"}");
    assert!(matches!(
        h.queue.resolve(id, token, "mallory", "done".into()).await,
        Err(RouteError::NotLeased { .. })
    ));
    assert!(matches!(
        h.queue
            .resolve(id, other_token(), "alice", "done".into())
            .await,
        Err(RouteError::StaleLease { .. })
    ));
    assert!(matches!(
        h.queue.extend(id, token, "alice", 0).await,
        Err(RouteError::InvalidArgument(_))
    ));
    assert!(matches!(
        h.queue.extend(id, token, "mallory", h.lease_ms).await,
        Err(RouteError::NotLeased { .. })
    ));
    let extended = h
        .queue
        .extend(id, token, "alice", h.lease_ms)
        .await
        .unwrap();
    assert!(extended.lease.unwrap().expires_ms >= claimed.lease.unwrap().expires_ms);
    assert_eq!(h.queue.ticket(id).await.unwrap().map(|t| t.id), Some(id));
    let audit = h
        .queue
        .resolve(id, token, "alice", "answered".into())
        .await
        .unwrap();
    assert_eq!(
        (
            audit.ticket_id,
            audit.inquiry_id.as_str(),
            audit.holder.as_str(),
            audit.outcome.as_str()
        ),
        (id, "inq-r", "alice", "answered")
    );
    assert_eq!(h.queue.audit(id).await.unwrap(), Some(audit));
    assert!(h.claim("seo", "alice").await.is_none());
    assert_eq!(h.queue.ticket(id).await.unwrap(), None);
    assert!(
        h.queue
            .resolve(id, token, "alice", "again".into())
            .await
            .is_err()
    );
    h.close().await;
}

/// An audit record keeps the ticket's priority and creation time, and the records resolved
/// since a time come latest first, as many as asked for.
async fn recent_resolutions_say_how_long_their_tickets_waited(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let since_ms = now_ms();
    let mut created = Vec::new();
    for (inquiry, priority) in [("wait-a", 2), ("wait-b", 0), ("wait-c", 1)] {
        let id = h.enqueue(inquiry, "billing", priority).await;
        let claimed = h.claim("billing", "alice").await.unwrap();
        let token = claimed.lease.unwrap().token;
        h.queue
            .resolve(id, token, "alice", "answered".into())
            .await
            .unwrap();
        created.push((id, priority, claimed.created_ms));
    }
    let recent = h.queue.resolved_since(since_ms, 2).await.unwrap();
    let read: Vec<_> = recent
        .iter()
        .map(|record| {
            let queued = record.queued_as.expect("how the ticket was queued");
            (record.ticket_id, queued.priority, queued.created_ms)
        })
        .collect();
    assert_eq!(
        read,
        vec![created[2], created[1]],
        "the latest two, latest first"
    );
    assert!(recent.iter().all(|record| record.resolved_ms >= since_ms));
    let later = h.queue.resolved_since(now_ms() + 60_000, 10).await.unwrap();
    assert_eq!(later, Vec::new());
    h.close().await;
}

/// A released ticket is ready again at once; a rerouted one moves queue, keeps its id, and the
/// correction is recorded.
async fn release_and_reroute(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let id = h.enqueue("inq-m", "seo", 2).await;
    let first = h.claim("seo", "alice").await.unwrap();
    let released = h
        .queue
        .release(id, first.lease.unwrap().token, "alice", "not mine")
        .await
        .unwrap();
    assert!(released.lease.is_none());
    let second = h.claim("seo", "bob").await.unwrap();
    assert_eq!((second.id, second.deliveries), (id, 2));
    let moved = h
        .queue
        .reroute(
            id,
            second.lease.unwrap().token,
            "bob",
            "billing",
            "a refund question",
        )
        .await
        .unwrap();
    assert_eq!((moved.id, moved.queue.as_str()), (id, "billing"));
    assert!(h.claim("seo", "bob").await.is_none());
    let on_billing = h.claim("billing", "carol").await.unwrap();
    assert_eq!(
        (on_billing.id, on_billing.inquiry_id.as_str()),
        (id, "inq-m")
    );
    let corrections = h.queue.corrections().await.unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(
        (
            corrections[0].from_queue.as_str(),
            corrections[0].to_queue.as_str()
        ),
        ("seo", "billing")
    );
    assert_eq!(corrections[0].reason, "a refund question");
    h.close().await;
}

/// The backlog ahead of a ticket is the ready tickets of its queue at its priority or a more
/// urgent one, itself left out: not the less urgent ones, not another queue's, not a leased
/// one, which counts again once released and no more once resolved.
async fn the_backlog_ahead_is_the_ready_tickets_as_urgent_or_more(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let first = h.enqueue("first", "seo", 1).await;
    let urgent = h.enqueue("urgent", "seo", 0).await;
    let later = h.enqueue("later", "seo", 2).await;
    h.enqueue("elsewhere", "billing", 0).await;
    let new = h.enqueue("new", "seo", 1).await;
    let ahead = |priority, ticket_id| {
        let queue = Arc::clone(&h.queue);
        async move { queue.ready_ahead("seo", priority, ticket_id).await.unwrap() }
    };
    assert_eq!(ahead(1, new).await, 2, "first and urgent");
    assert_eq!(ahead(1, first).await, 2, "urgent and new");
    assert_eq!(ahead(0, urgent).await, 0);
    assert_eq!(ahead(2, later).await, 3);
    let claimed = h.claim("seo", "alice").await.unwrap();
    assert_eq!(claimed.id, urgent);
    assert_eq!(ahead(1, new).await, 1, "the leased ticket is not ahead");
    let token = claimed.lease.unwrap().token;
    h.queue
        .release(urgent, token, "alice", "later")
        .await
        .unwrap();
    assert_eq!(ahead(1, new).await, 2, "a released ticket is ready again");
    let again = h.claim("seo", "alice").await.unwrap();
    assert_eq!(again.id, urgent);
    let token = again.lease.unwrap().token;
    h.queue
        .resolve(urgent, token, "alice", "answered".into())
        .await
        .unwrap();
    assert_eq!(ahead(1, new).await, 1, "a resolved ticket is gone");
    h.close().await;
}

/// An expired lease returns the ticket; after `max_deliveries` it goes to the dead letters.
async fn expired_leases_redeliver_then_dead_letter(backend: Backend) {
    let lease = Duration::from_millis(1000);
    let h = Harness::open(backend, lease, 2).await;
    let id = h.enqueue("inq-x", "seo", 1).await;
    let first = h.claim("seo", "alice").await.unwrap();
    assert_eq!(first.deliveries, 1);
    tokio::time::sleep(lease + Duration::from_millis(500)).await;
    let token = first.lease.unwrap().token;
    assert!(matches!(
        h.queue.extend(id, token, "alice", h.lease_ms).await,
        Err(RouteError::LeaseExpired { .. })
    ));
    let second = h.claim("seo", "bob").await.unwrap();
    assert_eq!((second.id, second.deliveries), (id, 2));
    assert!(matches!(
        h.queue.resolve(id, token, "alice", "late".into()).await,
        Err(RouteError::NotLeased { .. } | RouteError::StaleLease { .. })
    ));
    tokio::time::sleep(lease + Duration::from_millis(500)).await;
    assert!(h.claim("seo", "carol").await.is_none());
    h.assert_only_dead_letter("seo", id).await;
    h.close().await;
}

/// A lease that ran out is expired for every operation alike (extend, resolve, release,
/// reroute), before anyone claims the ticket again; none of the refusals changes anything.
/// Meanwhile stats count the ticket as ready, not leased, and the next claim takes it.
async fn an_expired_lease_is_expired_for_every_operation(backend: Backend) {
    let lease = Duration::from_millis(1000);
    let h = Harness::open(backend, lease, 5).await;
    let id = h.enqueue("inq-late", "seo", 1).await;
    let claimed = h.claim("seo", "alice").await.unwrap();
    assert_eq!(h.ready_and_leased("seo").await, (0, 1));
    let token = claimed.lease.unwrap().token;
    tokio::time::sleep(lease + Duration::from_millis(500)).await;
    let expired = |result: Result<(), RouteError>, what: &str| {
        assert!(
            matches!(result, Err(RouteError::LeaseExpired { ticket_id, .. }) if ticket_id == id),
            "{what}: {result:?}"
        );
    };
    let extend = h.queue.extend(id, token, "alice", h.lease_ms).await;
    expired(extend.map(|_| ()), "extend");
    let resolve = h
        .queue
        .resolve(id, token, "alice", "done late".into())
        .await;
    expired(resolve.map(|_| ()), "resolve");
    let release = h.queue.release(id, token, "alice", "too late").await;
    expired(release.map(|_| ()), "release");
    let reroute = h.queue.reroute(id, token, "alice", "billing", "late").await;
    expired(reroute.map(|_| ()), "reroute");
    assert_eq!(h.queue.audit(id).await.unwrap(), None);
    assert!(h.queue.corrections().await.unwrap().is_empty());
    assert_eq!(h.ready_and_leased("seo").await, (1, 0));
    let again = h.claim("seo", "bob").await.unwrap();
    assert_eq!((again.id, again.deliveries), (id, 2));
    assert_eq!(h.ready_and_leased("seo").await, (0, 1));
    h.close().await;
}

/// Extend grants the length asked for, from now, whatever the claim's was: a longer one keeps
/// the ticket with its holder past the claim's lease, a shorter one hands it on sooner, and
/// one too long to represent runs to the last representable instant.
async fn extend_grants_the_lease_asked_for(backend: Backend) {
    let short = Duration::from_millis(1000);
    let longer_asked = 4_000;
    let (short_claims, long_claims) = (
        Harness::open(backend, short, 5).await,
        Harness::open(backend, LONG_LEASE, 5).await,
    );
    let kept = short_claims.enqueue("inq-longer", "seo", 1).await;
    let handed_on = long_claims.enqueue("inq-shorter", "seo", 1).await;
    let kept_token = short_claims
        .claim("seo", "alice")
        .await
        .unwrap()
        .lease
        .unwrap()
        .token;
    let handed_on_token = long_claims
        .claim("seo", "alice")
        .await
        .unwrap()
        .lease
        .unwrap()
        .token;

    let before = now_ms();
    let longer = short_claims
        .queue
        .extend(kept, kept_token, "alice", longer_asked)
        .await
        .unwrap();
    let expires_ms = longer.lease.unwrap().expires_ms;
    assert!(
        (before + longer_asked..=now_ms() + longer_asked).contains(&expires_ms),
        "asked {longer_asked} ms from {before}, got {expires_ms}"
    );
    long_claims
        .queue
        .extend(
            handed_on,
            handed_on_token,
            "alice",
            short.as_millis() as i64,
        )
        .await
        .unwrap();
    tokio::time::sleep(short + Duration::from_millis(500)).await;

    // Past the claim's lease, within the longer one asked for.
    assert!(short_claims.claim("seo", "bob").await.is_none());
    assert_eq!(short_claims.ready_and_leased("seo").await, (0, 1));
    // Past the shorter one asked for, within the claim's lease.
    let again = long_claims.claim("seo", "bob").await.unwrap();
    assert_eq!((again.id, again.deliveries), (handed_on, 2));

    let forever = short_claims
        .queue
        .extend(kept, kept_token, "alice", i64::MAX)
        .await
        .unwrap();
    assert_eq!(forever.lease.unwrap().expires_ms, i64::MAX);
    assert!(short_claims.claim("seo", "bob").await.is_none());
    let audit = short_claims
        .queue
        .resolve(kept, kept_token, "alice", "in time".into())
        .await;
    assert_eq!(audit.unwrap().holder, "alice");
    short_claims.close().await;
    long_claims.close().await;
}

/// A claim grants the lease asked for, whatever the queue's default: a shorter one hands the
/// ticket on sooner, a longer one keeps it with its holder past the default.
async fn claim_grants_the_lease_asked_for(backend: Backend) {
    let short = Duration::from_millis(1000);
    let (long_default, short_default) = (
        Harness::open(backend, LONG_LEASE, 5).await,
        Harness::open(backend, short, 5).await,
    );
    let handed_on = long_default.enqueue("inq-short-claim", "seo", 1).await;
    let kept = short_default.enqueue("inq-long-claim", "seo", 1).await;

    let before = now_ms();
    let claimed = long_default
        .queue
        .claim("seo", "alice", short.as_millis() as i64)
        .await
        .unwrap()
        .unwrap();
    let expires_ms = claimed.lease.unwrap().expires_ms;
    assert!(
        (before + 1000..=now_ms() + 1000).contains(&expires_ms),
        "asked 1000 ms from {before}, got {expires_ms}"
    );
    let held = short_default
        .queue
        .claim("seo", "alice", 4_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.id, kept);
    tokio::time::sleep(short + Duration::from_millis(500)).await;

    // Past the shorter lease asked for, within the default.
    let again = long_default.claim("seo", "bob").await.unwrap();
    assert_eq!((again.id, again.deliveries), (handed_on, 2));
    // Past the default, within the longer lease asked for.
    assert!(short_default.claim("seo", "bob").await.is_none());
    assert_eq!(short_default.ready_and_leased("seo").await, (0, 1));
    let token = held.lease.unwrap().token;
    let audit = short_default
        .queue
        .resolve(kept, token, "alice", "in time".into());
    assert_eq!(audit.await.unwrap().holder, "alice");
    long_default.close().await;
    short_default.close().await;
}

/// A release counts as a delivery: released with its last allowed one, the ticket goes to the
/// dead letters instead of coming back.
async fn releases_count_toward_dead_letters(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 2).await;
    let id = h.enqueue("inq-rel", "seo", 1).await;
    for (n, holder) in ["alice", "bob"].into_iter().enumerate() {
        let claimed = h.claim("seo", holder).await.expect("ready again");
        assert_eq!((claimed.id, claimed.deliveries), (id, n as u32 + 1));
        let token = claimed.lease.unwrap().token;
        let released = h.queue.release(id, token, holder, "not mine").await;
        assert!(released.unwrap().lease.is_none());
    }
    assert!(h.claim("seo", "carol").await.is_none());
    h.assert_only_dead_letter("seo", id).await;
    h.close().await;
}

/// Claimers racing on one queue share it out: every ticket goes to exactly one of them, every
/// claim returns (one that waited for a redelivery would see a ticket twice), and the next
/// ticket is claimable at once.
async fn racing_claims_take_each_ticket_once(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let mut queued = Vec::new();
    for i in 0..40 {
        queued.push(h.enqueue(&format!("race-{i}"), "billing", 1).await);
    }
    queued.sort_unstable();
    let claimers: Vec<_> = (0..8)
        .map(|c| {
            let queue = Arc::clone(&h.queue);
            let lease_ms = h.lease_ms;
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(ticket) = queue
                    .claim("billing", &format!("specialist-{c}"), lease_ms)
                    .await
                    .unwrap()
                {
                    got.push(ticket.id);
                }
                got
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        let got = tokio::time::timeout(LONG_LEASE / 2, claimer)
            .await
            .expect("a claim is still waiting, half a lease after the queue ran dry")
            .unwrap();
        claimed.extend(got);
    }
    claimed.sort_unstable();
    assert_eq!(claimed, queued);
    // No pull request a loser gave up on takes the next ticket away from the next claim.
    let late = h.enqueue("race-late", "billing", 1).await;
    assert_eq!(
        h.claim("billing", "specialist-0").await.map(|t| t.id),
        Some(late)
    );
    h.close().await;
}

/// A ticket queued in a thread is the thread's open ticket (for its client only) while it is
/// live, ready or leased: a follow-up is attached to it with its decision, once, and shows on
/// the ticket in order; a reroute moves it, a resolution closes it, and from then on nothing is
/// attached. Another client, a ticket queued without a thread or no ticket at all take nothing.
async fn follow_ups_join_the_threads_open_ticket(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let id = h.enqueue_in_thread("root-1", "seo", Some("t-1")).await;
    let open = ThreadTicket {
        ticket_id: id,
        queue: "seo".into(),
        priority: 1,
        sla_due_ms: h.queue.ticket(id).await.unwrap().unwrap().sla_due_ms,
        resolved_ms: None,
    };
    assert_eq!(
        h.queue.thread_ticket("acme", "t-1").await.unwrap(),
        Some(open.clone())
    );
    for (client, thread) in [("globex", "t-1"), ("acme", "t-2"), ("acme", "root-1")] {
        assert_eq!(h.queue.thread_ticket(client, thread).await.unwrap(), None);
    }

    assert_eq!(h.attach("f-1", "acme", id).await, Attached::New);
    let attached = StoredDecision {
        decision: note("f-1", 1),
        ticket_id: Some(id),
    };
    assert_eq!(
        h.queue.decision("f-1").await.unwrap(),
        Some(attached.clone())
    );
    assert_eq!(
        h.attach("f-1", "acme", id).await,
        Attached::Existing(attached)
    );
    assert_eq!(
        h.attach("f-foreign", "globex", id).await,
        Attached::NotAttached
    );
    assert_eq!(h.queue.decision("f-foreign").await.unwrap(), None);
    assert_eq!(h.attach("f-2", "acme", id).await, Attached::New);
    assert_eq!(h.follow_ups_of(id).await, ["f-1", "f-2"]);

    let claimed = h.claim("seo", "alice").await.unwrap();
    let follow_ups: Vec<_> = claimed
        .follow_ups
        .iter()
        .map(|f| f.inquiry_id.as_str())
        .collect();
    assert_eq!((claimed.id, follow_ups), (id, vec!["f-1", "f-2"]));
    assert!(claimed.follow_ups.iter().all(|f| f.attached_ms > 0));
    // Leased, the ticket still takes follow-ups; rerouted, its thread knows its new queue.
    assert_eq!(h.attach("f-3", "acme", id).await, Attached::New);
    assert_eq!(h.follow_ups_of(id).await, ["f-1", "f-2", "f-3"]);
    let token = claimed.lease.unwrap().token;
    h.queue
        .reroute(id, token, "alice", "billing", "about an invoice")
        .await
        .unwrap();
    let moved = h.queue.thread_ticket("acme", "t-1").await.unwrap().unwrap();
    assert_eq!((moved.ticket_id, moved.queue.as_str()), (id, "billing"));
    let again = h.claim("billing", "bob").await.unwrap();
    assert_eq!(again.follow_ups.len(), 3);

    let first = h
        .queue
        .resolve(id, again.lease.unwrap().token, "bob", "answered".into())
        .await
        .unwrap();
    // Resolved, the ticket is kept as its thread's last one, and a follow-up reopens it: ready
    // on its queue under its id, with all its follow-ups, due when the follow-up says.
    let resolved = h.queue.thread_ticket("acme", "t-1").await.unwrap().unwrap();
    assert_eq!(
        (resolved.ticket_id, resolved.queue.as_str()),
        (id, "billing")
    );
    assert_eq!(resolved.resolved_ms, Some(first.resolved_ms));
    assert_eq!(h.queue.ticket(id).await.unwrap(), None);
    assert_eq!(h.attach("f-4", "acme", id).await, Attached::New);
    let reopened = h.queue.thread_ticket("acme", "t-1").await.unwrap().unwrap();
    assert_eq!((reopened.ticket_id, reopened.resolved_ms), (id, None));
    let third = h.claim("billing", "carol").await.unwrap();
    assert_eq!((third.id, third.deliveries), (id, 1));
    assert!(third.sla_due_ms > first.resolved_ms + 3_600_000);
    let payloads: Vec<_> = third
        .follow_ups
        .iter()
        .map(|f| f.payload.as_str())
        .collect();
    assert_eq!(payloads, ["f-1", "f-2", "f-3", "f-4"]);
    h.queue
        .resolve(
            id,
            third.lease.unwrap().token,
            "carol",
            "answered again".into(),
        )
        .await
        .unwrap();
    let audit = h.queue.audit(id).await.unwrap().unwrap();
    assert_eq!(
        (audit.holder.as_str(), audit.outcome.as_str()),
        ("carol", "answered again")
    );
    // The thread's next ticket is its open ticket in turn.
    let next = h.enqueue_in_thread("f-5", "seo", Some("t-1")).await;
    let open_again = h.queue.thread_ticket("acme", "t-1").await.unwrap();
    assert_eq!(
        open_again.map(|t| (t.ticket_id, t.resolved_ms)),
        Some((next, None))
    );
    assert!(h.follow_ups_of(next).await.is_empty());

    let unthreaded = h.enqueue_in_thread("lone", "seo", None).await;
    assert_eq!(
        h.attach("f-lone", "acme", unthreaded).await,
        Attached::NotAttached
    );
    assert_eq!(
        h.attach("f-none", "acme", 987_654).await,
        Attached::NotAttached
    );
    h.close().await;
}

/// A ticket takes up to `MAX_FOLLOW_UPS` follow-ups; the next is not attached (nor recorded).
async fn a_ticket_takes_a_bounded_number_of_follow_ups(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let id = h.enqueue_in_thread("busy", "seo", Some("t-busy")).await;
    for n in 0..MAX_FOLLOW_UPS {
        assert_eq!(h.attach(&format!("f-{n}"), "acme", id).await, Attached::New);
    }
    assert_eq!(h.attach("f-over", "acme", id).await, Attached::NotAttached);
    assert_eq!(h.queue.decision("f-over").await.unwrap(), None);
    let shown = h.follow_ups_of(id).await;
    assert_eq!(shown.len(), MAX_FOLLOW_UPS);
    assert_eq!((shown[0].as_str(), shown[49].as_str()), ("f-0", "f-49"));
    h.close().await;
}

/// A dead-lettered ticket keeps its follow-ups in the dead letter and closes its thread.
async fn dead_letters_keep_their_follow_ups(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 1).await;
    let id = h.enqueue_in_thread("doomed", "seo", Some("t-doomed")).await;
    assert_eq!(h.attach("f-doomed", "acme", id).await, Attached::New);
    let claimed = h.claim("seo", "alice").await.unwrap();
    h.queue
        .release(id, claimed.lease.unwrap().token, "alice", "cannot help")
        .await
        .unwrap();
    let dead = h.queue.dead_letters("seo").await.unwrap();
    let follow_ups: Vec<_> = dead[0]
        .ticket
        .follow_ups
        .iter()
        .map(|f| f.payload.as_str())
        .collect();
    assert_eq!((dead[0].ticket.id, follow_ups), (id, vec!["f-doomed"]));
    assert_eq!(
        h.queue.thread_ticket("acme", "t-doomed").await.unwrap(),
        None
    );
    assert_eq!(h.attach("f-late", "acme", id).await, Attached::NotAttached);
    h.close().await;
}

/// A follow-up racing the resolution of its ticket is either attached (its decision stored
/// with the ticket) or not attached (nothing stored, for the caller to decide afresh): never
/// an error, never half of each; once the resolution is done, a follow-up reopens the ticket.
async fn a_follow_up_racing_the_resolution_is_attached_or_not_at_all(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    for round in 0..12 {
        let (inquiry, thread) = (format!("race-{round}"), format!("t-race-{round}"));
        let id = h.enqueue_in_thread(&inquiry, "seo", Some(&thread)).await;
        let token = h.claim("seo", "alice").await.unwrap().lease.unwrap().token;
        let follow_up = format!("f-race-{round}");
        let queue = Arc::clone(&h.queue);
        let resolving =
            tokio::spawn(async move { queue.resolve(id, token, "alice", "done".into()).await });
        let attached = h.attach(&follow_up, "acme", id).await;
        resolving.await.unwrap().unwrap();
        let stored = h.queue.decision(&follow_up).await.unwrap();
        match attached {
            Attached::New => assert_eq!(stored.unwrap().ticket_id, Some(id)),
            Attached::NotAttached => assert_eq!(stored, None),
            other => panic!("round {round}: {other:?}"),
        }
        // Once resolved, a follow-up reopens the ticket (or joins it, reopened by the racer).
        let kept = h.queue.thread_ticket("acme", &thread).await.unwrap();
        assert_eq!(kept.map(|t| t.ticket_id), Some(id));
        let late = format!("{follow_up}-late");
        assert_eq!(h.attach(&late, "acme", id).await, Attached::New);
        // Claimed again, it shows the late follow-up last; resolved, it leaves the queue empty
        // for the next round.
        let again = h.claim("seo", "alice").await.expect("the reopened ticket");
        assert_eq!(again.id, id);
        let last = again.follow_ups.last().map(|f| f.payload.as_str());
        assert_eq!(last, Some(late.as_str()));
        let token = again.lease.unwrap().token;
        h.queue
            .resolve(id, token, "alice", "done again".into())
            .await
            .unwrap();
    }
    h.close().await;
}

/// A resolution's reply is kept with its audit record, in one step: listed for its ticket and,
/// by time, for the channels; a resolution without one sends nothing, and a repeated resolve
/// sends nothing twice.
async fn a_resolutions_reply_is_kept_for_delivery(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 5).await;
    let since = now_ms();
    let replied = h.enqueue("inq-replied", "seo", 1).await;
    let silent = h.enqueue("inq-silent", "seo", 1).await;
    for _ in 0..2 {
        let ticket = h.claim("seo", "alice").await.unwrap();
        let token = ticket.lease.unwrap().token;
        let resolution = if ticket.id == replied {
            Resolution {
                outcome: "replied".into(),
                note: Some("checked the contract first".into()),
                reply: Some(r#"{"text":"Here is the plan."}"#.into()),
            }
        } else {
            "duplicate".into()
        };
        let audit = h
            .queue
            .resolve(ticket.id, token, "alice", resolution.clone())
            .await
            .unwrap();
        assert_eq!(audit.note, resolution.note);
        assert!(
            h.queue
                .resolve(ticket.id, token, "alice", resolution)
                .await
                .is_err()
        );
    }
    let replies = h.queue.replies(replied).await.unwrap();
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0];
    assert_eq!(
        (
            reply.ticket_id,
            reply.inquiry_id.as_str(),
            reply.client_id.as_str(),
            reply.holder.as_str(),
            reply.payload.as_str()
        ),
        (
            replied,
            "inq-replied",
            "acme",
            "alice",
            r#"{"text":"Here is the plan."}"#
        )
    );
    assert!(reply.sent_ms >= since);
    assert_eq!(h.queue.replies(silent).await.unwrap(), vec![]);
    let audit = h.queue.audit(replied).await.unwrap().unwrap();
    assert_eq!(audit.note.as_deref(), Some("checked the contract first"));
    assert_eq!(h.queue.replies_since(since, 10).await.unwrap(), replies);
    assert_eq!(
        h.queue.replies_since(reply.sent_ms + 1, 10).await.unwrap(),
        vec![]
    );
    assert_eq!(h.queue.replies_since(since, 0).await.unwrap(), vec![]);
    h.close().await;
}

/// A dead letter says why and when it was dead-lettered. Redriven to its own queue it is
/// claimable again under the same id with its payload and follow-ups, deliveries from zero,
/// its thread's open ticket again (a new follow-up attaches to it); the redrive is kept with
/// who, what and why, and a second redrive of it finds no dead letter.
async fn dead_letters_say_why_and_when_and_redrive_to_their_own_queue(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 1).await;
    let id = h
        .enqueue_in_thread("dispute", "billing", Some("t-dispute"))
        .await;
    assert_eq!(h.attach("f-dispute", "acme", id).await, Attached::New);
    let before = now_ms();
    h.claim_and_release("billing", "alice", "cannot help").await;
    let dead = h.queue.dead_letters("billing").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].reason,
        "released by alice after 1 deliveries (cannot help)"
    );
    assert!((before..=now_ms()).contains(&dead[0].dead_ms), "{dead:?}");
    assert_eq!(dead[0].ticket.deliveries, 1);
    assert_eq!(
        h.queue.dead_letter(id).await.unwrap(),
        Some(dead[0].clone())
    );

    assert!(matches!(
        h.queue.redrive(id, "billing", "ops", " ").await,
        Err(RouteError::InvalidArgument(_))
    ));
    let action = h
        .queue
        .redrive(id, "billing", "ops", "a gold client's dispute")
        .await
        .unwrap();
    assert_eq!(
        (
            action.ticket_id,
            action.queue.as_str(),
            action.actor.as_str()
        ),
        (id, "billing", "ops")
    );
    assert_eq!(
        action.outcome,
        DeadLetterOutcome::Redriven {
            to_queue: "billing".into()
        }
    );
    assert_eq!(action.reason, "a gold client's dispute");
    assert_eq!(action.dead_reason, dead[0].reason);
    assert!(h.queue.dead_letters("billing").await.unwrap().is_empty());
    assert_eq!(h.queue.dead_letter(id).await.unwrap(), None);
    assert_eq!(h.ready_and_leased("billing").await, (1, 0));
    assert_eq!(h.follow_ups_of(id).await, vec!["f-dispute"]);
    let open = h.queue.thread_ticket("acme", "t-dispute").await.unwrap();
    assert_eq!(
        open.map(|t| (t.ticket_id, t.queue)),
        Some((id, "billing".into()))
    );
    assert_eq!(h.attach("f-after", "acme", id).await, Attached::New);

    let again = h.claim("billing", "bob").await.expect("redriven ticket");
    assert_eq!((again.id, again.deliveries), (id, 1));
    assert_eq!(again.payload, "{\"inquiry\":\"dispute\"}");
    let follow_ups: Vec<_> = again
        .follow_ups
        .iter()
        .map(|f| f.payload.as_str())
        .collect();
    assert_eq!(follow_ups, vec!["f-dispute", "f-after"]);
    assert_eq!(
        h.queue
            .decision("dispute")
            .await
            .unwrap()
            .unwrap()
            .ticket_id,
        Some(id)
    );
    assert_eq!(
        h.queue.redrive(id, "billing", "ops", "twice").await,
        Err(RouteError::NotFound(id))
    );
    let actions = h.queue.dead_letter_actions().await.unwrap();
    assert_eq!(actions, vec![action]);
    h.close().await;
}

/// A dead letter redriven to another queue is claimed there, under its id, from its first
/// delivery: with one delivery allowed, releasing it dead-letters it again, on its new queue.
async fn a_dead_letter_redriven_to_another_queue_starts_over_there(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 1).await;
    let id = h.enqueue("wrong-desk", "seo", 1).await;
    h.claim_and_release("seo", "alice", "not seo").await;
    h.queue
        .redrive(id, "billing", "ops", "it is about an invoice")
        .await
        .unwrap();
    assert!(h.claim("seo", "alice").await.is_none());
    assert_eq!(
        h.queue
            .ticket(id)
            .await
            .unwrap()
            .map(|t| (t.queue, t.deliveries)),
        Some(("billing".into(), 0))
    );
    let claimed = h.claim("billing", "bob").await.expect("on billing now");
    assert_eq!((claimed.id, claimed.deliveries), (id, 1));
    h.queue
        .release(id, claimed.lease.unwrap().token, "bob", "still stuck")
        .await
        .unwrap();
    h.assert_only_dead_letter("billing", id).await;
    let seo = h.queue.stats(&["seo".into()]).await.unwrap();
    assert_eq!(
        (seo[0].ready, seo[0].leased, seo[0].dead_letters),
        (0, 0, 0)
    );
    let actions = h.queue.dead_letter_actions().await.unwrap();
    assert_eq!(
        actions.iter().map(|a| a.queue.as_str()).collect::<Vec<_>>(),
        vec!["seo"]
    );
    h.close().await;
}

/// A discarded dead letter is gone for good (not listed, not claimable, not redriven) and the
/// discard is kept with who and why; a discard needs a reason, and a ticket that is not a dead
/// letter (unknown, live, or discarded already) is NotFound for discard and redrive alike.
async fn a_discarded_dead_letter_is_gone_and_audited(backend: Backend) {
    let h = Harness::open(backend, LONG_LEASE, 1).await;
    let id = h.enqueue("spam", "seo", 1).await;
    let live = h.enqueue("live", "seo", 1).await;
    assert_eq!(h.claim_and_release("seo", "alice", "spam").await, id);
    assert!(matches!(
        h.queue.discard(id, "ops", "").await,
        Err(RouteError::InvalidArgument(_))
    ));
    let action = h.queue.discard(id, "ops", "spam, no reply").await.unwrap();
    assert_eq!(action.outcome, DeadLetterOutcome::Discarded);
    assert_eq!(
        (
            action.ticket_id,
            action.actor.as_str(),
            action.reason.as_str()
        ),
        (id, "ops", "spam, no reply")
    );
    assert!(h.queue.dead_letters("seo").await.unwrap().is_empty());
    let stats = h.queue.stats(&["seo".into()]).await.unwrap();
    assert_eq!((stats[0].ready, stats[0].dead_letters), (1, 0));
    assert_eq!(h.claim("seo", "bob").await.map(|t| t.id), Some(live));
    for ticket_id in [id, live, 987_654_321] {
        assert_eq!(
            h.queue.discard(ticket_id, "ops", "again").await,
            Err(RouteError::NotFound(ticket_id))
        );
        assert_eq!(
            h.queue.redrive(ticket_id, "seo", "ops", "again").await,
            Err(RouteError::NotFound(ticket_id))
        );
    }
    assert_eq!(h.queue.dead_letter_actions().await.unwrap(), vec![action]);
    h.close().await;
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }
        #[cfg(feature = "engines")]
        mod jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::JetStream).await;
                }
            )*
        }
    };
}

contract!(
    decisions_are_idempotent,
    decisions_since_a_time_come_back_latest_first,
    claims_follow_priority_then_arrival,
    leases_are_checked_and_resolve_is_audited,
    release_and_reroute,
    recent_resolutions_say_how_long_their_tickets_waited,
    the_backlog_ahead_is_the_ready_tickets_as_urgent_or_more,
    expired_leases_redeliver_then_dead_letter,
    an_expired_lease_is_expired_for_every_operation,
    extend_grants_the_lease_asked_for,
    claim_grants_the_lease_asked_for,
    releases_count_toward_dead_letters,
    racing_claims_take_each_ticket_once,
    follow_ups_join_the_threads_open_ticket,
    a_ticket_takes_a_bounded_number_of_follow_ups,
    dead_letters_keep_their_follow_ups,
    a_follow_up_racing_the_resolution_is_attached_or_not_at_all,
    a_resolutions_reply_is_kept_for_delivery,
    dead_letters_say_why_and_when_and_redrive_to_their_own_queue,
    a_dead_letter_redriven_to_another_queue_starts_over_there,
    a_discarded_dead_letter_is_gone_and_audited,
);
