//! Threads in the queue: the open ticket of a client's thread ([`ThreadTicket`]), the
//! follow-ups attached to it ([`NewFollowUp`], [`FollowUp`]) and the answer to attaching one
//! ([`Attached`]).
//!
//! A ticket queued with a thread id (`NewTicket::thread_id`) is its client's open ticket of
//! that thread while it is live (ready or leased). A later inquiry of the same client in the
//! same thread is attached to it instead of becoming a ticket of its own: its decision is
//! recorded under its own inquiry id with the ticket's id, and the ticket shows it to whoever
//! claims it. Resolving or dead-lettering the ticket closes it to follow-ups; what arrives after
//! that is the caller's to decide afresh.

use serde::{Deserialize, Serialize};

use super::decision::StoredDecision;

/// The most follow-ups one ticket takes: a claim hands them all over in one message, so a
/// thread that keeps going (a mail loop) gets a new ticket instead of an ever larger one.
pub const MAX_FOLLOW_UPS: usize = 50;

/// The live ticket a thread's follow-ups are attached to, as the thread knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadTicket {
    pub ticket_id: u64,
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
}

/// A follow-up to attach to the open ticket of its thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub inquiry_id: String,
    /// The follow-up's client: a ticket takes follow-ups of its own client only.
    pub client_id: String,
    pub ticket_id: u64,
    /// JSON of the follow-up inquiry; opaque to the queue.
    pub payload: String,
}

/// A follow-up as its ticket shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub inquiry_id: String,
    /// When the queue attached it, Unix milliseconds.
    pub attached_ms: i64,
    pub payload: String,
}

impl FollowUp {
    /// The follow-up `new` attached at `now_ms`.
    pub(crate) fn attached(new: NewFollowUp, now_ms: i64) -> Self {
        Self {
            inquiry_id: new.inquiry_id,
            attached_ms: now_ms,
            payload: new.payload,
        }
    }
}

/// The answer to attaching a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached<D> {
    /// This call attached the follow-up and stored its decision.
    New,
    /// The inquiry was decided before: nothing was written, and this is the first decision.
    Existing(StoredDecision<D>),
    /// The ticket takes no follow-up (no longer live, another client's, queued without a
    /// thread, or holding [`MAX_FOLLOW_UPS`]): nothing was written.
    NotAttached,
}
