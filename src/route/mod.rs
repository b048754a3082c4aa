//! The specialist ticket queues of triage: the contract the service works against
//! ([`TicketQueue`]) and its two backends, [`EmbeddedQueue`] (one machine, the default) and
//! [`JetStreamQueue`] (NATS JetStream with its ledger in PostgreSQL, for several replicas).
//!
//! [`EmbeddedQueue`] keeps tickets, leases, decisions (for idempotency), dead letters, audit
//! records and queue corrections in one redb file, `route.redb`, in the queue's directory.
//!
//! # Writes: group commit
//! One writer thread (`writer.rs`) owns all writes. Callers send requests over a bounded
//! channel with a oneshot for the answer. The writer blocks for one request, drains up to
//! `max_batch` more that are already waiting, applies them in arrival order in one write
//! transaction (`txn.rs`), commits once and only then answers every caller. The commit uses
//! `Durability::Immediate` (fsync before commit returns) if any request of the batch is
//! durable, otherwise `Durability::None`; redb makes a None commit durable with the next
//! Immediate commit and on clean close, so `flush()` (an empty durable request) persists
//! everything queued before it. A refused request (not found, wrong lease, bad argument)
//! changes nothing and fails alone; a storage failure aborts the batch and every request in
//! it gets the error; a failed commit also stops the writer, after which calls return
//! `Unavailable`. Reads (`snapshot.rs`) use read transactions on blocking threads, but for the
//! decision lookup every submission makes, which reads inline. A background record (a decision
//! that queues no ticket) is not waited for: a batch of only those lingers up to 10 ms for
//! company before it commits, so one commit carries many; the writer sleeps meanwhile, and a
//! request someone waits on wakes it and ends the linger (so does a batch's worth of records).
//! Until its batch commits, a resubmission of that inquiry is decided afresh (the first record
//! is kept).
//!
//! Records are stored as JSON, LZ4-compressed when that is smaller (`codec.rs`; a record
//! written before compression reads as it is). Decisions are stored many to a row
//! (`rows.rs`): the decisions of one write batch, answers and tickets' alike, up to 64 a row,
//! share a row under a sequential id, and the decision index maps each inquiry id to its row;
//! a small index entry per decision costs the writer far less than one kilobyte-sized row each
//! at a random key (a page, and often its parent, rewritten per decision at every commit), and
//! the shared row compresses some tenfold. The rows and their index keep the on-disk names
//! `answers` and `answer_index` they had when they held only answers; a decision with a ticket
//! recorded before then stays in `decisions`, which is read but no longer written.
//!
//! # Tables
//! | table          | key                                          | value                 |
//! |----------------|----------------------------------------------|-----------------------|
//! | `tickets`      | ticket id `u64`                              | JSON `Ticket` (live)  |
//! | `ready`        | `(queue, priority, sla_due_ms, id)`          | `()`                  |
//! | `leases`       | `(expires_ms, id)`                           | `()`                  |
//! | `answers`      | decision row id `u64`                        | inquiry ids, ticket ids, decision JSONs (compressed) |
//! | `answer_index` | inquiry id `&str`                            | decision row id `u64` |
//! | `decisions`    | inquiry id `&str`                            | tag, ticket id, decision JSON (compressed); read only |
//! | `dead_letters` | `(queue, id)`                                | JSON `{ticket, reason, dead_ms}` |
//! | `audit`        | ticket id `u64`                              | JSON `AuditRecord`    |
//! | `corrections`  | correction id `u64`                          | JSON `Correction`     |
//! | `counters`     | `next_ticket_id` / `next_lease_token` / `next_correction_id` / `next_answer_batch` (the next decision row) | `u64` |
//!
//! A ticket id lives in exactly one of `tickets` (with an entry in `ready` or `leases`),
//! `dead_letters` or `audit`. A claim first sweeps `leases` up to now: each expired ticket
//! goes back to `ready`, or to `dead_letters` once its deliveries reach `max_deliveries`.

mod clock;
mod contract;
mod decision;
mod embedded;
mod error;
mod history;
mod jetstream;
mod stats;
mod ticket;

pub use clock::{Clock, ManualClock, SystemClock};
pub use contract::TicketQueue;
pub use decision::RecordOutcome;
pub use embedded::{EmbeddedQueue, QueueSettings};
pub use error::{ErrorKind, RouteError};
pub use history::{AuditRecord, Correction};
pub use jetstream::{JetStreamQueue, JetStreamSettings, Ledger};
pub use stats::QueueStats;
pub use ticket::{Lease, NewTicket, Ticket};
