//! `Writer`: the dedicated thread that owns the write side of the database and group-commits
//! queued requests — it blocks for one request, drains up to `max_batch` more, applies them
//! in arrival order in one write transaction, commits once, then answers them all.
//!
//! A batch of background records only commits without an fsync; a flusher thread sees that
//! one is waiting and, `flush_interval` later, queues an fsync'd commit of nothing, which makes
//! it durable. Expert load, whose batches are fsync'd anyway, needs no such commit.
//!
//! A failed commit (a full disk) fails its batch with `Unavailable`; the writer then reopens
//! the file with a backoff (`LiveStore::reopen`), answering requests that arrive meanwhile with
//! `Unavailable` too, and writes again once the file opens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use redb::Durability;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::live::LiveStore;
use super::settings::QueueSettings;
use super::txn::Txn;
use crate::route::clock::Clock;
use crate::route::error::RouteError;

/// One queued request, type-erased so requests with different answers share a channel.
trait Job: Send {
    /// Whether the caller waits for an fsync'd commit.
    fn durable(&self) -> bool;
    /// Whether a caller waits for the answer at all (background records do not).
    fn awaited(&self) -> bool;
    /// Whether this is a background record, acknowledged to its client before it is written
    /// (the flusher's empty commit is neither awaited nor a record).
    fn record(&self) -> bool {
        !self.awaited() && !self.durable()
    }
    /// Runs the operation and keeps its result; returns the storage failure, if it hit one,
    /// that must abort the whole batch.
    fn apply(&mut self, txn: &mut Txn<'_>) -> Result<(), RouteError>;
    /// Answers the caller with its own result, or with the batch's failure.
    fn answer(self: Box<Self>, batch: Result<(), RouteError>);
}

enum Stage<T, F> {
    Queued(F),
    Applied(Result<T, RouteError>),
}

struct Request<T, F> {
    durable: bool,
    awaited: bool,
    stage: Option<Stage<T, F>>,
    reply: oneshot::Sender<Result<T, RouteError>>,
}

type Answer<T> = oneshot::Receiver<Result<T, RouteError>>;

/// A queued job running `op`, and where its answer will arrive.
fn request<T, F>(durable: bool, awaited: bool, op: F) -> (Box<dyn Job>, Answer<T>)
where
    T: Send + 'static,
    F: FnOnce(&mut Txn<'_>) -> Result<T, RouteError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job = Request {
        durable,
        awaited,
        stage: Some(Stage::Queued(op)),
        reply,
    };
    (Box::new(job), answer)
}

impl<T, F> Job for Request<T, F>
where
    T: Send,
    F: FnOnce(&mut Txn<'_>) -> Result<T, RouteError> + Send,
{
    fn durable(&self) -> bool {
        self.durable
    }

    fn awaited(&self) -> bool {
        self.awaited
    }

    fn apply(&mut self, txn: &mut Txn<'_>) -> Result<(), RouteError> {
        if let Some(Stage::Queued(op)) = self.stage.take() {
            let result = op(txn);
            let fatal = match &result {
                Err(err @ (RouteError::Storage(_) | RouteError::Io(_))) => Err(err.clone()),
                _ => Ok(()),
            };
            self.stage = Some(Stage::Applied(result));
            return fatal;
        }
        Ok(())
    }

    fn answer(self: Box<Self>, batch: Result<(), RouteError>) {
        let Self { stage, reply, .. } = *self;
        let result = batch.and_then(|()| match stage {
            Some(Stage::Applied(result)) => result,
            _ => Err(RouteError::Storage("request was not applied".into())),
        });
        // The caller may have given up waiting; its request still took effect.
        let _ = reply.send(result);
    }
}

/// Why a batch was not committed.
enum BatchFailure {
    /// Rolled back; the database is fine and the writer goes on.
    Aborted(RouteError),
    /// The commit itself failed; redb refuses further writes until the file is reopened
    /// (so does an [`RouteError::Io`] failure that aborted a batch).
    CommitFailed(RouteError),
}

/// Handle to the writer thread; dropping it lets the thread finish its batch and joins it.
pub(crate) struct Writer {
    requests: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
    lost_records: Arc<AtomicU64>,
    /// Background records waiting beyond which the lingering thread is woken.
    backlog_wake: usize,
}

impl Writer {
    pub fn start(
        store: Arc<LiveStore>,
        settings: QueueSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RouteError> {
        let (requests, inbox) = mpsc::channel(settings.max_batch.saturating_mul(4));
        let commits = Arc::new(AtomicU64::new(0));
        let lost_records = Arc::new(AtomicU64::new(0));
        let unflushed = Arc::new(AtomicBool::new(false));
        let worker = WriterLoop {
            store,
            settings,
            clock,
            commits: commits.clone(),
            lost_records: lost_records.clone(),
            unsynced_records: 0,
            unflushed: unflushed.clone(),
            inbox,
        };
        let flusher = Flusher {
            requests: requests.downgrade(),
            unflushed,
            interval: settings.flush_interval,
        };
        let spawn_failed =
            |err| RouteError::Unavailable(format!("starting writer thread failed: {err}"));
        let thread = std::thread::Builder::new()
            .name("route-writer".into())
            .spawn(move || worker.run())
            .map_err(spawn_failed)?;
        std::thread::Builder::new()
            .name("route-flusher".into())
            .spawn(move || flusher.run())
            .map_err(spawn_failed)?;
        Ok(Self {
            requests: Some(requests),
            thread: Some(thread),
            commits,
            lost_records,
            backlog_wake: settings.max_batch,
        })
    }

    /// Ends the writer thread's linger, if it lingers.
    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// Whether the writer thread still takes requests.
    pub fn alive(&self) -> bool {
        self.requests.as_ref().is_some_and(|r| !r.is_closed())
    }

    /// Requests sent that the writer thread has not taken yet.
    #[cfg(test)]
    pub fn backlog(&self) -> usize {
        self.requests
            .as_ref()
            .map_or(0, |requests| requests.max_capacity() - requests.capacity())
    }

    /// Write transactions committed so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Background records acknowledged to their clients that the store could not keep: their
    /// batch failed, or a failed write lost them before they were fsync'd.
    pub fn lost_records(&self) -> u64 {
        self.lost_records.load(Ordering::Relaxed)
    }

    /// Queues `op` for the next batch and waits for its committed result.
    pub async fn submit<T, F>(&self, durable: bool, op: F) -> Result<T, RouteError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T, RouteError> + Send + 'static,
    {
        let gone = || RouteError::Unavailable("writer thread has stopped".into());
        let requests = self.requests.as_ref().ok_or_else(gone)?;
        let (job, answer) = request(durable, true, op);
        requests.send(job).await.map_err(|_| gone())?;
        self.wake();
        answer.await.map_err(|_| gone())?
    }

    /// Queues a non-durable `op` and returns without waiting for its batch: it commits with the
    /// next batch, and a failure is logged by the writer instead of answered.
    pub async fn enqueue<F>(&self, op: F) -> Result<(), RouteError>
    where
        F: FnOnce(&mut Txn<'_>) -> Result<(), RouteError> + Send + 'static,
    {
        let gone = || RouteError::Unavailable("writer thread has stopped".into());
        let requests = self.requests.as_ref().ok_or_else(gone)?;
        let (job, _unawaited) = request(false, false, move |txn: &mut Txn<'_>| {
            op(txn).inspect_err(|error| tracing::warn!(%error, "background record failed"))
        });
        requests.send(job).await.map_err(|_| gone())?;
        if requests.max_capacity() - requests.capacity() >= self.backlog_wake {
            self.wake();
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.requests.take());
        // A lingering thread sees the closed channel only once it wakes.
        self.wake();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("route writer thread panicked");
        }
    }
}

/// Makes committed background records durable within `interval`: it wakes every `interval`
/// and, when a commit without an fsync has happened since the last fsync'd one, queues an
/// fsync'd commit of nothing. It holds the writer's channel weakly, so it stops with the writer.
struct Flusher {
    requests: mpsc::WeakSender<Box<dyn Job>>,
    unflushed: Arc<AtomicBool>,
    interval: std::time::Duration,
}

impl Flusher {
    fn run(self) {
        loop {
            std::thread::sleep(self.interval);
            let Some(requests) = self.requests.upgrade() else {
                return;
            };
            if self.unflushed.swap(false, Ordering::AcqRel) {
                let (flush, _unawaited) = request(true, false, |_| Ok(()));
                if requests.blocking_send(flush).is_err() {
                    return;
                }
            }
        }
    }
}

/// The writer thread's state.
struct WriterLoop {
    store: Arc<LiveStore>,
    settings: QueueSettings,
    clock: Arc<dyn Clock>,
    commits: Arc<AtomicU64>,
    lost_records: Arc<AtomicU64>,
    /// Background records committed since the last fsync'd commit: a failed write of the file
    /// loses them (reopening it rolls back to that commit).
    unsynced_records: u64,
    /// Set after a commit without an fsync, cleared by an fsync'd one.
    unflushed: Arc<AtomicBool>,
    inbox: mpsc::Receiver<Box<dyn Job>>,
}

impl WriterLoop {
    fn run(mut self) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(self.settings.max_batch);
        while let Some(first) = self.inbox.blocking_recv() {
            batch.push(first);
            self.drain_into(&mut batch);
            // Nobody waits on background records: let more gather so one commit carries many.
            // The thread sleeps meanwhile: background records do not wake it, a request someone
            // waits on does (and ends the linger), and so does a backlog of a full batch.
            let linger_until = Instant::now() + self.settings.background_linger;
            while batch.len() < self.settings.max_batch && !batch.iter().any(|job| job.awaited()) {
                let left = linger_until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
                if !self.drain_into(&mut batch) {
                    break; // closed: commit what there is and stop
                }
            }
            let records = batch.iter().filter(|job| job.record()).count() as u64;
            let (result, failed_file) = match self.write_catching_panics(&mut batch) {
                Ok(()) => {
                    if batch.iter().any(|job| job.durable()) {
                        self.unsynced_records = 0;
                    } else {
                        self.unsynced_records += records;
                    }
                    (Ok(()), None)
                }
                Err(BatchFailure::Aborted(err @ RouteError::Io(_)))
                | Err(BatchFailure::CommitFailed(err)) => {
                    let unsynced = std::mem::take(&mut self.unsynced_records);
                    self.lose(records + unsynced);
                    let refused = RouteError::Unavailable(format!(
                        "the queue store could not write ({err}); retry later"
                    ));
                    (Err(refused), Some(err))
                }
                Err(BatchFailure::Aborted(err)) => {
                    self.lose(records);
                    (Err(err), None)
                }
            };
            if let Err(err) = &result {
                tracing::error!(requests = batch.len(), %err, "route batch failed");
            }
            for job in batch.drain(..) {
                job.answer(result.clone());
            }
            if let Some(err) = failed_file
                && !self.reopen(&err)
            {
                return;
            }
        }
    }

    /// Counts `records` acknowledged to their clients that the store did not keep.
    fn lose(&self, records: u64) {
        if records > 0 {
            let lost = self.lost_records.fetch_add(records, Ordering::Relaxed) + records;
            tracing::error!(
                records,
                lost,
                "answers acknowledged to clients were not stored"
            );
        }
    }

    /// Reopens the store after a failed commit or I/O error, refusing the requests that arrive
    /// meanwhile; false when the channel closed first (the queue is shutting down).
    fn reopen(&mut self, failure: &RouteError) -> bool {
        let clock = Arc::clone(&self.clock);
        let store = Arc::clone(&self.store);
        let lost_records = Arc::clone(&self.lost_records);
        let inbox = &mut self.inbox;
        let refused = || {
            RouteError::Unavailable(format!(
                "the queue store cannot write ({failure}); retry later"
            ))
        };
        store.reopen(
            failure,
            || clock.now_ms(),
            |backoff| {
                let until = Instant::now() + backoff;
                loop {
                    loop {
                        match inbox.try_recv() {
                            Ok(job) => {
                                if job.record() {
                                    lost_records.fetch_add(1, Ordering::Relaxed);
                                }
                                job.answer(Err(refused()));
                            }
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => return false,
                        }
                    }
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return true;
                    }
                    // A caller's request wakes the thread, which refuses it at once.
                    std::thread::park_timeout(left);
                }
            },
        )
    }

    /// Moves the requests already waiting into `batch`, up to `max_batch`; false once the
    /// channel is closed and empty.
    fn drain_into(&mut self, batch: &mut Vec<Box<dyn Job>>) -> bool {
        while batch.len() < self.settings.max_batch {
            match self.inbox.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        true
    }

    /// [`write`](Self::write), with a panic inside the store (a damaged page can make redb
    /// panic) turned into that batch's failure and the store's fault: the writer, and every
    /// later request, live on.
    fn write_catching_panics(&self, batch: &mut [Box<dyn Job>]) -> Result<(), BatchFailure> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.write(batch))).unwrap_or_else(
            |panic| {
                let message = RouteError::panic_message(&*panic);
                Err(BatchFailure::Aborted(self.store.damaged(message)))
            },
        )
    }

    /// Applies `batch` in one write transaction and commits it once.
    fn write(&self, batch: &mut [Box<dyn Job>]) -> Result<(), BatchFailure> {
        let aborted = |err: RouteError| BatchFailure::Aborted(err);
        let db = self.store.db().map_err(aborted)?;
        let mut txn = db.begin_write().map_err(|e| aborted(e.into()))?;
        // A None commit becomes durable with the next Immediate commit, which fsyncs it too.
        let fsynced = batch.iter().any(|job| job.durable());
        let durability = if fsynced {
            Durability::Immediate
        } else {
            Durability::None
        };
        txn.set_durability(durability)
            .map_err(|e| aborted(e.into()))?;
        let applied = Txn::open(&txn, self.clock.now_ms(), self.settings.max_deliveries).and_then(
            |mut tables| {
                for job in batch.iter_mut() {
                    job.apply(&mut tables)?;
                }
                tables.finish()
            },
        );
        let dead_lettered = match applied {
            Ok(dead_lettered) => dead_lettered,
            Err(err) => {
                if let Err(abort) = txn.abort() {
                    tracing::warn!(%abort, "aborting route batch failed");
                }
                return Err(aborted(err));
            }
        };
        txn.commit()
            .map_err(|e| BatchFailure::CommitFailed(e.into()))?;
        for letter in &dead_lettered {
            self.store
                .dead_lettered()
                .report(&letter.ticket, &letter.reason);
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.unflushed.store(!fsynced, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::clock::ManualClock;
    use crate::route::embedded::schema::open_tables;
    use crate::route::embedded::snapshot::Snapshot;
    use crate::route::lease_token::LeaseToken;

    fn writer_loop(dir: &std::path::Path) -> Result<WriterLoop, RouteError> {
        let path = dir.join("w.redb");
        let db = redb::Database::create(&path)?;
        open_tables(&db, &path)?;
        let (_, inbox) = mpsc::channel(1);
        Ok(WriterLoop {
            store: Arc::new(LiveStore::new(dir, 1 << 20, db)),
            settings: QueueSettings::default(),
            clock: Arc::new(ManualClock::new(0)),
            commits: Arc::new(AtomicU64::new(0)),
            lost_records: Arc::new(AtomicU64::new(0)),
            unsynced_records: 0,
            unflushed: Arc::new(AtomicBool::new(false)),
            inbox,
        })
    }

    fn record(inquiry: &'static str) -> (Box<dyn Job>, Answer<()>) {
        request(true, true, move |txn| txn.record_answer(inquiry, b"{}"))
    }

    /// A storage failure in one request fails every request of its batch and writes nothing.
    #[test]
    fn storage_failure_aborts_the_whole_batch() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let writer = writer_loop(dir.path())?;
        let (first, first_answer) = record("a");
        let (broken, broken_answer) = request(true, true, |_| -> Result<(), RouteError> {
            Err(RouteError::Storage("disk full".into()))
        });
        let mut batch = vec![first, broken];
        let Err(BatchFailure::Aborted(err)) = writer.write(&mut batch) else {
            panic!("the batch should abort");
        };
        for job in batch {
            job.answer(Err(err.clone()));
        }
        let storage = RouteError::Storage("disk full".into());
        assert_eq!(
            first_answer.blocking_recv().ok(),
            Some(Err(storage.clone()))
        );
        assert_eq!(broken_answer.blocking_recv().ok(), Some(Err(storage)));
        assert_eq!(Snapshot::begin(&*writer.store.db()?)?.decision("a")?, None);
        assert_eq!(writer.commits.load(Ordering::Relaxed), 0);
        Ok(())
    }

    /// A panic inside a batch fails that batch with a storage error; the writer goes on and
    /// the next batch commits.
    #[test]
    fn a_panic_in_a_batch_fails_it_and_the_writer_goes_on() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let writer = writer_loop(dir.path())?;
        let (panicking, answer) = request(true, true, |_| -> Result<(), RouteError> {
            panic!("a damaged page")
        });
        let mut batch = vec![panicking];
        let Err(BatchFailure::Aborted(RouteError::Storage(message))) =
            writer.write_catching_panics(&mut batch)
        else {
            panic!("the batch should fail");
        };
        assert!(message.contains("a damaged page"), "{message}");
        for job in batch {
            job.answer(Err(RouteError::Storage(message.clone())));
        }
        assert!(answer.blocking_recv().unwrap().is_err());
        let (next, next_answer) = record("a");
        let mut batch = vec![next];
        assert!(writer.write_catching_panics(&mut batch).is_ok());
        for job in batch {
            job.answer(Ok(()));
        }
        assert_eq!(next_answer.blocking_recv().ok(), Some(Ok(())));
        assert!(
            Snapshot::begin(&*writer.store.db()?)?
                .decision("a")?
                .is_some()
        );
        Ok(())
    }

    /// A refused request fails alone; the rest of its batch commits.
    #[test]
    fn refused_request_does_not_fail_its_batch() -> Result<(), RouteError> {
        let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
        let writer = writer_loop(dir.path())?;
        let (refused, refused_answer) = request(true, true, |txn| {
            txn.extend(99, LeaseToken::from_bits(1), "alice", 10)
        });
        let (first, first_answer) = record("a");
        let mut batch = vec![refused, first];
        assert!(writer.write(&mut batch).is_ok());
        for job in batch {
            job.answer(Ok(()));
        }
        assert_eq!(
            refused_answer.blocking_recv().ok(),
            Some(Err(RouteError::NotFound(99)))
        );
        assert_eq!(first_answer.blocking_recv().ok(), Some(Ok(())));
        assert!(
            Snapshot::begin(&*writer.store.db()?)?
                .decision("a")?
                .is_some()
        );
        Ok(())
    }
}
