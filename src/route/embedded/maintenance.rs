//! Work on the queue's file with the server stopped: what each table holds ([`store_usage`])
//! and giving the space freed by a retention sweep back to the file system
//! ([`compact_store`]). redb reuses freed pages for new records but never shrinks the file on
//! its own; compaction moves the pages in use to its front and cuts the rest off.
//!
//! Both open the file as `triage store check` does (identity record, integrity check, schema
//! version), so a damaged or foreign file is refused before anything is read or moved.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata};

use super::settings::QueueSettings;
use super::store_file;
use crate::route::clock::{Clock, SystemClock};
use crate::route::error::RouteError;

/// What one table of the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUsage {
    pub table: String,
    pub entries: u64,
    /// Bytes of keys and values.
    pub stored_bytes: u64,
    /// Bytes of branch pages and other metadata.
    pub metadata_bytes: u64,
    /// Bytes of the table's pages holding nothing.
    pub fragmented_bytes: u64,
}

/// The file's size before and after a compaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    pub path: PathBuf,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Opens the queue's file in `dir` for offline work, refusing it as opening to serve would.
fn open_checked(dir: &Path) -> Result<(Database, PathBuf), RouteError> {
    let (db, file) = store_file::open_existing(
        dir,
        QueueSettings::default().cache_bytes,
        SystemClock.now_ms(),
    )?;
    Ok((db, file.path))
}

/// Every table of the queue's file in `dir`, by name. The server must be stopped.
pub fn store_usage(dir: &Path) -> Result<Vec<TableUsage>, RouteError> {
    let (db, path) = open_checked(dir)?;
    store_file::guarded(&path, || usage_of(&db))
}

fn usage_of(db: &Database) -> Result<Vec<TableUsage>, RouteError> {
    let read = db.begin_read()?;
    let mut tables = Vec::new();
    for handle in read.list_tables()? {
        let table = read.open_untyped_table(handle)?;
        let stats = table.stats()?;
        tables.push(TableUsage {
            table: redb::TableHandle::name(&table).to_owned(),
            entries: table.len()?,
            stored_bytes: stats.stored_bytes(),
            metadata_bytes: stats.metadata_bytes(),
            fragmented_bytes: stats.fragmented_bytes(),
        });
    }
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(tables)
}

/// Compacts the queue's file in `dir`: the pages in use move to the front of the file and the
/// rest is cut off. The server must be stopped (it holds the file's lock while it runs).
pub fn compact_store(dir: &Path) -> Result<Compaction, RouteError> {
    let (mut db, path) = open_checked(dir)?;
    let size = || {
        std::fs::metadata(&path)
            .map(|meta| meta.len())
            .map_err(|err| RouteError::storage(format_args!("reading {}", path.display()), err))
    };
    let bytes_before = size()?;
    store_file::guarded(&path, || {
        // Each pass moves what it can; one that moves nothing means the file is as small as
        // its pages allow.
        while db.compact().map_err(|err| {
            RouteError::storage(format_args!("compacting {}", path.display()), err)
        })? {}
        Ok(())
    })?;
    drop(db);
    let bytes_after = size()?;
    Ok(Compaction {
        path,
        bytes_before,
        bytes_after,
    })
}
