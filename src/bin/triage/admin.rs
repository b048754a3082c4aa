//! `triage admin engines status|remove --config FILE`: what a scaled-out deployment keeps in
//! its engines, read from a server config's `[nats]` and `[postgres]`: the JetStream stream
//! with every consumer of it, and the PostgreSQL schema with its migrations and row counts.
//! `status` changes nothing and prints a missing object as missing; `remove` deletes the
//! stream (its consumers go with it) and drops the schema, and only with `--yes`: without it,
//! it prints what it would remove and exits with status 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::context::{GetStreamError, GetStreamErrorKind};
use async_nats::jetstream::{self, ErrorCode};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;

use triage::config::{Config, NatsConfig, PostgresConfig};
use triage::postgres::{Inventory, Postgres};

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// The engines of a scaled-out deployment: its JetStream stream and PostgreSQL schema.
    #[command(subcommand)]
    Engines(EnginesCommand),
}

#[derive(Subcommand)]
enum EnginesCommand {
    /// Print the stream, its consumers and the schema (changes nothing).
    Status {
        /// The server config whose `[nats]` and `[postgres]` name the engines.
        #[arg(long)]
        config: PathBuf,
    },
    /// Delete the stream (with its consumers) and drop the schema with everything in it.
    Remove {
        /// The server config whose `[nats]` and `[postgres]` name the engines.
        #[arg(long)]
        config: PathBuf,
        /// Remove for real; without it, print what would be removed and exit with status 2.
        #[arg(long)]
        yes: bool,
    },
}

/// The exit status of a `remove` that was not confirmed with `--yes`.
const NOT_CONFIRMED: u8 = 2;

pub fn run(args: AdminArgs) -> Result<ExitCode> {
    let AdminCommand::Engines(command) = args.command;
    crate::runtime()?.block_on(async {
        match command {
            EnginesCommand::Status { config } => {
                let engines = Engines::of(&config)?;
                engines.print_status().await?;
                Ok(ExitCode::SUCCESS)
            }
            EnginesCommand::Remove { config, yes } => Engines::of(&config)?.remove(yes).await,
        }
    })
}

/// The engines a server config names.
struct Engines {
    nats: Option<NatsConfig>,
    postgres: Option<PostgresConfig>,
}

/// A stream as it stands, with its consumers; none when it is missing.
struct StreamStatus {
    info: jetstream::stream::Info,
    consumers: Vec<jetstream::consumer::Info>,
}

impl Engines {
    fn of(path: &Path) -> Result<Self> {
        let config = Config::from_sources(Some(path), None)?;
        let engines = Self {
            nats: config.backend.nats().cloned(),
            postgres: config.backend.postgres().cloned(),
        };
        anyhow::ensure!(
            engines.nats.is_some() || engines.postgres.is_some(),
            "{} configures neither [nats] nor [postgres]: its engines are embedded",
            path.display()
        );
        Ok(engines)
    }

    async fn print_status(&self) -> Result<()> {
        if let Some(nats) = &self.nats {
            println!("nats at {}", nats.url);
            match stream_status(nats).await? {
                None => println!("  stream {}: missing", nats.stream),
                Some(status) => print_stream(&status),
            }
        }
        if let Some(postgres) = &self.postgres {
            let pg = open_postgres(postgres)?;
            println!("postgres at {}", pg.location().address());
            print_inventory(&pg, &pg.inventory().await?);
        }
        Ok(())
    }

    async fn remove(&self, confirmed: bool) -> Result<ExitCode> {
        let pg = self.postgres.as_ref().map(open_postgres).transpose()?;
        if let Some(pg) = &pg {
            anyhow::ensure!(
                pg.location().schema().is_some(),
                "postgres at {}: [postgres] sets no schema, and the user's default schema is \
                 not dropped: drop triage's tables by hand",
                pg.location()
            );
        }
        if !confirmed {
            println!("would remove:");
            if let Some(nats) = &self.nats {
                let present = match stream_status(nats).await? {
                    Some(status) => format!("with {} consumers", status.consumers.len()),
                    None => "missing".into(),
                };
                println!("  nats at {}: stream {} ({present})", nats.url, nats.stream);
            }
            if let Some(pg) = &pg {
                let present = if pg.inventory().await?.schema_exists {
                    "with everything in it"
                } else {
                    "missing"
                };
                println!("  postgres at {}: the schema ({present})", pg.location());
            }
            println!("nothing was removed: run again with --yes to remove it");
            return Ok(ExitCode::from(NOT_CONFIRMED));
        }
        if let Some(nats) = &self.nats {
            let js = connect_nats(nats).await?;
            match js.delete_stream(&nats.stream).await {
                Ok(_) => println!(
                    "nats at {}: deleted stream {} with its consumers",
                    nats.url, nats.stream
                ),
                Err(err) if stream_not_found(&err) => {
                    println!("nats at {}: stream {} was missing", nats.url, nats.stream)
                }
                Err(err) => anyhow::bail!(
                    "nats at {}: cannot delete stream {}: {err}",
                    nats.url,
                    nats.stream
                ),
            }
        }
        if let Some(pg) = &pg {
            if pg.drop_schema().await? {
                println!("postgres at {}: dropped the schema", pg.location());
            } else {
                println!("postgres at {}: the schema was missing", pg.location());
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn open_postgres(config: &PostgresConfig) -> Result<Postgres> {
    Ok(Postgres::open(&config.url, config.schema.as_deref(), 1)?)
}

async fn connect_nats(nats: &NatsConfig) -> Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(nats.url.as_str())
        .await
        .with_context(|| format!("nats at {}: cannot connect", nats.url))?;
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_millis(nats.timeout_ms));
    Ok(js)
}

fn stream_not_found(err: &GetStreamError) -> bool {
    matches!(err.kind(), GetStreamErrorKind::JetStream(err)
        if err.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// The configured stream with its consumers, read without changing them.
async fn stream_status(nats: &NatsConfig) -> Result<Option<StreamStatus>> {
    let js = connect_nats(nats).await?;
    let stream = match js.get_stream(&nats.stream).await {
        Ok(stream) => stream,
        Err(err) if stream_not_found(&err) => return Ok(None),
        Err(err) => anyhow::bail!(
            "nats at {}: cannot read stream {}: {err}",
            nats.url,
            nats.stream
        ),
    };
    let consumers = stream.consumers().try_collect().await.with_context(|| {
        format!(
            "nats at {}: cannot list the consumers of stream {}",
            nats.url, nats.stream
        )
    })?;
    Ok(Some(StreamStatus {
        info: stream.cached_info().clone(),
        consumers,
    }))
}

fn print_stream(status: &StreamStatus) {
    let config = &status.info.config;
    let state = &status.info.state;
    println!(
        "  stream {}: subjects {}, {} messages, {} bytes, {} replicas, duplicate window {} s",
        config.name,
        config.subjects.join(" "),
        state.messages,
        state.bytes,
        config.num_replicas,
        config.duplicate_window.as_secs()
    );
    let mut consumers: Vec<_> = status.consumers.iter().collect();
    consumers.sort_by(|a, b| a.name.cmp(&b.name));
    for consumer in consumers {
        println!(
            "  consumer {}: filter {}, pending {}, ack pending {}, ack wait {} s",
            consumer.name,
            consumer.config.filter_subject,
            consumer.num_pending,
            consumer.num_ack_pending,
            consumer.config.ack_wait.as_secs()
        );
    }
}

fn print_inventory(pg: &Postgres, inventory: &Inventory) {
    let schema = match pg.location().schema() {
        Some(schema) => triage::postgres::quote_identifier(schema),
        None => "(the user's default)".into(),
    };
    if !inventory.schema_exists {
        println!("  schema {schema}: missing");
        return;
    }
    println!("  schema {schema}");
    match &inventory.migrations {
        Some(applied) if !applied.is_empty() => println!("  migrations {}", applied.join(", ")),
        _ => println!("  migrations: none applied"),
    }
    for table in &inventory.tables {
        match table.rows {
            Some(rows) => println!("  table {}: {rows} rows", table.table),
            None => println!("  table {}: missing", table.table),
        }
    }
}
