//! The embedded status backend: a pack's status data held in memory, swapped whole on
//! `reload()` so the data can change without a restart, and kept as it was when a reload fails.
//! Loading and reloading take the time of day, which a pack that shifts its sample data's dates
//! to today reads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use super::client::Client;
use super::error::AnswerError;
use super::status::StatusData;
use crate::pack::{Pack, StatusSettings, Target};

/// Status data read from a pack folder, reloadable.
#[derive(Debug)]
pub struct StatusStore {
    dir: PathBuf,
    direct_intents: Vec<(String, String)>,
    settings: StatusSettings,
    data: RwLock<Arc<StatusData>>,
}

impl StatusStore {
    /// Loads the status data in `dir` at `now`; `direct_intents` are the pack's
    /// `(intent, status_kind)` pairs and `settings` its `[status]` table, both used again on
    /// every reload.
    pub fn open(
        dir: &Path,
        direct_intents: Vec<(String, String)>,
        settings: StatusSettings,
        now: jiff::Timestamp,
    ) -> Result<Self, AnswerError> {
        let data = StatusData::load(dir, &direct_intents, &settings, now)?;
        // Debug only: a server looking clients up in PostgreSQL logs the count of that store.
        tracing::debug!(
            dir = %dir.display(),
            clients = data.clients().len(),
            as_of = %data.as_of(),
            "status data loaded"
        );
        Ok(Self {
            dir: dir.to_owned(),
            direct_intents,
            settings,
            data: RwLock::new(Arc::new(data)),
        })
    }

    /// Loads the status data of `pack` for its direct intents, at `now`.
    pub fn for_pack(pack: &Pack, now: jiff::Timestamp) -> Result<Self, AnswerError> {
        let direct_intents = pack
            .intents
            .iter()
            .filter_map(|intent| match &intent.target {
                Target::StatusKind(kind) => Some((intent.name.clone(), kind.clone())),
                Target::Queue(_) => None,
            })
            .collect();
        Self::open(&pack.dir, direct_intents, pack.settings.status, now)
    }

    /// The ids of the current data's clients, in file order.
    pub fn client_ids(&self) -> Vec<String> {
        self.snapshot()
            .clients()
            .iter()
            .map(|c| c.id.clone())
            .collect()
    }

    /// Re-reads the files at `now`. On success later calls see the new data (calls already
    /// holding a snapshot keep theirs); on error the old data stays and the error is returned.
    pub fn reload(&self, now: jiff::Timestamp) -> Result<(), AnswerError> {
        match StatusData::load(&self.dir, &self.direct_intents, &self.settings, now) {
            Ok(data) => {
                let clients = data.clients().len();
                let as_of = data.as_of();
                // The lock guards a plain swap, so a poisoned lock still holds whole data.
                *self.data.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(data);
                tracing::info!(dir = %self.dir.display(), clients, %as_of, "status data reloaded");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "status data reload failed; keeping the old data");
                Err(error)
            }
        }
    }

    /// The current data, consistent for as long as it is held: take one snapshot per inquiry
    /// so the client and the templates come from the same load.
    pub fn snapshot(&self) -> Arc<StatusData> {
        Arc::clone(&self.data.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The client with id `id`, from the current data.
    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        self.snapshot().client(id).cloned()
    }

    /// The client a sender's address belongs to (exact address, else domain), from the current
    /// data.
    pub fn client_for_email(&self, address: &str) -> Option<Arc<Client>> {
        self.snapshot().client_for_email(address).cloned()
    }
}
