//! `TicketQueue`: the queue contract the service works against, whichever engine holds the
//! tickets: the embedded redb queue on one machine, or JetStream (with the ledger in
//! PostgreSQL) when scaled out. Both pass the same contract tests (`tests/queue_contract.rs`).

use async_trait::async_trait;

use super::decision::RecordOutcome;
use super::embedded::EmbeddedQueue;
use super::error::RouteError;
use super::history::{AuditRecord, Correction};
use super::stats::QueueStats;
use super::ticket::{NewTicket, Ticket};

/// Decisions by inquiry id and the specialist tickets they queue.
#[async_trait]
pub trait TicketQueue: Send + Sync + 'static {
    /// Stores the decision for `inquiry_id` and queues `ticket` once, durably before it
    /// returns; a repeat (also from another replica) returns the first decision.
    async fn record_decision(
        &self,
        inquiry_id: &str,
        decision_json: String,
        ticket: NewTicket,
    ) -> Result<RecordOutcome, RouteError>;

    /// Stores a decision that queues no ticket (an answer) for replays; it may be made durable
    /// later, since a lost answer is decided again the same way. A stored decision is kept.
    async fn record_answer(
        &self,
        inquiry_id: &str,
        decision_json: String,
    ) -> Result<(), RouteError>;

    /// The decision stored for `inquiry_id`, with the ticket it queued.
    async fn decision(&self, inquiry_id: &str)
    -> Result<Option<(String, Option<u64>)>, RouteError>;

    /// Leases the next ticket of `queue` (priority first, then SLA order) to `holder`. The
    /// lease may differ from `lease_ms` where the engine fixes it; the ticket says its expiry.
    async fn claim(
        &self,
        queue: &str,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError>;

    /// Renews the live lease `lease_token` of ticket `ticket_id`.
    async fn extend(
        &self,
        ticket_id: u64,
        lease_token: u64,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError>;

    /// Removes a ticket `holder` leases and keeps who resolved it, when and how.
    async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        outcome: &str,
    ) -> Result<AuditRecord, RouteError>;

    /// Hands a leased ticket back to ready now.
    async fn release(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError>;

    /// Moves a leased ticket to `to_queue`, ready, and records the correction.
    async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        to_queue: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError>;

    /// A live ticket (the service checks a specialist's queue with it).
    async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError>;

    /// Stats for every queue in `queues` (also empty ones).
    async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError>;

    /// Dead-lettered tickets of `queue`, oldest first.
    async fn dead_letters(&self, queue: &str) -> Result<Vec<Ticket>, RouteError>;

    /// The audit record of a resolved ticket.
    async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError>;

    /// Every correction made by `reroute`, oldest first.
    async fn corrections(&self) -> Result<Vec<Correction>, RouteError>;

    /// Makes everything recorded so far durable (for graceful shutdown).
    async fn flush(&self) -> Result<(), RouteError>;

    /// Whether the engine answers now; health reports NOT_SERVING while it does not.
    async fn healthy(&self) -> bool;
}

#[async_trait]
impl TicketQueue for EmbeddedQueue {
    async fn record_decision(
        &self,
        inquiry_id: &str,
        decision_json: String,
        ticket: NewTicket,
    ) -> Result<RecordOutcome, RouteError> {
        EmbeddedQueue::record_decision(self, inquiry_id, decision_json, Some(ticket), true).await
    }

    async fn record_answer(
        &self,
        inquiry_id: &str,
        decision_json: String,
    ) -> Result<(), RouteError> {
        self.record_decision_in_background(inquiry_id, decision_json)
            .await
    }

    async fn decision(
        &self,
        inquiry_id: &str,
    ) -> Result<Option<(String, Option<u64>)>, RouteError> {
        EmbeddedQueue::decision(self, inquiry_id).await
    }

    async fn claim(
        &self,
        queue: &str,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError> {
        EmbeddedQueue::claim(self, queue, holder, lease_ms).await
    }

    async fn extend(
        &self,
        ticket_id: u64,
        lease_token: u64,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError> {
        EmbeddedQueue::extend(self, ticket_id, lease_token, lease_ms).await
    }

    async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        outcome: &str,
    ) -> Result<AuditRecord, RouteError> {
        EmbeddedQueue::resolve(self, ticket_id, lease_token, holder, outcome).await
    }

    async fn release(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        EmbeddedQueue::release(self, ticket_id, lease_token, holder, reason).await
    }

    async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: u64,
        holder: &str,
        to_queue: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        EmbeddedQueue::reroute(self, ticket_id, lease_token, holder, to_queue, reason).await
    }

    async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError> {
        EmbeddedQueue::ticket(self, ticket_id).await
    }

    async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError> {
        EmbeddedQueue::stats(self, queues).await
    }

    async fn dead_letters(&self, queue: &str) -> Result<Vec<Ticket>, RouteError> {
        EmbeddedQueue::dead_letters(self, queue).await
    }

    async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError> {
        EmbeddedQueue::audit(self, ticket_id).await
    }

    async fn corrections(&self) -> Result<Vec<Correction>, RouteError> {
        EmbeddedQueue::corrections(self).await
    }

    async fn flush(&self) -> Result<(), RouteError> {
        EmbeddedQueue::flush(self).await
    }

    async fn healthy(&self) -> bool {
        self.writer_alive()
    }
}
