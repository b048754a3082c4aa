//! `EmbeddedQueue`: the durable specialist queue of one machine. It keeps tickets, leases,
//! decisions (for idempotency), dead letters, audit records and queue corrections in one redb
//! file, `route.redb`, in the queue's directory. The handle is async and cloneable: it checks
//! arguments, sends state changes to the group-committing writer thread and runs reads on
//! blocking threads over redb read transactions.
//!
//! # Writes: group commit
//! One writer thread (`writer.rs`) owns all writes. Callers send requests over a bounded
//! channel with a oneshot for the answer. The writer blocks for one request, drains up to
//! `max_batch` more that are already waiting, applies them in arrival order in one write
//! transaction (`txn.rs`), commits once and only then answers every caller. The commit uses
//! `Durability::Immediate` (fsync before commit returns) if any request of the batch is
//! durable, otherwise `Durability::None`; redb makes a None commit durable with the next
//! Immediate commit and on clean close, so `flush()` (an empty durable request) persists
//! everything queued before it. A refused request (not found, wrong lease, bad argument)
//! changes nothing and fails alone; a storage failure aborts the batch and every request in
//! it gets the error; a failed commit (a full disk) fails its batch with `Unavailable`, and
//! the writer reopens the file with a backoff (`live.rs`) and refuses requests with
//! `Unavailable` until that works, so the queue heals when space returns. Reads (`snapshot.rs`) use read transactions on blocking threads, but for the
//! decision lookup every submission makes, which reads inline. A background record (an answer:
//! a decision that queues no ticket) is not waited for: a batch of only those lingers up to
//! 10 ms for company before it commits, so one commit carries many; the writer sleeps
//! meanwhile, and a request someone waits on wakes it and ends the linger (so does a batch's
//! worth of records). Until its batch commits, a resubmission of that inquiry is decided
//! afresh (the first record is kept).
//!
//! # Format
//! One on-disk format, named by a schema version in the `meta` table and checked on open: a
//! new file is stamped with it, a file of another version (or none) is refused with both
//! versions named (`schema.rs`). Records are JSON behind a one-byte tag, LZ4-compressed when
//! that is smaller (`codec.rs`). Decisions are stored many to a row (`rows.rs`): the decisions
//! of one write batch, answers and tickets' alike, up to 64 a row, share a row under a
//! sequential id, and the decision index maps each inquiry id to its row; a small index entry
//! per decision costs the writer far less than one kilobyte-sized row each at a random key (a
//! page, and often its parent, rewritten per decision at every commit), and the shared row
//! compresses some tenfold.
//!
//! # Tables
//! | table            | key                                 | value                              |
//! |------------------|-------------------------------------|------------------------------------|
//! | `meta`           | `schema_version`                    | `u64`                              |
//! | `tickets`        | ticket id `u64`                     | JSON `Ticket` (live)               |
//! | `ready`          | `(queue, priority, sla_due_ms, id)` | `()`                               |
//! | `leases`         | `(expires_ms, id)`                  | `()`                               |
//! | `decision_rows`  | decision row id `u64`               | inquiry ids, ticket ids, decision JSONs |
//! | `decision_index` | inquiry id `&str`                   | decision row id `u64`              |
//! | `dead_letters`   | `(queue, id)`                       | JSON `{ticket, reason, dead_ms}`   |
//! | `audit`          | ticket id `u64`                     | JSON `AuditRecord`                 |
//! | `audit_times`    | `(resolved_ms, ticket id)`          | `()`                               |
//! | `corrections`    | correction id `u64`                 | JSON `Correction`                  |
//! | `threads`        | `(client id, thread id, ticket id)` | `()`                               |
//! | `follow_ups`     | `(ticket id, position)`             | JSON `FollowUp`                    |
//! | `replies`        | reply sequence `u64`                | JSON `SentReply`                   |
//! | `reply_tickets`  | `(ticket id, reply sequence)`       | `()`                               |
//! | `reply_times`    | `(sent_ms, reply sequence)`         | `()`                               |
//! | `resolved`       | ticket id `u64`                     | JSON `{ticket, resolved_ms}`       |
//! | `resolved_threads` | `(client id, thread id, ticket id)` | `()`                             |
//! | `dead_letter_actions` | action id `u64`                | JSON `DeadLetterAction`            |
//! | `counters`       | `next_ticket_id` / `next_correction_id` / `next_decision_row` / `next_reply_seq` / `next_dead_letter_action_id` | `u64` |
//!
//! A ticket id lives in exactly one of `tickets` (with an entry in `ready` or `leases`),
//! `dead_letters` or `audit` (with an entry in `audit_times`), until retention removes its
//! audit record (`retention.rs`). A live ticket queued with a thread has an entry in `threads`,
//! its thread's open ticket, and its follow-ups in `follow_ups`; resolving or dead-lettering it
//! removes both (a dead letter keeps the follow-ups in its record). A resolved ticket queued
//! with a thread is kept, with its follow-ups, in `resolved` and `resolved_threads` until
//! retention removes its audit record: a follow-up attached to it takes it back to `tickets`
//! (reopened). The reply a resolution sends is stored with its audit record, and removed with
//! it by retention. A claim first sweeps
//! `leases` up to now: each expired ticket goes back to `ready`, or to `dead_letters` once its
//! deliveries reach `max_deliveries`. A redrive moves a dead letter back to `tickets` and
//! `ready` under its id (with its thread entry and follow-ups again), a discard removes it;
//! both add a `dead_letter_actions` record. A lease's token is random (drawn by the claim, not
//! counted), stored in the ticket's JSON as its 32 hex digits.

mod codec;
mod live;
mod maintenance;
mod retention;
mod rows;
mod schema;
mod settings;
mod snapshot;
mod store_file;
#[cfg(test)]
mod tests;
mod txn;
mod writer;

pub use maintenance::{Compaction, TableUsage, compact_store, store_usage};
pub use retention::{ARCHIVE_DIR, Retention, SweepReport};
pub use settings::QueueSettings;
pub use store_file::FileCheck;

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use crate::readiness::NotReady;
use crate::route::clock::Clock;
use crate::route::contract::TicketQueue;
use crate::route::dead_letter::{DeadLetter, DeadLetterAction, require_actor_and_reason};
use crate::route::decision::{
    DecisionRecord, Recorded, StoredDecision, decode_decision, encode_decision,
};
use crate::route::error::RouteError;
use crate::route::history::{AuditRecord, Correction, Resolution, SentReply};
use crate::route::lease_token::LeaseToken;
use crate::route::stats::QueueStats;
use crate::route::thread::{Attached, NewFollowUp, ThreadTicket};
use crate::route::ticket::{NewTicket, Ticket, require_lease_ms, require_name};
use async_trait::async_trait;
use live::LiveStore;
use schema::open_tables;
use snapshot::Snapshot;
use writer::Writer;

/// Checks the queue's file in `dir` as opening it does (its identity record, redb's integrity
/// check, the schema version) without serving it; nothing is created. The server must be
/// stopped: it holds the file's lock while it runs.
pub fn check_store(dir: &Path) -> Result<FileCheck, RouteError> {
    let (_, file) = store_file::open_existing(
        dir,
        QueueSettings::default().cache_bytes,
        crate::route::clock::SystemClock.now_ms(),
    )?;
    Ok(file)
}

/// The embedded ticket queue keeping decisions of type `D`; clones share one database and one
/// writer thread.
pub struct EmbeddedQueue<D> {
    inner: Arc<Inner>,
    decisions: PhantomData<fn() -> D>,
}

impl<D> Clone for EmbeddedQueue<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            decisions: PhantomData,
        }
    }
}

struct Inner {
    // Dropped first: joins the writer thread before the read handle closes the database.
    writer: Writer,
    store: Arc<LiveStore>,
    clock: Arc<dyn Clock>,
}

impl<D: DecisionRecord> EmbeddedQueue<D> {
    /// Opens (or creates) the queue stored in `dir` and starts its writer thread. A database
    /// of another schema version is refused (`schema.rs`).
    pub fn open(
        dir: &Path,
        settings: QueueSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RouteError> {
        settings.validate()?;
        std::fs::create_dir_all(dir).map_err(|err| {
            RouteError::storage(
                format_args!("creating queue directory {}", dir.display()),
                err,
            )
        })?;
        let (db, file) = store_file::open(
            dir,
            settings.cache_bytes,
            clock.now_ms(),
            store_file::Create::IfNew,
        )?;
        store_file::guarded(&file.path, || open_tables(&db, &file.path))?;
        let store = Arc::new(LiveStore::new(dir, settings.cache_bytes, db));
        let writer = Writer::start(Arc::clone(&store), settings, clock.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer,
                store,
                clock,
            }),
            decisions: PhantomData,
        })
    }

    /// Write transactions the writer has committed since open (one per batch).
    pub fn commits(&self) -> u64 {
        self.inner.writer.commits()
    }

    /// Requests the writer thread has not taken yet (it takes them in batches).
    #[cfg(test)]
    pub(crate) fn writer_backlog(&self) -> usize {
        self.inner.writer.backlog()
    }

    /// Runs `query` over a fresh snapshot on a blocking thread, with the clock's now; a panic
    /// in the store fails the call and marks the store faulty.
    async fn read<T, F>(&self, query: F) -> Result<T, RouteError>
    where
        T: Send + 'static,
        F: FnOnce(&Snapshot, i64) -> Result<T, RouteError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        let now_ms = self.inner.clock.now_ms();
        tokio::task::spawn_blocking(move || {
            let db = store.db()?;
            store.guarded(|| query(&Snapshot::begin(&db)?, now_ms))
        })
        .await
        .map_err(|err| RouteError::Unavailable(format!("queue read task failed: {err}")))?
    }
}

/// Writes go to the group-committing writer; a ticket's decision waits for its fsync'd commit,
/// an answer does not (see the module doc). Reads run over redb read transactions.
#[async_trait]
impl<D: DecisionRecord> TicketQueue<D> for EmbeddedQueue<D> {
    async fn record_decision(
        &self,
        inquiry_id: &str,
        decision: &D,
        ticket: NewTicket,
    ) -> Result<Recorded<D>, RouteError> {
        require_name("inquiry id", inquiry_id)?;
        ticket.validate(inquiry_id)?;
        let stored = encode_decision(inquiry_id, decision)?.into_bytes();
        let id = inquiry_id.to_owned();
        let recorded = self
            .inner
            .writer
            .submit(true, move |txn| txn.record_decision(&id, &stored, ticket))
            .await?;
        Ok(match recorded {
            Recorded::New { ticket_id } => Recorded::New { ticket_id },
            Recorded::Existing(existing) => {
                Recorded::Existing(decode_decision(inquiry_id, existing)?)
            }
        })
    }

    /// Not waited for: a crash before the next commit loses only this record, and a
    /// resubmission decides the same again.
    async fn record_answer(&self, inquiry_id: &str, decision: &D) -> Result<(), RouteError> {
        require_name("inquiry id", inquiry_id)?;
        let stored = encode_decision(inquiry_id, decision)?.into_bytes();
        let id = inquiry_id.to_owned();
        self.inner
            .writer
            .enqueue(move |txn| txn.record_answer(&id, &stored))
            .await
    }

    /// A point read on the hot path of every submission: it runs inline, a blocking-pool hop
    /// costs more than it.
    async fn decision(&self, inquiry_id: &str) -> Result<Option<StoredDecision<D>>, RouteError> {
        let store = &self.inner.store;
        let db = store.db()?;
        store
            .guarded(|| Snapshot::begin(&db)?.decision(inquiry_id))?
            .map(|stored| decode_decision(inquiry_id, stored))
            .transpose()
    }

    async fn decisions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredDecision<D>>, RouteError> {
        let stored = self
            .read(move |snap, _| snap.decisions_since(since_ms, limit))
            .await?;
        stored
            .into_iter()
            .map(|(inquiry_id, raw)| decode_decision(&inquiry_id, raw))
            .collect()
    }

    async fn thread_ticket(
        &self,
        client_id: &str,
        thread_id: &str,
    ) -> Result<Option<ThreadTicket>, RouteError> {
        let (client_id, thread_id) = (client_id.to_owned(), thread_id.to_owned());
        self.read(move |snap, _| snap.thread_ticket(&client_id, &thread_id))
            .await
    }

    async fn attach(
        &self,
        decision: &D,
        follow_up: NewFollowUp,
    ) -> Result<Attached<D>, RouteError> {
        let inquiry_id = follow_up.inquiry_id.clone();
        require_name("inquiry id", &inquiry_id)?;
        let stored = encode_decision(&inquiry_id, decision)?.into_bytes();
        let attached = self
            .inner
            .writer
            .submit(true, move |txn| txn.attach(&stored, follow_up))
            .await?;
        Ok(match attached {
            Attached::New => Attached::New,
            Attached::NotAttached => Attached::NotAttached,
            Attached::Existing(existing) => {
                Attached::Existing(decode_decision(&inquiry_id, existing)?)
            }
        })
    }

    async fn claim(
        &self,
        queue: &str,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError> {
        require_name("queue", queue)?;
        require_name("holder", holder)?;
        require_lease_ms(lease_ms)?;
        let (queue, holder) = (queue.to_owned(), holder.to_owned());
        // Drawn here, off the writer thread: the transaction stays a pure function of its
        // requests.
        let token = LeaseToken::random()?;
        self.inner
            .writer
            .submit(true, move |txn| txn.claim(&queue, holder, token, lease_ms))
            .await
    }

    async fn extend(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError> {
        require_lease_ms(lease_ms)?;
        let holder = holder.to_owned();
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.extend(ticket_id, lease_token, &holder, lease_ms)
            })
            .await
    }

    async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        resolution: Resolution,
    ) -> Result<AuditRecord, RouteError> {
        let holder = holder.to_owned();
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.resolve(ticket_id, lease_token, holder, resolution)
            })
            .await
    }

    async fn replies(&self, ticket_id: u64) -> Result<Vec<SentReply>, RouteError> {
        self.read(move |snap, _| snap.replies(ticket_id)).await
    }

    async fn replies_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<SentReply>, RouteError> {
        self.read(move |snap, _| snap.replies_since(since_ms, limit))
            .await
    }

    async fn release(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        let (holder, reason) = (holder.to_owned(), reason.to_owned());
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.release(ticket_id, lease_token, &holder, &reason)
            })
            .await
    }

    async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        to_queue: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        require_name("target queue", to_queue)?;
        let (holder, to_queue, reason) =
            (holder.to_owned(), to_queue.to_owned(), reason.to_owned());
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.reroute(ticket_id, lease_token, holder, to_queue, reason)
            })
            .await
    }

    async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError> {
        self.read(move |snap, _| snap.ticket(ticket_id)).await
    }

    async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError> {
        let queues = queues.to_vec();
        self.read(move |snap, now_ms| snap.stats(&queues, now_ms))
            .await
    }

    async fn ready_ahead(
        &self,
        queue: &str,
        priority: u8,
        ticket_id: u64,
    ) -> Result<u64, RouteError> {
        let queue = queue.to_owned();
        self.read(move |snap, now_ms| snap.ready_ahead(&queue, priority, ticket_id, now_ms))
            .await
    }

    async fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, RouteError> {
        let queue = queue.to_owned();
        self.read(move |snap, _| snap.dead_letters(&queue)).await
    }

    async fn dead_letter(&self, ticket_id: u64) -> Result<Option<DeadLetter>, RouteError> {
        self.read(move |snap, _| snap.dead_letter(ticket_id)).await
    }

    async fn redrive(
        &self,
        ticket_id: u64,
        to_queue: &str,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        require_name("target queue", to_queue)?;
        require_actor_and_reason(actor, reason)?;
        let (to_queue, actor, reason) = (to_queue.to_owned(), actor.to_owned(), reason.to_owned());
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.redrive(ticket_id, &to_queue, &actor, &reason)
            })
            .await
    }

    async fn discard(
        &self,
        ticket_id: u64,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        require_actor_and_reason(actor, reason)?;
        let (actor, reason) = (actor.to_owned(), reason.to_owned());
        self.inner
            .writer
            .submit(true, move |txn| txn.discard(ticket_id, &actor, &reason))
            .await
    }

    async fn dead_letter_actions(&self) -> Result<Vec<DeadLetterAction>, RouteError> {
        self.read(|snap, _| snap.dead_letter_actions()).await
    }

    fn dead_lettered_totals(&self) -> BTreeMap<String, u64> {
        self.inner.store.dead_lettered().totals()
    }

    async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError> {
        self.read(move |snap, _| snap.audit(ticket_id)).await
    }

    async fn resolved_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, RouteError> {
        self.read(move |snap, _| snap.audit_resolved_since(since_ms, limit))
            .await
    }

    async fn corrections(&self) -> Result<Vec<Correction>, RouteError> {
        self.read(|snap, _| snap.corrections()).await
    }

    /// An empty durable request: its commit makes every earlier one durable. It fails when
    /// answers acknowledged since the queue opened could not be stored (a failed write).
    async fn flush(&self) -> Result<(), RouteError> {
        self.inner.writer.submit(true, |_| Ok(())).await?;
        match self.inner.writer.lost_records() {
            0 => Ok(()),
            lost => Err(RouteError::Storage(format!(
                "{lost} answers acknowledged to clients could not be stored (a write of the \
                 queue database failed; see the log)"
            ))),
        }
    }

    /// Whether the store serves: its writer thread takes requests, and neither a failed
    /// commit (until the file is reopened) nor a panic in the store has marked it faulty.
    async fn healthy(&self) -> Result<(), NotReady> {
        let dir = self.inner.store.dir().display();
        if !self.inner.writer.alive() {
            return Err(NotReady::new(format!(
                "embedded queue in {dir}: its writer thread stopped"
            )));
        }
        match self.inner.store.fault() {
            Some(fault) => Err(NotReady::new(format!("embedded queue in {dir}: {fault}"))),
            None => Ok(()),
        }
    }
}
