//! The email-ingest worker: a mailbox in, inquiries over gRPC (`SubmitStream`), decisions
//! acted on, nothing dropped. It is a client of the service like any other: it sends each
//! mail's sender address, and the server maps the sender to a client.
//!
//! - [`mailbox`]: the sources (a Maildir's `new/`, `.eml` and mbox files), read one mail at a
//!   time ([`Incoming`]), and the [`Spool`] folders beside them (outbox, quarantine, journal).
//! - [`parse`]: MIME → the inquiry's id, sender, subject, text, thread.
//! - [`kind`]: a person's mail or a machine's (out-of-office, auto-reply, bounce, bulk);
//!   [`bounce`] reads delivery reports, [`suppression`] pauses mail to bounced addresses.
//! - [`body`]: which text is the body and whether the MIME structure holds; [`decode`] turns a
//!   part's bytes into text (transfer encoding, charset detection, HTML).
//! - [`strip`]: quoted history and signatures cut before classifying.
//! - [`reply`]: the outbox `.eml` answering a mail, or acknowledging one a person will answer,
//!   marked as an automatic reply; [`outgoing`]: the specialists' replies, read from the server
//!   and put into the outbox; [`rating`]: the asks for a rating after an answer, and the
//!   clients' one-digit replies passed on as ratings.
//! - [`guard`]: the loop breaker: no same reply twice to an address, caps per hour and thread,
//!   a pause after a burst; a held answer goes to a person.
//! - [`journal`]: one record per handled mail, synced before the mail moves, and the
//!   submissions that tell this spool's decisions from another's.
//! - [`worker`]: the loop, with the in-flight window and the backoff; `handle` turns one
//!   response into what becomes of the mail, `sink` commits groups of handled mails.
//!
//! Every step after a decision is idempotent (the reply named after the inquiry id, the journal
//! keyed by it, moves by rename), and the server replays the decision of an inquiry id it has
//! seen: a worker killed at any point and started again handles each mail exactly once. A
//! replayed answer this spool never asked for (a fresh copy of the mailbox) writes no second
//! reply.

mod backoff;
pub mod body;
pub mod bounce;
pub mod decode;
pub mod guard;
mod handle;
pub mod journal;
mod jsonl;
pub mod kind;
pub mod mailbox;
pub mod outgoing;
pub mod parse;
pub mod rating;
pub mod reply;
mod sink;
pub mod strip;
pub mod suppression;
pub mod worker;

use std::io;

pub use guard::{GuardLimits, Hold};
pub use handle::read_mail;
pub use journal::{Journal, MailOutcome, MailRecord};
pub use kind::MailKind;
pub use mailbox::{Incoming, Maildir, Origin, RawMail, Spool};
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
