//! `triage token new`: makes a bearer token of 256 random bits and shows it once, with the
//! `[[tokens]]` table that keeps only its SHA-256 digest.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use triage::config::{Config, Role, TokenConfig};

#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Make a token: the `[[tokens]]` table to add to the config (or the tokens file) goes to
    /// stdout, the token itself to stderr, shown this once and stored nowhere.
    New {
        /// Who holds it: names the holder of leases and audit records.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For a submitter: the clients it may submit for, comma-separated; all when unset.
        #[arg(long, value_delimiter = ',')]
        clients: Vec<String>,
        /// For a specialist: the queues it works on, comma-separated (required).
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text {
        "submitter" | "intake" => Ok(Role::Submitter),
        "specialist" => Ok(Role::Specialist),
        "admin" => Ok(Role::Admin),
        other => Err(format!(
            "unknown role {other:?}: submitter, specialist or admin"
        )),
    }
}

pub fn run(args: TokenArgs) -> Result<()> {
    let TokenAction::New {
        name,
        role,
        clients,
        queues,
    } = args.action;
    anyhow::ensure!(
        clients.is_empty() || role == Role::Submitter,
        "--clients is for a submitter"
    );
    anyhow::ensure!(
        queues.is_empty() || role == Role::Specialist,
        "--queues is for a specialist"
    );
    let mut bits = [0u8; 32];
    getrandom::fill(&mut bits)
        .map_err(|error| anyhow::anyhow!("the system's random source failed: {error}"))?;
    let token: String = bits.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut entry = TokenConfig::new(&name, &token, role);
    entry.clients = clients;
    entry.queues = queues;
    let table = entry.to_toml();
    // The table must be one the server accepts.
    Config::parse(&table).context("the token's table")?;
    eprintln!(
        "token for {name} (shown this once, stored nowhere; the caller passes it as --token or \
         TRIAGE_TOKEN):\n{token}\n\nthe [[tokens]] table on standard output goes into the \
         config or the tokens file; then send the server SIGHUP (kill -HUP <pid>). To revoke the \
         token, remove its table and send SIGHUP again."
    );
    print!("{table}");
    Ok(())
}
