//! `ClientDirectory`: where the service looks up the requesting client for a direct answer,
//! whichever engine holds the status data: the pack's `status.json` in memory (embedded), or
//! PostgreSQL when scaled out. Both pass the same contract tests (`tests/status_contract.rs`).

use std::sync::Arc;

use async_trait::async_trait;

use super::client::Client;
use super::store::StatusStore;
use crate::readiness::NotReady;

mod postgres;
mod recent;

pub use postgres::PgStatus;
pub use recent::Recent;

/// Why a directory could not answer (the engine behind it is down or its data is damaged).
#[derive(Debug, thiserror::Error)]
#[error("status data unavailable: {0}")]
pub struct DirectoryError(pub String);

/// Clients by id and by mail address.
#[async_trait]
pub trait ClientDirectory: Send + Sync + 'static {
    /// The client with id `id`, with all its entities.
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, DirectoryError>;

    /// The client a sender's address belongs to: the exact address, else its domain (case
    /// and surrounding blanks ignored).
    async fn client_for_email(&self, address: &str) -> Result<Option<Arc<Client>>, DirectoryError>;

    /// Whether the engine serves now: it answers and holds status data; else why not.
    async fn healthy(&self) -> Result<(), NotReady>;
}

#[async_trait]
impl ClientDirectory for StatusStore {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        Ok(StatusStore::client(self, id))
    }

    async fn client_for_email(&self, address: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        Ok(StatusStore::client_for_email(self, address))
    }

    async fn healthy(&self) -> Result<(), NotReady> {
        Ok(())
    }
}
