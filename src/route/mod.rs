//! The specialist ticket queues of triage: the contract the service works against
//! ([`TicketQueue`], `contract.rs`) with its types (tickets, leases and their random
//! [`LeaseToken`]s, decisions, threads and their follow-ups, dead letters and what was done
//! with them, audit records, corrections, stats,
//! errors) and its two backends, each in its own module:
//! - `embedded/`: [`EmbeddedQueue`], one machine, the default: everything in one redb file
//!   with a group-committing writer;
//! - `jetstream/`: [`JetStreamQueue`], several replicas: tickets in NATS JetStream, and
//!   decisions, leases, threads' open tickets and follow-ups, dead letters, audit records and
//!   corrections in its PostgreSQL [`Ledger`].
//!
//! Both pass one contract suite (`tests/queue_contract.rs`). Decisions cross the contract as
//! the caller's own serializable type ([`DecisionRecord`]); the queue stores them without
//! looking inside and gives the same type back, with the id of the ticket it assigned.

mod clock;
mod contract;
mod dead_letter;
mod decision;
mod embedded;
mod error;
mod history;
mod jetstream;
mod lease_token;
mod stats;
mod thread;
mod ticket;

pub use clock::{Clock, ManualClock, SystemClock};
pub use contract::TicketQueue;
pub use dead_letter::{DeadLetter, DeadLetterAction, DeadLetterOutcome};
pub use decision::{DecisionRecord, Recorded, StoredDecision};
pub use embedded::{
    ARCHIVE_DIR, Compaction, EmbeddedQueue, FileCheck, QueueSettings, Retention, SweepReport,
    TableUsage, check_store, compact_store, store_usage,
};
pub use error::{ErrorKind, RouteError};
pub use history::{AuditRecord, Correction, QueuedAs, Resolution, SentReply};
pub use jetstream::{JetStreamQueue, JetStreamSettings, Ledger, OnDrift};
pub use lease_token::{LeaseToken, MalformedLeaseToken};
pub use stats::{NextReady, QueueStats};
pub use thread::{Attached, FollowUp, MAX_FOLLOW_UPS, NewFollowUp, ThreadTicket};
pub use ticket::{Lease, NewTicket, Ticket};
