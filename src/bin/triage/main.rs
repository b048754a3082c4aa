//! The `triage` command: parses arguments, sets up logging and calls the library.

mod activity;
mod admin;
mod bench;
mod engine;
mod import;
mod ingest;
mod remote;
mod sample;
mod serve;
mod store;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The service allocates and frees small buffers on many threads at once (request workers
/// build what the writer thread frees); mimalloc's per-thread heaps spare it glibc's arena
/// locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Helpdesk triage: classify, answer, route")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC triage and specialist services (embedded defaults without --config).
    Serve {
        /// A TOML configuration file; every key is optional.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Scaled out: rewrite the shared stream, consumers and recorded settings to this
        /// replica's where they differ, instead of refusing to start.
        #[arg(long)]
        migrate: bool,
    },
    /// Train a pack's model and write it to models/<pack> (or --out); a model below the
    /// pack's quality floors (`[quality]` in pack.toml) is refused.
    Train {
        #[arg(long)]
        pack: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the model even when it falls short of the pack's quality floors.
        #[arg(long)]
        accept_low_quality: bool,
    },
    /// Train on a pack's train.csv, test on its test.csv, print the report; the last stdout
    /// line is the report as JSON.
    Eval {
        #[arg(long)]
        pack: PathBuf,
    },
    /// Classify one text with a pack's trained model and explain the decision; with the text
    /// `-`, classify each line of standard input and print one JSON decision per line.
    Classify {
        #[arg(long)]
        pack: PathBuf,
        /// The model folder; models/<pack> by default.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
        /// Answer a direct inquiry from this client's status data in the pack, and show the
        /// answer and the variant of its template it is written in.
        #[arg(long)]
        client: Option<String>,
        /// The inquiry's sender (an email address): a contact of the client is answered in
        /// their language and role. Needs --client.
        #[arg(long, requires = "client")]
        sender: Option<String>,
        text: String,
    },
    /// Submit one inquiry to a running server and print the decision.
    Ask(remote::AskArgs),
    /// Show what became of an inquiry: its state, decision, ticket and the replies sent.
    Inquiry(remote::InquiryArgs),
    /// Work on specialist queues of a running server.
    Queue(remote::QueueArgs),
    /// The clients' ratings of answers (CSAT, CES) by intent and by queue, and how well the
    /// expected waits told were kept by queue, from a running server (an admin token).
    Feedback(remote::FeedbackArgs),
    /// The inquiries decided today (or since a time) by tier, intent and channel, with the
    /// deflection, escalations and no replies, from a running server (an admin token).
    Activity(activity::ActivityArgs),
    /// Load a pack's status data into PostgreSQL (for `[postgres]` in the server config).
    Import(import::ImportArgs),
    /// Load a running server over gRPC: Ping (the ceiling) and Submit, alternating, in one run.
    Bench(bench::BenchArgs),
    /// Write a bench workload (the inquiries it sends) from a pack's test rows.
    #[command(hide = true)]
    BenchWorkload(bench::WorkloadArgs),
    /// The email-ingest worker: mail from a Maildir (or .eml/mbox files) submitted over
    /// SubmitStream; replies into an outbox, tickets into the journal, nothing dropped.
    Ingest(ingest::IngestArgs),
    /// Check the embedded queue's file, with the server stopped.
    Store(store::StoreArgs),
    /// Make bearer tokens for the server's config.
    Token(token::TokenArgs),
    /// Look at or remove what a scaled-out deployment keeps in NATS and PostgreSQL.
    Admin(admin::AdminArgs),
    /// Write a seeded Maildir of sample mails (for tests and measurements).
    #[command(hide = true)]
    SampleMaildir(ingest::SampleArgs),
}

/// The multi-threaded runtime every async command runs on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn main() -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // PostgreSQL's notices ("schema … already exists, skipping") are the driver's info.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let done = match Cli::parse().command {
        // The one command with an exit status beyond success and failure.
        Command::Admin(args) => return admin::run(args),
        Command::Serve { config, migrate } => serve::run(config.as_deref(), migrate),
        Command::Train {
            pack,
            out,
            accept_low_quality,
        } => engine::run_train(&pack, out, accept_low_quality),
        Command::Eval { pack } => engine::run_eval(&pack),
        Command::Classify {
            pack,
            model,
            json,
            client,
            sender,
            text,
        } => {
            let asker = client.map(|client| engine::Asker { client, sender });
            engine::run_classify(&pack, model, json, asker, &text)
        }
        Command::Ask(args) => remote::ask(args),
        Command::Inquiry(args) => remote::inquiry(args),
        Command::Import(args) => import::run(args),
        Command::Queue(args) => remote::queue(args),
        Command::Feedback(args) => remote::feedback(args),
        Command::Activity(args) => activity::activity(args),
        Command::Bench(args) => bench::bench(args),
        Command::BenchWorkload(args) => bench::write_workload(args),
        Command::Ingest(args) => ingest::ingest(args),
        Command::SampleMaildir(args) => ingest::sample_maildir(args),
        Command::Store(args) => store::run(args),
        Command::Token(args) => token::run(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}
