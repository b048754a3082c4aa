//! PostgreSQL, the scaled-out home of status data, decisions and the ticket ledger: the
//! connection pool and the schema migrations (`migrations/*.sql`, applied in order at start,
//! once per database, under an advisory lock so replicas starting together do not race). The
//! stores themselves live beside the contracts they implement: the client directory in
//! `answer::directory`, the JetStream queue's ledger in `route::jetstream`.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

/// The migrations, in the order they apply; a name is recorded once applied.
const MIGRATIONS: [(&str, &str); 4] = [
    ("0001_init", include_str!("migrations/0001_init.sql")),
    (
        "0002_random_lease_tokens",
        include_str!("migrations/0002_random_lease_tokens.sql"),
    ),
    ("0003_threads", include_str!("migrations/0003_threads.sql")),
    (
        "0004_ticket_ids",
        include_str!("migrations/0004_ticket_ids.sql"),
    ),
];

/// Held while migrating; any constant shared by all replicas works.
const MIGRATION_LOCK: i64 = 0x7472_6961_6765;

/// Why PostgreSQL could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error("postgres url {url:?} is not valid: {source}")]
    BadUrl {
        url: String,
        source: tokio_postgres::Error,
    },
    #[error("postgres is unavailable: {0}")]
    Unavailable(String),
    #[error("postgres {what} failed: {source}")]
    Query {
        what: String,
        source: tokio_postgres::Error,
    },
}

impl PostgresError {
    /// A failed statement or connection, saying what was being done.
    pub(crate) fn query(what: impl Into<String>, source: tokio_postgres::Error) -> Self {
        if source.is_closed() || source.as_db_error().is_none() {
            return Self::Unavailable(format!("{}: {source}", what.into()));
        }
        Self::Query {
            what: what.into(),
            source,
        }
    }
}

/// Maps a failed statement to the error saying what was being done (`.map_err(failed(..))`).
pub(crate) fn failed(
    what: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> PostgresError {
    move |err| PostgresError::query(what, err)
}

/// A pool of connections to one database (and schema), migrated.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

impl Postgres {
    /// Connects to `url` (a `postgres://` URL or a `key=value` string) with up to `max_size`
    /// connections, using `schema` (created if missing) when given, and applies the
    /// migrations. Fails with a clear message when the server cannot be reached.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        max_size: usize,
    ) -> Result<Self, PostgresError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|source| PostgresError::BadUrl {
                url: url.to_owned(),
                source,
            })?;
        config.connect_timeout(Duration::from_secs(5));
        if let Some(schema) = schema {
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|err| PostgresError::Unavailable(format!("building the pool: {err}")))?;
        let postgres = Self { pool };
        let client = postgres.client().await?;
        if let Some(schema) = schema {
            let create = format!(
                "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                schema.replace('"', "")
            );
            client
                .batch_execute(&create)
                .await
                .map_err(failed("creating the schema"))?;
        }
        drop(client);
        postgres.migrate().await?;
        Ok(postgres)
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, PostgresError> {
        self.pool
            .get()
            .await
            .map_err(|err| PostgresError::Unavailable(format!("no connection: {err}")))
    }

    /// Whether the server answers a trivial query now.
    pub async fn ping(&self) -> bool {
        match self.client().await {
            Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// Applies the migrations not yet recorded in `schema_migrations`, all in one transaction.
    async fn migrate(&self) -> Result<(), PostgresError> {
        let mut client = self.client().await?;
        let txn = client
            .transaction()
            .await
            .map_err(failed("starting the migration"))?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(failed("taking the migration lock"))?;
        txn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name text PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(failed("creating schema_migrations"))?;
        for (name, sql) in MIGRATIONS {
            let applied = txn
                .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[&name])
                .await
                .map_err(failed("reading schema_migrations"))?;
            if applied.is_some() {
                continue;
            }
            txn.batch_execute(sql)
                .await
                .map_err(failed(format!("migration {name}")))?;
            txn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[&name])
                .await
                .map_err(failed("recording a migration"))?;
            tracing::info!(migration = name, "applied postgres migration");
        }
        txn.commit()
            .await
            .map_err(failed("committing the migrations"))
    }
}
