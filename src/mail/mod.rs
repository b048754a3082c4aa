//! The email-ingest worker: a mailbox in, inquiries over gRPC (`SubmitStream`), decisions
//! acted on, nothing dropped.
//!
//! - [`mailbox`]: the sources (a Maildir's `new/`, `.eml` and mbox files) and the [`Spool`]
//!   folders beside them (outbox, quarantine, journal).
//! - [`parse`]: MIME → the inquiry's id, sender, subject, text, thread.
//! - [`strip`]: quoted history and signatures cut before classifying.
//! - [`reply`]: the outbox `.eml` answering a mail.
//! - [`journal`]: one record per handled mail, synced before the mail moves.
//! - [`sample`]: a seeded Maildir of real-shaped mails, for tests and measurements.
//! - [`worker`]: the loop, with the in-flight window and the backoff; `handle` turns one
//!   response into what becomes of the mail, `sink` commits groups of handled mails.
//!
//! Every step after a decision is idempotent (the reply named after the inquiry id, the journal
//! keyed by it, moves by rename), and the server replays the decision of an inquiry id it has
//! seen: a worker killed at any point and started again handles each mail exactly once.

mod backoff;
mod handle;
pub mod journal;
pub mod mailbox;
pub mod parse;
pub mod reply;
pub mod sample;
mod sink;
pub mod strip;
pub mod worker;

use std::io;

pub use journal::{Journal, MailOutcome, MailRecord};
pub use mailbox::{Maildir, Origin, RawMail, Spool, read_files};
pub use sink::{Sink, Summary};
pub use worker::{Worker, WorkerOptions};

/// Why the worker stopped; mails not yet handled stay where they are.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("the server refused the worker: {0}")]
    Refused(String),
}
