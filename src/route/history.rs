//! What the queue keeps of the work done on tickets: how a holder closes one ([`Resolution`]),
//! the [`AuditRecord`] of a resolved ticket (with how it was queued, [`QueuedAs`]), each reply
//! sent to the client ([`SentReply`]) and each [`Correction`] of a ticket moved to another
//! queue by a specialist.

use serde::{Deserialize, Serialize};

/// Who resolved a ticket, when, how, and after how many deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub ticket_id: u64,
    pub inquiry_id: String,
    pub queue: String,
    pub holder: String,
    pub outcome: String,
    pub resolved_ms: i64,
    pub deliveries: u32,
    /// The holder's internal note, never shown to the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How the ticket was queued, so that its wait is known from the record alone (the
    /// expected waits are read back from audit records at start); absent from records kept
    /// before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_as: Option<QueuedAs>,
}

/// A resolved ticket's priority and the time it was queued at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedAs {
    /// 0 is the most urgent.
    pub priority: u8,
    /// Unix milliseconds.
    pub created_ms: i64,
}

/// How a holder closes a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// How it was resolved, for the audit record.
    pub outcome: String,
    /// An internal note for the audit record.
    pub note: Option<String>,
    /// The reply to the client, as the caller's own JSON: kept as it is, in the order replies
    /// were sent, for the channels that deliver it.
    pub reply: Option<String>,
}

impl From<&str> for Resolution {
    /// A resolution with only its outcome: no note, no reply.
    fn from(outcome: &str) -> Self {
        Self {
            outcome: outcome.to_owned(),
            ..Self::default()
        }
    }
}

/// A reply sent to a client when a ticket was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentReply {
    /// Increasing in the order the queue stored replies (across replicas, only roughly in time
    /// order: a reader of [`sent_ms`](Self::sent_ms) ranges looks back a little).
    pub seq: u64,
    pub ticket_id: u64,
    /// The inquiry the ticket was queued for.
    pub inquiry_id: String,
    pub client_id: String,
    pub holder: String,
    pub sent_ms: i64,
    /// The caller's JSON, as given to [`Resolution::reply`].
    pub payload: String,
}

/// A ticket moved from the queue it was routed to into another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// Increasing in the order corrections were made.
    pub id: u64,
    pub ticket_id: u64,
    pub inquiry_id: String,
    pub from_queue: String,
    pub to_queue: String,
    pub holder: String,
    pub reason: String,
    pub corrected_ms: i64,
}
