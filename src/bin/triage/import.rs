//! `triage import`: loads a pack's validated status data into PostgreSQL, replacing what the
//! database held, so scaled-out replicas answer from it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use triage::answer::PgStatus;
use triage::answer::StatusStore;
use triage::pack::Pack;
use triage::postgres::Postgres;

#[derive(Args)]
pub struct ImportArgs {
    /// The pack whose `status.json` is loaded.
    #[arg(long)]
    pack: PathBuf,
    /// The database, as a `postgres://` URL.
    #[arg(long, env = "TRIAGE_POSTGRES_URL")]
    postgres: String,
    /// The schema (as in the server's `[postgres] schema`).
    #[arg(long)]
    schema: Option<String>,
}

pub fn run(args: ImportArgs) -> Result<()> {
    let pack = Pack::load(&args.pack)?;
    let status = StatusStore::for_pack(&pack, jiff::Timestamp::now())?;
    let data = status.snapshot();
    crate::runtime()?.block_on(async {
        let pg = Postgres::connect(&args.postgres, args.schema.as_deref(), 1)
            .await
            .context("cannot use postgres")?;
        let (clients, entities) = PgStatus::new(pg).import(&data).await?;
        println!(
            "imported {clients} clients and {entities} entities of pack {} into postgres",
            pack.name
        );
        Ok(())
    })
}
