//! `triage ingest`: the email-ingest worker over a Maildir or mail files, and `triage
//! sample-maildir`, the seeded Maildir its tests and measurements run on.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use triage::answer::StatusStore;
use triage::mail::{Maildir, Sink, Spool, Summary, Worker, WorkerOptions, read_files};
use triage::pack::Pack;

use crate::remote::Connection;
use crate::runtime;
use crate::sample;

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    connection: Connection,
    /// A Maildir: mail is taken from new/ and moved to cur/ once decided; outbox/,
    /// quarantine/ and .triage/journal.jsonl are kept in it.
    #[arg(long, conflicts_with = "files", required_unless_present = "files")]
    maildir: Option<PathBuf>,
    /// .eml or mbox files, instead of a Maildir; they are left as they are.
    files: Vec<PathBuf>,
    /// Where outbox/, quarantine/ and .triage/ go when reading files.
    #[arg(long, default_value = "triage-ingest")]
    state_dir: PathBuf,
    /// Keep watching new/ for mail (polled) until Ctrl-C.
    #[arg(long, requires = "maildir")]
    watch: bool,
    /// Milliseconds between two looks at new/ in watch mode.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// The helpdesk's address: the From of the replies.
    #[arg(long, default_value = "helpdesk@localhost")]
    from_address: String,
    /// Inquiries in flight at once (a wider window also makes larger group commits).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// The longest wait, in seconds, between attempts to reach the server.
    #[arg(long, default_value_t = 10)]
    max_backoff: u64,
    /// Days no automatic mail goes to an address after it bounced permanently (5.x.x).
    #[arg(long, default_value_t = 7)]
    bounce_pause_days: u64,
}

pub fn ingest(args: IngestArgs) -> Result<()> {
    let options = WorkerOptions {
        endpoint: args.connection.endpoint()?,
        authorization: args.connection.authorization()?,
        window: args.batch.max(1),
        from_address: args.from_address.clone(),
        max_backoff: Duration::from_secs(args.max_backoff.max(1)),
    };
    let root = args
        .maildir
        .clone()
        .unwrap_or_else(|| args.state_dir.clone());
    let sink = Sink::open(Spool::under(&root))?.with_bounce_pause(Duration::from_secs(
        args.bounce_pause_days.saturating_mul(24 * 3600),
    ));
    let mut worker = Worker::new(options, sink);
    let started = Instant::now();
    let summary: Summary = runtime()?.block_on(async {
        match &args.maildir {
            Some(dir) => {
                let maildir = Maildir::open(dir)
                    .with_context(|| format!("cannot open the Maildir {}", dir.display()))?;
                let watch = args
                    .watch
                    .then(|| Duration::from_millis(args.poll_ms.max(10)));
                let stop = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                Ok::<_, anyhow::Error>(worker.run_maildir(&maildir, watch, stop).await?)
            }
            None => Ok(worker.run(read_files(&args.files)?).await?),
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "processed {} · answered {} · routed {} · quarantined {} · automatic {} · replies withheld {} · duplicates {} · {:.2} s ({:.0} mails/s)",
        summary.processed,
        summary.answered,
        summary.routed,
        summary.quarantined,
        summary.automatic,
        summary.withheld,
        summary.duplicates,
        seconds,
        summary.processed as f64 / seconds.max(1e-9)
    );
    Ok(())
}

#[derive(Args)]
pub struct SampleArgs {
    /// The Maildir to write into (its new/).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 5000)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The pack whose test texts and client addresses are used.
    #[arg(long, default_value = "data/agency")]
    pack: PathBuf,
}

pub fn sample_maildir(args: SampleArgs) -> Result<()> {
    let pack =
        Pack::load(&args.pack).with_context(|| format!("cannot load {}", args.pack.display()))?;
    let status = StatusStore::for_pack(&pack, jiff::Timestamp::now())?.snapshot();
    let written = sample::write_maildir(&pack, &status, &args.out, args.count, args.seed)
        .with_context(|| format!("cannot write the sample Maildir {}", args.out.display()))?;
    println!("{written} mails in {}", args.out.join("new").display());
    Ok(())
}
