//! `EmbeddedQueue`: the public, async, cloneable handle of the durable specialist queue.
//! It checks arguments, sends state changes to the group-committing writer thread and runs
//! reads on blocking threads over redb read transactions.

mod codec;
mod rows;
mod schema;
mod settings;
mod snapshot;
#[cfg(test)]
mod tests;
mod txn;
mod writer;

pub use settings::QueueSettings;

use std::path::Path;
use std::sync::Arc;

use redb::Database;

use crate::route::clock::Clock;
use crate::route::decision::RecordOutcome;
use crate::route::error::RouteError;
use crate::route::history::{AuditRecord, Correction};
use schema::create_tables;

use crate::route::stats::QueueStats;
use crate::route::ticket::{NewTicket, Ticket, require_lease_ms, require_name};
use snapshot::Snapshot;
use writer::Writer;

/// File name of the queue's database inside its directory.
const DB_FILE: &str = "route.redb";

/// The embedded ticket queue; clones share one database and one writer thread.
#[derive(Clone)]
pub struct EmbeddedQueue {
    inner: Arc<Inner>,
}

struct Inner {
    // Dropped first: joins the writer thread before the read handle closes the database.
    writer: Writer,
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
}

impl EmbeddedQueue {
    /// Opens (or creates) the queue stored in `dir` and starts its writer thread.
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
        let path = dir.join(DB_FILE);
        let db = Database::create(&path).map_err(|err| {
            RouteError::storage(
                format_args!("opening queue database {}", path.display()),
                err,
            )
        })?;
        create_tables(&db)?;
        let db = Arc::new(db);
        let writer = Writer::start(db.clone(), settings, clock.clone())?;
        Ok(Self {
            inner: Arc::new(Inner { writer, db, clock }),
        })
    }

    /// Stores the decision for `inquiry_id` (and queues `ticket`) once; a repeat returns the
    /// first decision. `durable` waits for the fsync'd commit; otherwise the record is
    /// committed in memory and made durable by the next durable commit.
    pub async fn record_decision(
        &self,
        inquiry_id: impl Into<String>,
        decision_json: impl Into<String>,
        ticket: Option<NewTicket>,
        durable: bool,
    ) -> Result<RecordOutcome, RouteError> {
        let inquiry_id = inquiry_id.into();
        let decision_json = decision_json.into();
        require_name("inquiry id", &inquiry_id)?;
        if let Some(new) = &ticket {
            new.validate(&inquiry_id)?;
        }
        self.inner
            .writer
            .submit(durable, move |txn| {
                txn.record_decision(&inquiry_id, &decision_json, ticket)
            })
            .await
    }

    /// Stores a decision that queues no ticket, without waiting for its commit: a crash before
    /// the next commit loses only this record, and a resubmission decides the same again. A
    /// decision already stored for `inquiry_id` is kept.
    pub async fn record_decision_in_background(
        &self,
        inquiry_id: impl Into<String>,
        decision_json: impl Into<String>,
    ) -> Result<(), RouteError> {
        let inquiry_id = inquiry_id.into();
        let decision_json = decision_json.into();
        require_name("inquiry id", &inquiry_id)?;
        self.inner
            .writer
            .enqueue(move |txn| {
                txn.record_decision(&inquiry_id, &decision_json, None)
                    .map(drop)
            })
            .await
    }

    /// The decision stored for `inquiry_id`, with the ticket it queued. A point read on the
    /// hot path of every submission: it runs inline, a blocking-pool hop costs more than it.
    pub async fn decision(
        &self,
        inquiry_id: &str,
    ) -> Result<Option<(String, Option<u64>)>, RouteError> {
        let stored = Snapshot::begin(&self.inner.db)?.decision(inquiry_id)?;
        Ok(stored.map(|s| (s.decision_json, s.ticket_id)))
    }

    /// Leases the next ticket of `queue` (priority, then SLA due, then id) to `holder` for
    /// `lease_ms`, after returning expired leases to ready or dead-lettering them.
    pub async fn claim(
        &self,
        queue: impl Into<String>,
        holder: impl Into<String>,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError> {
        let (queue, holder) = (queue.into(), holder.into());
        require_name("queue", &queue)?;
        require_name("holder", &holder)?;
        require_lease_ms(lease_ms)?;
        self.inner
            .writer
            .submit(true, move |txn| txn.claim(&queue, holder, lease_ms))
            .await
    }

    /// Makes the current lease `lease_token` of ticket `ticket_id` run `lease_ms` from now.
    pub async fn extend(
        &self,
        ticket_id: u64,
        lease_token: u64,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError> {
        require_lease_ms(lease_ms)?;
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.extend(ticket_id, lease_token, lease_ms)
            })
            .await
    }

    /// Removes a leased ticket and keeps who resolved it, when and how.
    pub async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: impl Into<String>,
        outcome: impl Into<String>,
    ) -> Result<AuditRecord, RouteError> {
        let (holder, outcome) = (holder.into(), outcome.into());
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.resolve(ticket_id, lease_token, holder, outcome)
            })
            .await
    }

    /// Hands a leased ticket back to ready now, keeping its delivery count.
    pub async fn release(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: impl Into<String>,
        reason: impl Into<String>,
    ) -> Result<Ticket, RouteError> {
        let (holder, reason) = (holder.into(), reason.into());
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.release(ticket_id, lease_token, &holder, &reason)
            })
            .await
    }

    /// Moves a leased ticket to `to_queue` as ready and records the correction.
    pub async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: impl Into<String>,
        to_queue: impl Into<String>,
        reason: impl Into<String>,
    ) -> Result<Ticket, RouteError> {
        let (holder, to_queue, reason) = (holder.into(), to_queue.into(), reason.into());
        require_name("target queue", &to_queue)?;
        self.inner
            .writer
            .submit(true, move |txn| {
                txn.reroute(ticket_id, lease_token, holder, to_queue, reason)
            })
            .await
    }

    /// Every correction made by `reroute`, oldest first.
    pub async fn corrections(&self) -> Result<Vec<Correction>, RouteError> {
        self.read(|snap, _| snap.corrections()).await
    }

    /// Dead-lettered tickets of `queue`, by id.
    pub async fn dead_letters(&self, queue: &str) -> Result<Vec<Ticket>, RouteError> {
        let queue = queue.to_owned();
        self.read(move |snap, _| snap.dead_letters(&queue)).await
    }

    /// The audit record of a resolved ticket.
    pub async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError> {
        self.read(move |snap, _| snap.audit(ticket_id)).await
    }

    /// A live (ready or leased) ticket.
    pub async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError> {
        self.read(move |snap, _| snap.ticket(ticket_id)).await
    }

    /// Stats for every queue in `queues` (also empty ones), then any other queue with tickets.
    pub async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError> {
        let queues = queues.to_vec();
        self.read(move |snap, now_ms| snap.stats(&queues, now_ms))
            .await
    }

    /// Waits until everything queued so far is committed durably (for graceful shutdown).
    pub async fn flush(&self) -> Result<(), RouteError> {
        self.inner.writer.submit(true, |_| Ok(())).await
    }

    /// Whether the writer thread still takes requests (it stops after a failed commit).
    pub fn writer_alive(&self) -> bool {
        self.inner.writer.alive()
    }

    /// Write transactions the writer has committed since open (one per batch).
    pub fn commits(&self) -> u64 {
        self.inner.writer.commits()
    }

    /// Runs `query` over a fresh snapshot on a blocking thread, with the clock's now.
    async fn read<T, F>(&self, query: F) -> Result<T, RouteError>
    where
        T: Send + 'static,
        F: FnOnce(&Snapshot, i64) -> Result<T, RouteError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        let now_ms = self.inner.clock.now_ms();
        tokio::task::spawn_blocking(move || query(&Snapshot::begin(&db)?, now_ms))
            .await
            .map_err(|err| RouteError::Unavailable(format!("queue read task failed: {err}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::clock::SystemClock;

    /// Once the writer thread is gone, calls fail with Unavailable instead of hanging.
    #[tokio::test]
    async fn dead_writer_makes_calls_unavailable() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let queue =
            EmbeddedQueue::open(dir.path(), QueueSettings::default(), Arc::new(SystemClock))?;
        let crashed = queue
            .inner
            .writer
            .submit(true, |_| -> Result<(), RouteError> {
                panic!("simulated writer crash")
            })
            .await;
        assert!(matches!(crashed, Err(RouteError::Unavailable(_))));
        let after = queue.record_decision("i1", "{}", None, true).await;
        assert!(matches!(after, Err(RouteError::Unavailable(_))));
        assert!(matches!(
            queue.flush().await,
            Err(RouteError::Unavailable(_))
        ));
        // Reads still work from the last committed state.
        assert_eq!(queue.decision("i1").await?, None);
        Ok(())
    }
}
