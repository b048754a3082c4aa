//! `LiveStore`: the database a running queue serves from, shared by the readers and the writer
//! thread, and the fault that keeps it from serving. After a failed commit (a full disk, an
//! I/O error) redb refuses every later operation until the file is opened anew: the writer
//! takes the database out, reopens the file (`store_file::open`, so with its integrity check
//! and repair) with a backoff, and puts it back once a probe write of a megabyte commits —
//! reopening alone succeeds on a full disk too. Meanwhile reads and writes are `Unavailable`
//! and the fault says why, which turns the health check NOT_SERVING.
//!
//! A panic inside a store call (redb on a damaged page) is recorded as a fault too: that call
//! fails, the process lives, and the store stays unhealthy until it is checked and restarted.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{Database, TableDefinition};

use super::store_file;
use crate::route::dead_letter::DeadLetterTally;
use crate::route::error::RouteError;

/// The longest wait between two attempts to reopen the file.
const MAX_REOPEN_BACKOFF: Duration = Duration::from_secs(5);

/// The first wait before reopening the file.
const FIRST_REOPEN_BACKOFF: Duration = Duration::from_millis(100);

/// What a reopened store must be able to write before it serves again.
const PROBE_BYTES: usize = 1 << 20;

/// Where the probe writes; the table is deleted again at once.
const PROBE: TableDefinition<&str, &[u8]> = TableDefinition::new("write_probe");

/// The serving database and its health.
pub(crate) struct LiveStore {
    dir: PathBuf,
    cache_bytes: usize,
    /// None while the writer reopens the file.
    db: RwLock<Option<Arc<Database>>>,
    /// Why the store does not serve, while it does not.
    fault: Mutex<Option<String>>,
    /// The tickets dead-lettered by the writer's commits since the store opened.
    dead_lettered: DeadLetterTally,
}

impl LiveStore {
    pub fn new(dir: &Path, cache_bytes: usize, db: Database) -> Self {
        Self {
            dir: dir.to_path_buf(),
            cache_bytes,
            db: RwLock::new(Some(Arc::new(db))),
            fault: Mutex::new(None),
            dead_lettered: DeadLetterTally::default(),
        }
    }

    /// The tickets dead-lettered since the store opened: the writer reports each once its
    /// commit stored it.
    pub fn dead_lettered(&self) -> &DeadLetterTally {
        &self.dead_lettered
    }

    /// The database, or `Unavailable` (with the fault) while it is being reopened.
    pub fn db(&self) -> Result<Arc<Database>, RouteError> {
        let db = self
            .db
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        db.clone().ok_or_else(|| {
            RouteError::Unavailable(
                self.fault()
                    .unwrap_or_else(|| "the queue store is being reopened".into()),
            )
        })
    }

    /// The folder of the database file.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the store does not serve, if it does not.
    pub fn fault(&self) -> Option<String> {
        self.fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records why the store does not serve; the log says it once.
    pub fn set_fault(&self, fault: String) {
        tracing::error!(fault = %fault, "the queue store does not serve");
        *self
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(fault);
    }

    /// Runs `step` over the store; a panic inside it (redb on a damaged page) fails this call
    /// with a storage error and marks the store faulty instead of ending the task.
    pub fn guarded<T>(
        &self,
        step: impl FnOnce() -> Result<T, RouteError>,
    ) -> Result<T, RouteError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
            .unwrap_or_else(|panic| Err(self.damaged(RouteError::panic_message(&*panic))))
    }

    /// The error for a store call that panicked, after recording the fault.
    pub fn damaged(&self, panic: &str) -> RouteError {
        let message = format!(
            "the queue database {} failed (it may be damaged: stop the server and run `triage \
             store check`): {panic}",
            self.dir.join(store_file::DB_FILE).display()
        );
        self.set_fault(message.clone());
        RouteError::Storage(message)
    }

    /// After a failed commit: takes the database out of service and reopens its file,
    /// waiting `FIRST_REOPEN_BACKOFF`, doubling up to `MAX_REOPEN_BACKOFF`, between attempts.
    /// `wait` sleeps for the given time and returns false when the writer should stop instead.
    /// Returns whether the file was reopened (false when told to stop).
    pub fn reopen(
        &self,
        failure: &RouteError,
        now_ms: impl Fn() -> i64,
        mut wait: impl FnMut(Duration) -> bool,
    ) -> bool {
        self.set_fault(format!(
            "writing the queue database {} failed ({failure}); writes are refused until it \
             can be written again",
            self.dir.join(store_file::DB_FILE).display()
        ));
        let mut old = self
            .db
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let mut backoff = FIRST_REOPEN_BACKOFF;
        loop {
            if !wait(backoff) {
                return false;
            }
            backoff = (backoff * 2).min(MAX_REOPEN_BACKOFF);
            // Readers hold the old handle for a moment at most; the file opens only once
            // every handle is gone.
            if let Some(db) = old.take() {
                match Arc::try_unwrap(db) {
                    Ok(db) => drop(db),
                    Err(shared) => {
                        old = Some(shared);
                        continue;
                    }
                }
            }
            match self.open_again(now_ms()) {
                Ok(db) => {
                    *self
                        .db
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(db));
                    *self
                        .fault
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
                    tracing::info!("the queue database was reopened: writes are accepted again");
                    return true;
                }
                Err(error) => tracing::warn!(
                    %error,
                    retry_in = ?backoff,
                    "reopening the queue database failed"
                ),
            }
        }
    }

    /// Opens the file again and checks that it takes a write.
    fn open_again(&self, now_ms: i64) -> Result<Database, RouteError> {
        let (db, file) = store_file::open_existing(&self.dir, self.cache_bytes, now_ms)?;
        store_file::guarded(&file.path, || probe_write(&db))?;
        Ok(db)
    }
}

/// Commits `PROBE_BYTES` into a scratch table, then deletes the table.
fn probe_write(db: &Database) -> Result<(), RouteError> {
    let txn = db.begin_write()?;
    txn.open_table(PROBE)?
        .insert("probe", vec![0_u8; PROBE_BYTES].as_slice())?;
    txn.commit()?;
    let txn = db.begin_write()?;
    txn.delete_table(PROBE)?;
    txn.commit()?;
    Ok(())
}
