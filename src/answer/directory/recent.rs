//! `Recent`: a client directory that keeps each client it found for a moment, so a replica
//! answering a busy client does not read the same rows from PostgreSQL for every inquiry (the
//! client lookup was the largest share of PostgreSQL's work per Submit). An import therefore
//! reaches every replica within that moment. A client not found is not kept: one imported a
//! moment ago is found at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{ClientDirectory, DirectoryError};
use crate::answer::client::Client;
use crate::readiness::NotReady;

/// Most clients kept at once; past it, the expired ones are dropped (all, if none expired).
const MAX_KEPT: usize = 10_000;

/// Clients found, by the key they were looked up by, with when they were found.
type Kept = Mutex<HashMap<String, (Instant, Arc<Client>)>>;

/// A directory in front of `D` that keeps the clients it found for `keep`.
pub struct Recent<D> {
    inner: D,
    keep: Duration,
    by_id: Kept,
    by_email: Kept,
}

impl<D: ClientDirectory> Recent<D> {
    pub fn new(inner: D, keep: Duration) -> Self {
        Self {
            inner,
            keep,
            by_id: Mutex::default(),
            by_email: Mutex::default(),
        }
    }

    /// The client kept under `key`, if found less than `keep` ago.
    fn kept(&self, kept: &Kept, key: &str) -> Option<Arc<Client>> {
        let kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (found, client) = kept.get(key)?;
        (found.elapsed() < self.keep).then(|| Arc::clone(client))
    }

    fn keep(&self, kept: &Kept, key: &str, client: &Option<Arc<Client>>) {
        let Some(client) = client else { return };
        let mut kept = kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, (found, _)| found.elapsed() < self.keep);
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(key.to_owned(), (Instant::now(), Arc::clone(client)));
    }
}

#[async_trait]
impl<D: ClientDirectory> ClientDirectory for Recent<D> {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        if let Some(client) = self.kept(&self.by_id, id) {
            return Ok(Some(client));
        }
        let client = self.inner.client(id).await?;
        self.keep(&self.by_id, id, &client);
        Ok(client)
    }

    async fn client_for_email(&self, address: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        if let Some(client) = self.kept(&self.by_email, address) {
            return Ok(Some(client));
        }
        let client = self.inner.client_for_email(address).await?;
        self.keep(&self.by_email, address, &client);
        Ok(client)
    }

    async fn healthy(&self) -> Result<(), NotReady> {
        self.inner.healthy().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A directory that counts its lookups and knows one client, `acme`, from `when`.
    struct Counting {
        lookups: AtomicUsize,
        known_from: Instant,
    }

    #[async_trait]
    impl ClientDirectory for Counting {
        async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let known = id == "acme" && Instant::now() >= self.known_from;
            Ok(known.then(|| Arc::new(Client::for_tests("acme", Vec::new()))))
        }

        async fn client_for_email(&self, _: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
            Ok(None)
        }

        async fn healthy(&self) -> Result<(), NotReady> {
            Ok(())
        }
    }

    /// A client found is kept for the moment and read again after it; a client not found is
    /// asked for again at once, so one imported meanwhile is found.
    #[tokio::test]
    async fn keeps_found_clients_for_a_moment_and_no_misses() {
        let keep = Duration::from_millis(200);
        let recent = Recent::new(
            Counting {
                lookups: AtomicUsize::new(0),
                known_from: Instant::now() + Duration::from_millis(100),
            },
            keep,
        );
        assert!(recent.client("acme").await.unwrap().is_none());
        assert!(recent.client("acme").await.unwrap().is_none());
        assert_eq!(recent.inner.lookups.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..5 {
            assert_eq!(recent.client("acme").await.unwrap().unwrap().id, "acme");
        }
        assert_eq!(recent.inner.lookups.load(Ordering::SeqCst), 3);
        tokio::time::sleep(keep).await;
        assert!(recent.client("acme").await.unwrap().is_some());
        assert_eq!(recent.inner.lookups.load(Ordering::SeqCst), 4);
    }
}
