//! `EmbeddedFeedback`: the ratings in a redb file of their own (`feedback.redb` in the server's
//! data folder), apart from the queue's file, so that the queue's schema, retention and
//! maintenance never concern them. A rating is read, checked against the rules and written in
//! one write transaction (redb has one writer at a time, so two ratings of one inquiry are
//! applied in turn). The signing key of the feedback links is kept beside it
//! (`feedback.key`, readable by the owner only).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{FeedbackError, FeedbackRecord, FeedbackStore, FeedbackSummary, apply_rating};

/// The ratings' file in the data folder.
pub const FEEDBACK_FILE: &str = "feedback.redb";

/// The links' signing key in the data folder.
pub const LINK_KEY_FILE: &str = "feedback.key";

/// Ratings by inquiry id, as JSON.
const RATINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("ratings");

/// The ratings in `feedback.redb`.
#[derive(Clone)]
pub struct EmbeddedFeedback {
    db: Arc<Database>,
    dir: PathBuf,
}

impl EmbeddedFeedback {
    /// Opens (or creates) the ratings' file in `dir`, which is created when missing.
    pub fn open(dir: &Path) -> Result<Self, FeedbackError> {
        std::fs::create_dir_all(dir).map_err(|err| {
            FeedbackError::storage(format_args!("creating {}", dir.display()), err)
        })?;
        let path = dir.join(FEEDBACK_FILE);
        let db = Database::create(&path).map_err(|err| {
            FeedbackError::storage(format_args!("opening {}", path.display()), err)
        })?;
        let txn = db.begin_write().map_err(|err| stored(&path, err))?;
        txn.open_table(RATINGS).map_err(|err| stored(&path, err))?;
        txn.commit().map_err(|err| stored(&path, err))?;
        Ok(Self {
            db: Arc::new(db),
            dir: dir.to_path_buf(),
        })
    }

    /// Runs `work` on the database off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database, &Path) -> Result<T, FeedbackError> + Send + 'static,
    ) -> Result<T, FeedbackError> {
        let db = Arc::clone(&self.db);
        let path = self.dir.join(FEEDBACK_FILE);
        tokio::task::spawn_blocking(move || work(&db, &path))
            .await
            .map_err(|err| FeedbackError::storage("the feedback store's worker", err))?
    }
}

/// A failure of the file at `path`.
fn stored(path: &Path, err: impl std::fmt::Display) -> FeedbackError {
    FeedbackError::storage(format_args!("feedback store {}", path.display()), err)
}

/// The record stored as `json` under `inquiry_id`.
fn decode(path: &Path, inquiry_id: &str, json: &[u8]) -> Result<FeedbackRecord, FeedbackError> {
    serde_json::from_slice(json).map_err(|err| {
        stored(
            path,
            format_args!("the rating of inquiry {inquiry_id} cannot be read: {err}"),
        )
    })
}

#[async_trait::async_trait]
impl FeedbackStore for EmbeddedFeedback {
    async fn rate(
        &self,
        incoming: FeedbackRecord,
        change_window: Duration,
    ) -> Result<FeedbackRecord, FeedbackError> {
        self.blocking(move |db, path| {
            let txn = db.begin_write().map_err(|err| stored(path, err))?;
            let record = {
                let mut table = txn.open_table(RATINGS).map_err(|err| stored(path, err))?;
                let id = incoming.inquiry_id.clone();
                let existing = table
                    .get(id.as_str())
                    .map_err(|err| stored(path, err))?
                    .map(|json| decode(path, &id, json.value()))
                    .transpose()?;
                let record = apply_rating(existing, incoming, change_window)?;
                let json = serde_json::to_vec(&record).map_err(|err| stored(path, err))?;
                table
                    .insert(id.as_str(), json.as_slice())
                    .map_err(|err| stored(path, err))?;
                record
            };
            txn.commit().map_err(|err| stored(path, err))?;
            Ok(record)
        })
        .await
    }

    async fn rating(&self, inquiry_id: &str) -> Result<Option<FeedbackRecord>, FeedbackError> {
        let id = inquiry_id.to_owned();
        self.blocking(move |db, path| {
            let txn = db.begin_read().map_err(|err| stored(path, err))?;
            let table = txn.open_table(RATINGS).map_err(|err| stored(path, err))?;
            let json = table.get(id.as_str()).map_err(|err| stored(path, err))?;
            json.map(|json| decode(path, &id, json.value())).transpose()
        })
        .await
    }

    async fn summary(&self) -> Result<FeedbackSummary, FeedbackError> {
        self.blocking(|db, path| {
            let txn = db.begin_read().map_err(|err| stored(path, err))?;
            let table = txn.open_table(RATINGS).map_err(|err| stored(path, err))?;
            let mut records = Vec::new();
            for entry in table.iter().map_err(|err| stored(path, err))? {
                let (id, json) = entry.map_err(|err| stored(path, err))?;
                records.push(decode(path, id.value(), json.value())?);
            }
            Ok(FeedbackSummary::of(&records))
        })
        .await
    }

    async fn link_key(&self, candidate: Vec<u8>) -> Result<Vec<u8>, FeedbackError> {
        let path = self.dir.join(LINK_KEY_FILE);
        tokio::task::spawn_blocking(move || kept_key(&path, &candidate))
            .await
            .map_err(|err| FeedbackError::storage("the feedback store's worker", err))?
    }
}

/// The key in the file at `path`, or `candidate` written there (readable by the owner only)
/// when the file does not exist yet.
fn kept_key(path: &Path, candidate: &[u8]) -> Result<Vec<u8>, FeedbackError> {
    let failed = |what: &str, err: std::io::Error| {
        FeedbackError::storage(format_args!("{what} {}", path.display()), err)
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(candidate)
                .and_then(|()| file.sync_all())
                .map_err(|err| failed("writing the link key", err))?;
            Ok(candidate.to_vec())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let key = std::fs::read(path).map_err(|err| failed("reading the link key", err))?;
            if key.len() < super::link::MIN_KEY_BYTES {
                return Err(FeedbackError::Storage(format!(
                    "the link key {} holds {} bytes, fewer than {}: remove it to have a new one made",
                    path.display(),
                    key.len(),
                    super::link::MIN_KEY_BYTES
                )));
            }
            Ok(key)
        }
        Err(err) => Err(failed("creating the link key", err)),
    }
}
