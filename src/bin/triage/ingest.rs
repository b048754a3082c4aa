//! `triage ingest`: the email-ingest worker over a Maildir or mail files, and `triage
//! sample-maildir`, the seeded Maildir its tests and measurements run on.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use triage::answer::StatusStore;
use triage::mail::worker::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_MAIL_BYTES, DEFAULT_RATING_ASK_DELAY,
    DEFAULT_RESPONSE_TIMEOUT, DEFAULT_WINDOW,
};
use triage::mail::{GuardLimits, Incoming, Maildir, Sink, Spool, Summary, Worker, WorkerOptions};
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
    /// Inquiries in flight at once, and the most mails the worker holds in memory (a wider
    /// window also makes larger group commits).
    #[arg(long, default_value_t = DEFAULT_WINDOW)]
    batch: usize,
    /// The longest wait, in seconds, between attempts to reach the server.
    #[arg(long, default_value_t = 10)]
    max_backoff: u64,
    /// Days no automatic mail goes to an address after it bounced permanently (5.x.x).
    #[arg(long, default_value_t = 7)]
    bounce_pause_days: u64,
    /// The largest mail read, in bytes; a larger one goes to the quarantine unread.
    #[arg(long, default_value_t = DEFAULT_MAX_MAIL_BYTES)]
    max_mail_bytes: u64,
    /// Automatic replies to one address within any hour; one more pauses automatic replies to
    /// it for --reply-period-hours and hands its mail to a person. 0: no cap.
    #[arg(long, default_value_t = GuardLimits::default().per_hour)]
    max_replies_per_hour: usize,
    /// Automatic replies to one address in one thread within --reply-period-hours; one more
    /// pauses automatic replies to it and hands its mail to a person. 0: no cap.
    #[arg(long, default_value_t = GuardLimits::default().per_thread)]
    max_replies_per_thread: usize,
    /// Hours within which the same reply is not sent twice to an address, the thread cap
    /// counts, and an address that reached a cap stays paused. 0: no repeat check.
    #[arg(long, default_value_t = GuardLimits::default().period_ms as u64 / 3_600_000)]
    reply_period_hours: u64,
    /// The longest wait, in seconds, to connect to the server.
    #[arg(long, default_value_t = DEFAULT_CONNECT_TIMEOUT.as_secs())]
    connect_timeout: u64,
    /// The longest wait, in seconds, for the server's next response while mails are in flight
    /// (opening the stream included); the stream is then opened again.
    #[arg(long, default_value_t = DEFAULT_RESPONSE_TIMEOUT.as_secs())]
    response_timeout: u64,
    /// Minutes after an answer (automatic, or a specialist's reply) that the client is asked
    /// by mail to rate it (a one-digit reply, or a link); the ask goes out at the first pass
    /// after that (Maildir only).
    #[arg(long, default_value_t = DEFAULT_RATING_ASK_DELAY.as_secs() / 60)]
    rating_ask_after_minutes: u64,
    /// Never ask clients to rate answers (their one-digit replies are still taken as ratings).
    #[arg(long)]
    no_rating_asks: bool,
}

pub fn ingest(args: IngestArgs) -> Result<()> {
    let options = WorkerOptions {
        endpoint: args.connection.endpoint()?,
        authorization: args.connection.authorization()?,
        window: args.batch.max(1),
        from_address: args.from_address.clone(),
        max_backoff: Duration::from_secs(args.max_backoff.max(1)),
        max_mail_bytes: args.max_mail_bytes,
        guard: GuardLimits {
            per_hour: args.max_replies_per_hour,
            per_thread: args.max_replies_per_thread,
            period_ms: i64::try_from(args.reply_period_hours)
                .unwrap_or(i64::MAX)
                .saturating_mul(3_600_000),
        },
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        response_timeout: Duration::from_secs(args.response_timeout.max(1)),
        rating_ask_delay: (!args.no_rating_asks)
            .then(|| Duration::from_secs(args.rating_ask_after_minutes.saturating_mul(60))),
    };
    let root = args
        .maildir
        .clone()
        .unwrap_or_else(|| args.state_dir.clone());
    let sink = Sink::open(Spool::under(&root))?.with_bounce_pause(Duration::from_secs(
        args.bounce_pause_days.saturating_mul(24 * 3600),
    ));
    let mut worker = Worker::new(options, sink)?;
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
            None => Ok(worker
                .run(Incoming::files(&args.files, args.max_mail_bytes))
                .await?),
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "processed {} · answered {} · routed {} (acknowledged {}, handed to a person {}) · \
         quarantined {} · automatic {} · replies withheld {} · duplicates {} · answered before {} · \
         specialists' replies sent {} · ratings {} (asked {}) · {:.2} s ({:.0} mails/s)",
        summary.processed,
        summary.answered,
        summary.routed,
        summary.acknowledged,
        summary.handed_off,
        summary.quarantined,
        summary.automatic,
        summary.withheld,
        summary.duplicates,
        summary.answered_before,
        summary.replies_delivered,
        summary.ratings,
        summary.ratings_asked,
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
    /// An attachment of this many KiB in every mail (0: none).
    #[arg(long, default_value_t = 0)]
    attachment_kib: usize,
}

pub fn sample_maildir(args: SampleArgs) -> Result<()> {
    let pack =
        Pack::load(&args.pack).with_context(|| format!("cannot load {}", args.pack.display()))?;
    let status = StatusStore::for_pack(&pack, jiff::Timestamp::now())?.snapshot();
    let attachment_bytes = args.attachment_kib.saturating_mul(1024);
    let written = sample::write_maildir(
        &pack,
        &status,
        &args.out,
        args.count,
        args.seed,
        attachment_bytes,
    )
    .with_context(|| format!("cannot write the sample Maildir {}", args.out.display()))?;
    println!("{written} mails in {}", args.out.join("new").display());
    Ok(())
}
