//! `Inventory`: what a deployment keeps in PostgreSQL, read without creating or changing
//! anything (what `triage admin engines status` prints), and dropping it (`remove`). A schema
//! or table that is not there is reported missing, not as an error.

use super::{Postgres, PostgresError, quote_identifier};

/// The tables whose rows the inventory counts: status data, decisions and the ticket ledger.
const COUNTED_TABLES: [&str; 6] = [
    "clients",
    "decisions",
    "leases",
    "thread_tickets",
    "dead_letters",
    "audit",
];

/// A deployment's objects in PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Whether the schema exists (the configured one, else the user's current one).
    pub schema_exists: bool,
    /// The migrations applied, in order; none when `schema_migrations` is missing.
    pub migrations: Option<Vec<String>>,
    /// The counted tables with their rows, in a fixed order.
    pub tables: Vec<TableRows>,
}

/// One table and its rows; none when the table is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: Option<i64>,
}

impl Postgres {
    /// Reads what the deployment holds, changing nothing; an error names the address, the
    /// object and the cause.
    pub async fn inventory(&self) -> Result<Inventory, PostgresError> {
        let client = self.connection_at().await?;
        let schema_exists = match self.location.schema() {
            Some(schema) => self.schema_exists(&client, schema).await?,
            None => client
                .query_one("SELECT current_schema() IS NOT NULL", &[])
                .await
                .map_err(self.failed_at("cannot look the current schema up"))?
                .get(0),
        };
        let mut inventory = Inventory {
            schema_exists,
            migrations: None,
            tables: COUNTED_TABLES
                .iter()
                .map(|&table| TableRows { table, rows: None })
                .collect(),
        };
        if !schema_exists {
            return Ok(inventory);
        }
        if self.table_exists(&client, "schema_migrations").await? {
            let rows = client
                .query(
                    &format!(
                        "SELECT name FROM {} ORDER BY name",
                        self.qualified("schema_migrations")
                    ),
                    &[],
                )
                .await
                .map_err(self.failed_at("cannot read schema_migrations"))?;
            inventory.migrations = Some(rows.iter().map(|row| row.get(0)).collect());
        }
        for counted in &mut inventory.tables {
            if !self.table_exists(&client, counted.table).await? {
                continue;
            }
            let row = client
                .query_one(
                    &format!("SELECT count(*) FROM {}", self.qualified(counted.table)),
                    &[],
                )
                .await
                .map_err(self.failed_at(&format!("cannot count the rows of {}", counted.table)))?;
            counted.rows = Some(row.get(0));
        }
        Ok(inventory)
    }

    /// Drops the configured schema with everything in it; false when it was not there. The
    /// user's default schema (no schema configured) is never dropped.
    pub async fn drop_schema(&self) -> Result<bool, PostgresError> {
        let Some(schema) = self.location.schema() else {
            return Err(PostgresError::At {
                at: self.location.to_string(),
                what: "cannot drop the schema".into(),
                cause: "no schema is configured, and the user's default schema is not dropped"
                    .into(),
            });
        };
        let client = self.connection_at().await?;
        let existed = self.schema_exists(&client, schema).await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                quote_identifier(schema)
            ))
            .await
            .map_err(self.failed_at("cannot drop the schema"))?;
        Ok(existed)
    }

    /// `table` in the configured schema, quoted; unqualified (the search path's) without one.
    fn qualified(&self, table: &str) -> String {
        match self.location.schema() {
            Some(schema) => format!("{}.{}", quote_identifier(schema), quote_identifier(table)),
            None => quote_identifier(table),
        }
    }

    async fn schema_exists(
        &self,
        client: &tokio_postgres::Client,
        schema: &str,
    ) -> Result<bool, PostgresError> {
        Ok(client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&schema],
            )
            .await
            .map_err(self.failed_at("cannot look the schema up"))?
            .get(0))
    }

    async fn table_exists(
        &self,
        client: &tokio_postgres::Client,
        table: &str,
    ) -> Result<bool, PostgresError> {
        Ok(client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&self.qualified(table)],
            )
            .await
            .map_err(self.failed_at(&format!("cannot look table {table} up")))?
            .get(0))
    }
}
