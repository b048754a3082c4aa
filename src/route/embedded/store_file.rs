//! The queue's file on disk: opened only after redb's integrity check passes, and never made
//! anew in silence. The first open writes an identity record beside it (`route.redb.json`: the
//! file it vouches for and when it was created); a later open that finds the record but not
//! the file, or a file redb cannot open or check (a damaged page, a file cut to 0 bytes), is
//! refused with the path and what to do: stop the server, run `triage store check`, restore
//! the file from a backup (or, to start over, move both files away).

use std::path::{Path, PathBuf};

use redb::Database;
use serde::{Deserialize, Serialize};

use super::schema::open_tables;
use crate::route::error::RouteError;

/// The queue's file in its directory.
pub const DB_FILE: &str = "route.redb";

/// The identity record beside it.
const IDENTITY_FILE: &str = "route.redb.json";

/// What the identity record says.
#[derive(Debug, Serialize, Deserialize)]
struct Identity {
    file: String,
    created_ms: i64,
}

/// What opening the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub path: PathBuf,
    pub bytes: u64,
    /// The file was created by this open.
    pub created: bool,
    /// redb's check found damage and repaired it (rolled back to the last good commit).
    pub repaired: bool,
}

/// Whether an open may create the file in a directory that never held one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Serving: a new directory gets a new, empty queue.
    IfNew,
    /// Checking: a missing file is an error.
    Never,
}

/// Runs `step` on the file at `path`; a panic inside redb (on a damaged page it did not
/// expect) becomes a refusal that names the file, instead of the end of the process.
pub fn guarded<T>(
    path: &Path,
    step: impl FnOnce() -> Result<T, RouteError>,
) -> Result<T, RouteError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|panic| {
        Err(refusal(
            path,
            format_args!(
                "is damaged (reading it failed: {})",
                RouteError::panic_message(&*panic)
            ),
        ))
    })
}

/// Opens the queue's file in `dir`, which must exist, as serving does: identity record,
/// integrity check and schema version. Nothing is created.
pub fn open_existing(
    dir: &Path,
    cache_bytes: usize,
    now_ms: i64,
) -> Result<(Database, FileCheck), RouteError> {
    let (db, file) = open(dir, cache_bytes, now_ms, Create::Never)?;
    guarded(&file.path, || open_tables(&db, &file.path))?;
    Ok((db, file))
}

/// Opens (or, as `create` allows, creates) the queue's file in `dir` with a page cache of
/// `cache_bytes`, after redb's integrity check.
pub fn open(
    dir: &Path,
    cache_bytes: usize,
    now_ms: i64,
    create: Create,
) -> Result<(Database, FileCheck), RouteError> {
    let path = dir.join(DB_FILE);
    let identity = dir.join(IDENTITY_FILE);
    let mut builder = Database::builder();
    builder.set_cache_size(cache_bytes);
    let created = !path.exists();
    let mut db = if created {
        if create == Create::Never {
            return Err(RouteError::Storage(format!(
                "there is no queue database at {}",
                path.display()
            )));
        }
        if identity.exists() {
            return Err(refusal(
                &path,
                format_args!(
                    "is missing, but {} says a queue was created here",
                    identity.display()
                ),
            ));
        }
        let db = builder
            .create(&path)
            .map_err(|err| refusal(&path, format_args!("cannot be created ({})", plain(&err))))?;
        write_identity(&identity, now_ms)?;
        db
    } else {
        guarded(&path, || {
            builder.open(&path).map_err(|err| match err {
                redb::DatabaseError::DatabaseAlreadyOpen => RouteError::Storage(format!(
                    "queue database {} is open in another process (a running server?): stop it \
                     first",
                    path.display()
                )),
                err => refusal(&path, format_args!("cannot be opened ({})", plain(&err))),
            })
        })?
    };
    let integrity = guarded(&path, || {
        db.check_integrity().map_err(|err| {
            refusal(
                &path,
                format_args!("fails its integrity check ({})", plain(&err)),
            )
        })
    });
    let repaired = match integrity {
        Ok(true) => false,
        Ok(false) => {
            tracing::error!(
                path = %path.display(),
                "the queue database was damaged and has been repaired to its last good commit; \
                 the most recent changes may be lost"
            );
            true
        }
        Err(err) => return Err(err),
    };
    if !created && !identity.exists() {
        // A file from before identity records: vouch for it from now on.
        write_identity(&identity, now_ms)?;
    }
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let check = FileCheck {
        path,
        bytes,
        created,
        repaired,
    };
    Ok((db, check))
}

/// An error's message without its closing full stop, to stand inside a sentence.
fn plain(err: &dyn std::fmt::Display) -> String {
    err.to_string().trim_end_matches('.').to_owned()
}

/// A refusal that names the file and what to do.
fn refusal(path: &Path, what: std::fmt::Arguments<'_>) -> RouteError {
    RouteError::Storage(format!(
        "queue database {} {what}. Stop the server, run `triage store check --data-dir {}`, and \
         restore the file from a backup; to start an empty queue instead, move {} and its \
         identity record {} away",
        path.display(),
        path.parent().unwrap_or(Path::new(".")).display(),
        DB_FILE,
        IDENTITY_FILE,
    ))
}

fn write_identity(path: &Path, now_ms: i64) -> Result<(), RouteError> {
    let identity = Identity {
        file: DB_FILE.to_owned(),
        created_ms: now_ms,
    };
    let json = serde_json::to_vec_pretty(&identity)
        .map_err(|err| RouteError::storage("encoding the identity record", err))?;
    std::fs::write(path, json)
        .map_err(|err| RouteError::storage(format_args!("writing {}", path.display()), err))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CACHE: usize = 1 << 20;

    /// A new directory gets a file and its identity record; opening it again finds both.
    #[test]
    fn a_new_directory_gets_a_file_and_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (db, check) = open(dir.path(), CACHE, 1, Create::IfNew).unwrap();
        assert!(check.created && !check.repaired);
        assert!(dir.path().join(IDENTITY_FILE).exists());
        drop(db);
        let (_, again) = open(dir.path(), CACHE, 2, Create::IfNew).unwrap();
        assert!(!again.created && !again.repaired);
        let nothing = tempfile::tempdir().unwrap();
        let checked = open(nothing.path(), CACHE, 3, Create::Never).unwrap_err();
        assert!(
            checked.to_string().contains("there is no queue database"),
            "{checked}"
        );
        assert!(!nothing.path().join(DB_FILE).exists());
    }

    /// A file cut to 0 bytes, or gone while its identity record stays, is refused with the
    /// path and what to do; nothing is created in its place.
    #[test]
    fn an_emptied_or_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path(), CACHE, 1, Create::IfNew).unwrap());
        let path = dir.path().join(DB_FILE);
        std::fs::write(&path, b"").unwrap();
        let emptied = open(dir.path(), CACHE, 2, Create::IfNew)
            .unwrap_err()
            .to_string();
        assert!(emptied.contains(&path.display().to_string()), "{emptied}");
        assert!(emptied.contains("triage store check"), "{emptied}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);

        std::fs::remove_file(&path).unwrap();
        let missing = open(dir.path(), CACHE, 3, Create::IfNew)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("is missing"), "{missing}");
        assert!(!path.exists(), "no new file in its place");
    }
}
