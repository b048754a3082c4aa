//! The real engines the scale-out tests run against: PostgreSQL and NATS JetStream, at the
//! addresses in `TRIAGE_TEST_POSTGRES` / `TRIAGE_TEST_NATS` (the machine's local servers by
//! default). A test fails, never skips, when they cannot be reached. Each test works in its
//! own namespace (a PostgreSQL schema, a JetStream stream and subject prefix) and removes it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The PostgreSQL the tests use.
pub fn postgres_url() -> String {
    std::env::var("TRIAGE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The NATS server (with JetStream) the tests use.
pub fn nats_url() -> String {
    std::env::var("TRIAGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A name no other test (or earlier run) uses: a schema, stream and subject prefix.
pub struct Namespace {
    pub name: String,
}

impl Namespace {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "t_{label}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self { name }
    }

    /// The JetStream stream name.
    pub fn stream(&self) -> String {
        self.name.to_uppercase()
    }

    /// The scale-out part of a server config (TOML) for this namespace.
    pub fn config_toml(&self, with_nats: bool) -> String {
        let mut toml = format!(
            "[postgres]\nurl = {:?}\nschema = {:?}\npool_size = 8\n",
            postgres_url(),
            self.name
        );
        if with_nats {
            toml += &format!(
                "[nats]\nurl = {:?}\nstream = {:?}\nsubject_prefix = {:?}\ntimeout_ms = 1000\n",
                nats_url(),
                self.stream(),
                self.name
            );
        }
        toml
    }

    /// Connects to PostgreSQL in this namespace (migrated).
    pub async fn postgres(&self) -> triage::postgres::Postgres {
        triage::postgres::Postgres::connect(&postgres_url(), Some(&self.name), 4)
            .await
            .unwrap_or_else(|err| panic!("postgres at {} must be running: {err}", postgres_url()))
    }

    /// Drops the schema and the stream.
    pub async fn remove(&self) {
        let pg = self.postgres().await;
        let client = pg.client().await.expect("postgres connection");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
            .await
            .expect("drop the test schema");
        if let Ok(nats) = async_nats::connect(nats_url()).await {
            let _ = async_nats::jetstream::new(nats)
                .delete_stream(self.stream())
                .await;
        }
    }
}
