//! PostgreSQL, the scaled-out home of status data, decisions and the ticket ledger: the
//! connection pool and the schema migrations (`migrations/*.sql`, applied in order at start,
//! once per database, under an advisory lock so replicas starting together do not race, in
//! one transaction with the schema's creation), the quoting of identifiers, and a deployment's
//! [`Inventory`] for operators. The stores themselves live beside the contracts they implement: the client directory in
//! `answer::directory`, the JetStream queue's ledger in `route::jetstream`, the ratings in `feedback`.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

mod error;
mod inventory;

pub use error::PostgresError;
pub(crate) use error::failed;
use error::{describe, describe_pool, without_password};
pub use inventory::{Inventory, TableRows};

/// The migrations, in the order they apply; a name is recorded once applied.
const MIGRATIONS: [(&str, &str); 9] = [
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
    (
        "0005_dead_letter_actions",
        include_str!("migrations/0005_dead_letter_actions.sql"),
    ),
    (
        "0006_feedback",
        include_str!("migrations/0006_feedback.sql"),
    ),
    ("0007_replies", include_str!("migrations/0007_replies.sql")),
    (
        "0008_audit_waits",
        include_str!("migrations/0008_audit_waits.sql"),
    ),
    (
        "0009_decision_times",
        include_str!("migrations/0009_decision_times.sql"),
    ),
];

/// Held while migrating; any constant shared by all replicas works.
const MIGRATION_LOCK: i64 = 0x7472_6961_6765;

/// Where a pool connects, as operators read it: `host:port/database` and the schema, never
/// the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    address: String,
    schema: Option<String>,
}

impl Location {
    fn of(config: &tokio_postgres::Config, schema: Option<&str>) -> Self {
        let ports = config.get_ports();
        let port = |n: usize| ports.get(n).or(ports.first()).copied().unwrap_or(5432);
        let mut hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(n, host)| match host {
                Host::Tcp(name) => format!("{name}:{}", port(n)),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}:{}", dir.display(), port(n)),
            })
            .collect();
        if hosts.is_empty() {
            hosts = config
                .get_hostaddrs()
                .iter()
                .enumerate()
                .map(|(n, addr)| format!("{addr}:{}", port(n)))
                .collect();
        }
        let database = config.get_dbname().or(config.get_user()).unwrap_or("");
        Self {
            address: format!("{}/{database}", hosts.join(",")),
            schema: schema.map(str::to_owned),
        }
    }

    /// `host:port/database` (hosts separated by commas).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The schema triage's tables are in; none for the user's default.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{} (schema {})", self.address, quote_identifier(schema)),
            None => f.write_str(&self.address),
        }
    }
}

/// `name` as an SQL identifier: in double quotes, an inner `"` doubled. Every schema name
/// triage puts into SQL (or into the search path) goes through here, so a name is the same
/// object everywhere, whatever its case and characters.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as one word of the `options` connection parameter, which the server splits at
/// blanks: a blank or backslash in it is escaped with a backslash.
fn option_word(value: &str) -> String {
    let mut word = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_whitespace() || c == '\\' {
            word.push('\\');
        }
        word.push(c);
    }
    word
}

/// A pool of connections to one database (and schema), migrated.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    location: Arc<Location>,
}

impl Postgres {
    /// Connects to `url` (a `postgres://` URL or a `key=value` string) with up to `max_size`
    /// connections, using `schema` when given, and applies the migrations; the schema is
    /// created (when missing) in the migrations' transaction, so a failure leaves nothing
    /// behind. An error names the address and schema and says why.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        max_size: usize,
    ) -> Result<Self, PostgresError> {
        let postgres = Self::open(url, schema, max_size)?;
        postgres.migrate().await?;
        Ok(postgres)
    }

    /// The pool for `url` and `schema`, without connecting, creating or migrating anything
    /// (for looking at a deployment as it is).
    pub fn open(url: &str, schema: Option<&str>, max_size: usize) -> Result<Self, PostgresError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|err| PostgresError::BadUrl {
                url: without_password(url),
                cause: describe(&err),
            })?;
        config.connect_timeout(Duration::from_secs(5));
        if let Some(schema) = schema {
            let search_path = option_word(&format!("search_path={}", quote_identifier(schema)));
            let options = match config.get_options() {
                Some(given) => format!("{given} -c {search_path}"),
                None => format!("-c {search_path}"),
            };
            config.options(options);
        }
        let location = Arc::new(Location::of(&config, schema));
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
            .map_err(|err| PostgresError::At {
                at: location.to_string(),
                what: "cannot build the connection pool".into(),
                cause: err.to_string(),
            })?;
        Ok(Self { pool, location })
    }

    /// Where the pool connects.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, PostgresError> {
        self.pool.get().await.map_err(|err| {
            PostgresError::Unavailable(format!(
                "no connection to {}: {}",
                self.location.address,
                describe_pool(&err)
            ))
        })
    }

    /// Whether the server answers a trivial query now.
    pub async fn ping(&self) -> bool {
        match self.client().await {
            Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// A connection for work whose errors name the address: start-up and inspection.
    async fn connection_at(&self) -> Result<deadpool_postgres::Object, PostgresError> {
        self.pool.get().await.map_err(|err| PostgresError::At {
            at: self.location.to_string(),
            what: "cannot connect".into(),
            cause: describe_pool(&err),
        })
    }

    /// Maps a failed statement to an error naming the address and saying what failed.
    fn failed_at(&self, what: &str) -> impl FnOnce(tokio_postgres::Error) -> PostgresError + use<> {
        let (at, what) = (self.location.to_string(), what.to_owned());
        move |err| PostgresError::At {
            at,
            what,
            cause: describe(&err),
        }
    }

    /// Creates the schema when missing and applies the migrations not yet recorded in
    /// `schema_migrations`, all in one transaction.
    async fn migrate(&self) -> Result<(), PostgresError> {
        let mut client = self.connection_at().await?;
        let txn = client
            .transaction()
            .await
            .map_err(self.failed_at("cannot start the migration"))?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(self.failed_at("cannot take the migration lock"))?;
        if let Some(schema) = self.location.schema() {
            txn.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_identifier(schema)
            ))
            .await
            .map_err(self.failed_at("cannot create the schema"))?;
        }
        txn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name text PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(self.failed_at("cannot create schema_migrations"))?;
        for (name, sql) in MIGRATIONS {
            let applied = txn
                .query_opt("SELECT 1 FROM schema_migrations WHERE name = $1", &[&name])
                .await
                .map_err(self.failed_at("cannot read schema_migrations"))?;
            if applied.is_some() {
                continue;
            }
            txn.batch_execute(sql)
                .await
                .map_err(self.failed_at(&format!("migration {name} failed")))?;
            txn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[&name])
                .await
                .map_err(self.failed_at("cannot record a migration"))?;
            tracing::info!(migration = name, "applied postgres migration");
        }
        txn.commit()
            .await
            .map_err(self.failed_at("cannot commit the migrations"))
    }
}
