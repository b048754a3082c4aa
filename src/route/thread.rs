//! Threads in the queue: the open ticket of a client's thread ([`ThreadTicket`]), the
//! follow-ups attached to it ([`NewFollowUp`], [`FollowUp`]) and the answer to attaching one
//! ([`Attached`]).
//!
//! A ticket queued with a thread id (`NewTicket::thread_id`) is its client's open ticket of
//! that thread while it is live (ready or leased). A later inquiry of the same client in the
//! same thread is attached to it instead of becoming a ticket of its own: its decision is
//! recorded under its own inquiry id with the ticket's id, and the ticket shows it to whoever
//! claims it. Dead-lettering the ticket closes it to follow-ups. A resolved ticket is kept as
//! its thread's last ticket (until retention removes its audit record): a follow-up attached to
//! it reopens it, ready again on its queue under the same id with all its follow-ups, as a
//! helpdesk reopens a solved ticket when the client answers; whether a follow-up that late
//! should reopen it is the caller's to decide ([`ThreadTicket::resolved_ms`] tells it).

use serde::{Deserialize, Serialize};

use super::decision::StoredDecision;

/// The most follow-ups one ticket takes: a claim hands them all over in one message, so a
/// thread that keeps going (a mail loop) gets a new ticket instead of an ever larger one.
pub const MAX_FOLLOW_UPS: usize = 50;

/// The ticket a thread's follow-ups are attached to, as the thread knows it: its live ticket,
/// else the last one resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadTicket {
    pub ticket_id: u64,
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    /// When it was resolved; `None` while it is live. Attaching to a resolved ticket reopens it.
    #[serde(default)]
    pub resolved_ms: Option<i64>,
}

/// A follow-up to attach to the ticket of its thread (reopening it when it was resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub inquiry_id: String,
    /// The follow-up's client: a ticket takes follow-ups of its own client only.
    pub client_id: String,
    pub ticket_id: u64,
    /// JSON of the follow-up inquiry; opaque to the queue.
    pub payload: String,
    /// The ticket's SLA due time from now on, should this follow-up reopen it.
    pub reopened_sla_due_ms: i64,
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
    /// The ticket takes no follow-up (neither live nor kept resolved, another client's, queued
    /// without a thread, or holding [`MAX_FOLLOW_UPS`]): nothing was written.
    NotAttached,
}
