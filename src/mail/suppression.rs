//! Addresses automatic mail is paused to: a permanent bounce (a delivery status of class 5,
//! such as 5.1.1 "no such mailbox") puts its recipient here for a while, seven days unless
//! configured, and no reply is written to it meanwhile; a transient bounce changes nothing.
//!
//! The list is a small JSON file beside the journal, rewritten through a synced temporary file
//! and a rename whenever an address is added, so it survives restarts and a crash leaves the
//! old or the new list, never a torn one. Pauses that have ended are dropped when it is read.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long automatic mail to an address pauses after a permanent bounce, by default.
pub const DEFAULT_BOUNCE_PAUSE: Duration = Duration::from_secs(7 * 24 * 3600);

/// One paused address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The address, lowercased.
    pub address: String,
    /// The bounce's status code, if it gave one.
    pub status: Option<String>,
    /// When the bounce was handled, in Unix milliseconds.
    pub since_ms: i64,
    /// When automatic mail to the address may start again, in Unix milliseconds.
    pub until_ms: i64,
}

/// The paused addresses and the file that keeps them.
pub struct SuppressionList {
    path: PathBuf,
    pause: Duration,
    entries: BTreeMap<String, Suppression>,
}

impl SuppressionList {
    /// Reads the list at `path` (none yet is an empty list), dropping pauses ended by `now_ms`.
    /// A file that is not a list is an error naming its line and column.
    pub fn open(path: &Path, now_ms: i64) -> io::Result<Self> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<Vec<Suppression>>(&bytes)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        Ok(Self {
            path: path.to_owned(),
            pause: DEFAULT_BOUNCE_PAUSE,
            entries: entries
                .into_iter()
                .filter(|entry| entry.until_ms > now_ms)
                .map(|entry| (entry.address.clone(), entry))
                .collect(),
        })
    }

    /// Sets how long a new pause lasts.
    pub fn set_pause(&mut self, pause: Duration) {
        self.pause = pause;
    }

    /// The pause on `address` at `now_ms`, if there is one.
    pub fn active(&self, address: &str, now_ms: i64) -> Option<&Suppression> {
        self.entries
            .get(&address.to_lowercase())
            .filter(|entry| entry.until_ms > now_ms)
    }

    /// Pauses automatic mail to each of `bounced` (address, status) from `since_ms`, and
    /// writes the list when that changed it.
    pub fn pause_all<'a>(
        &mut self,
        bounced: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        since_ms: i64,
    ) -> io::Result<()> {
        let until_ms = since_ms.saturating_add(self.pause.as_millis() as i64);
        let mut changed = false;
        for (address, status) in bounced {
            let address = address.to_lowercase();
            if self
                .entries
                .get(&address)
                .is_some_and(|entry| entry.until_ms >= until_ms)
            {
                continue;
            }
            tracing::info!(%address, status, until_ms, "pausing automatic mail to a bounced address");
            self.entries.insert(
                address.clone(),
                Suppression {
                    address,
                    status: status.map(str::to_owned),
                    since_ms,
                    until_ms,
                },
            );
            changed = true;
        }
        if changed { self.write() } else { Ok(()) }
    }

    /// Replaces the file with the current list: a synced temporary file, a rename, the folder
    /// synced.
    fn write(&self) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let entries: Vec<&Suppression> = self.entries.values().collect();
        let json = serde_json::to_vec_pretty(&entries).map_err(io::Error::other)?;
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 24 * 3600 * 1000;

    /// A pause holds for its length across a reopen, then ends; addresses match in any case.
    #[test]
    fn pauses_survive_restarts_and_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".triage/bounced.json");
        let mut list = SuppressionList::open(&path, 0).unwrap();
        list.pause_all([("Gone@Acme.example", Some("5.1.1"))], DAY_MS)
            .unwrap();
        let reopened = SuppressionList::open(&path, 2 * DAY_MS).unwrap();
        let entry = reopened.active("gone@acme.example", 2 * DAY_MS).unwrap();
        assert_eq!(
            (entry.status.as_deref(), entry.until_ms),
            (Some("5.1.1"), 8 * DAY_MS)
        );
        assert!(reopened.active("other@acme.example", 2 * DAY_MS).is_none());
        assert!(reopened.active("gone@acme.example", 8 * DAY_MS).is_none());
        assert!(
            SuppressionList::open(&path, 9 * DAY_MS)
                .unwrap()
                .entries
                .is_empty()
        );
    }

    /// The configured length applies, and a later bounce extends a pause.
    #[test]
    fn pauses_take_the_configured_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bounced.json");
        let mut list = SuppressionList::open(&path, 0).unwrap();
        list.set_pause(Duration::from_secs(3600));
        list.pause_all([("a@x.example", None)], 0).unwrap();
        list.pause_all([("a@x.example", None)], 1000).unwrap();
        assert_eq!(list.active("a@x.example", 0).unwrap().until_ms, 3_601_000);
    }

    /// A damaged file is an error that says where, not an empty list.
    #[test]
    fn damaged_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bounced.json");
        std::fs::write(&path, "[{\"address\": 1}]").unwrap();
        let error = SuppressionList::open(&path, 0).err().unwrap();
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
