//! `TicketQueue`: the queue contract the service works against, whichever engine holds the
//! tickets: the embedded redb queue on one machine, or JetStream (with the ledger in
//! PostgreSQL) when scaled out. Both pass the same contract tests (`tests/queue_contract.rs`).
//!
//! Decisions cross it as the caller's own type `D` (see `decision.rs`), and a recorded ticket
//! comes back with the id the queue assigned it.
//!
//! # Leases
//! The rules every backend keeps, stated here once:
//! - A claim leases a ticket to one holder under a fresh [`LeaseToken`]: 128 bits from the
//!   operating system's random source, so no token can be guessed from another.
//! - Every lease operation (`extend`, `resolve`, `release`, `reroute`) names the holder and the
//!   token and acts only on the ticket's current lease while it is live: another holder (or no
//!   lease) is `NotLeased`, another token `StaleLease`, and a lease at or past its expiry
//!   `LeaseExpired`, for every operation alike and whether or not the ticket was claimed again
//!   since. A refused operation changes nothing.
//! - `extend` grants the length asked for, from now; so does `claim`.
//!   A length too long to represent runs to the last representable instant.
//! - Stats count a ticket whose lease ran out as ready (the next claim takes it), never as
//!   leased.
//!
//! # Threads
//! A ticket queued with a thread id is its client's open ticket of that thread while it is live
//! (`thread_ticket` finds the latest such); `attach` adds a follow-up to it atomically with the
//! follow-up's decision, and only while it is live: a follow-up racing the ticket's resolution
//! is either attached before it or told `NotAttached`, never attached to a closed ticket.
//!
//! # Dead letters
//! A ticket whose lease expired (or that was released) with its last allowed delivery is a
//! dead letter: out of circulation and out of its thread, with its follow-ups. An operator
//! `redrive`s it (ready again on its queue or another, under the same id, with its payload and
//! follow-ups, deliveries counted from zero, its thread's open ticket again) or `discard`s it;
//! either is kept as a [`DeadLetterAction`], and a ticket no longer (or never) dead-lettered is
//! `NotFound`.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::dead_letter::{DeadLetter, DeadLetterAction};
use super::decision::{DecisionRecord, Recorded, StoredDecision};
use super::error::RouteError;
use super::history::{AuditRecord, Correction, Resolution, SentReply};
use super::lease_token::LeaseToken;
use super::stats::QueueStats;
use super::thread::{Attached, NewFollowUp, ThreadTicket};
use super::ticket::{NewTicket, Ticket};
use crate::readiness::NotReady;

/// Decisions (of type `D`) by inquiry id and the specialist tickets they queue.
#[async_trait]
pub trait TicketQueue<D: DecisionRecord>: Send + Sync + 'static {
    /// Stores the decision for `inquiry_id` and queues `ticket` once, durably before it
    /// returns, with the ticket id the queue assigned; a repeat (also from another replica)
    /// returns the first decision.
    async fn record_decision(
        &self,
        inquiry_id: &str,
        decision: &D,
        ticket: NewTicket,
    ) -> Result<Recorded<D>, RouteError>;

    /// Stores a decision that queues no ticket (an answer) for replays; it may be made durable
    /// later, since a lost answer is decided again the same way. A stored decision is kept.
    async fn record_answer(&self, inquiry_id: &str, decision: &D) -> Result<(), RouteError>;

    /// The decision stored for `inquiry_id`, with the ticket it queued (or was attached to).
    async fn decision(&self, inquiry_id: &str) -> Result<Option<StoredDecision<D>>, RouteError>;

    /// At most `limit` decisions stored at or after `since_ms`, the latest first: what the
    /// helpdesk's activity report counts. An answer shows once it is written (after `flush` at
    /// the latest). The time is when the queue stored the decision: the embedded queue's clock
    /// at the write batch, or PostgreSQL's when scaled out.
    async fn decisions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredDecision<D>>, RouteError>;

    /// The open ticket of `client_id`'s thread `thread_id`: the live ticket last queued with
    /// that thread id, if any.
    async fn thread_ticket(
        &self,
        client_id: &str,
        thread_id: &str,
    ) -> Result<Option<ThreadTicket>, RouteError>;

    /// Attaches `follow_up` to its open ticket and stores `decision` for its inquiry with that
    /// ticket's id, both in one step, durably before it returns; the ticket shows it from then
    /// on. A ticket no longer live, another client's, queued without a thread or holding
    /// [`MAX_FOLLOW_UPS`](super::MAX_FOLLOW_UPS) takes nothing (`NotAttached`, nothing
    /// written); an inquiry decided before gets its first decision back (`Existing`).
    async fn attach(&self, decision: &D, follow_up: NewFollowUp)
    -> Result<Attached<D>, RouteError>;

    /// Leases the next ticket of `queue` (priority first, then SLA order) to `holder`, with its
    /// follow-ups. The lease may differ from `lease_ms` where the engine fixes it; the ticket
    /// says its expiry.
    async fn claim(
        &self,
        queue: &str,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError>;

    /// Renews the live lease `lease_token` that `holder` has on ticket `ticket_id` to run
    /// `lease_ms` from now (shorter or longer than before, as asked).
    async fn extend(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError>;

    /// Removes a ticket `holder` leases and keeps who resolved it, when and how, with the reply
    /// to the client, if any, in the same step; its thread has no open ticket from then on.
    async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        resolution: Resolution,
    ) -> Result<AuditRecord, RouteError>;

    /// The replies sent on ticket `ticket_id`, oldest first.
    async fn replies(&self, ticket_id: u64) -> Result<Vec<SentReply>, RouteError>;

    /// At most `limit` replies sent at or after `since_ms`, in the order of their time, then
    /// their sequence: what a channel delivers.
    async fn replies_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<SentReply>, RouteError>;

    /// Hands a leased ticket back to ready now; one released with its last allowed delivery
    /// (`max_deliveries`) goes to the dead letters instead, as an expired one would.
    async fn release(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError>;

    /// Moves a leased ticket to `to_queue`, ready, and records the correction.
    async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        to_queue: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError>;

    /// A live ticket, with its follow-ups (the service checks a specialist's queue with it).
    async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError>;

    /// Stats for every queue in `queues` (also empty ones); an expired lease counts as ready.
    async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError>;

    /// How many ready tickets of `queue` stand ahead of ticket `ticket_id`, of `priority`: the
    /// ready ones of that priority or a more urgent one (a lower number), itself left out; an
    /// expired lease counts as ready, as in `stats`. A read of the queue's index, cheap enough
    /// for every acknowledgement. JetStream counts by priority band (priorities from 3 on share
    /// one), and so counts a band's less urgent tickets too.
    async fn ready_ahead(
        &self,
        queue: &str,
        priority: u8,
        ticket_id: u64,
    ) -> Result<u64, RouteError>;

    /// Dead-lettered tickets of `queue`, oldest first, each with the follow-ups it had, why
    /// and when it was dead-lettered.
    async fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, RouteError>;

    /// The dead letter of ticket `ticket_id`, whichever queue it was on.
    async fn dead_letter(&self, ticket_id: u64) -> Result<Option<DeadLetter>, RouteError>;

    /// Puts dead-lettered ticket `ticket_id` back ready on `to_queue` (its own or another) and
    /// records who did it and why; see the module doc.
    async fn redrive(
        &self,
        ticket_id: u64,
        to_queue: &str,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError>;

    /// Removes dead-lettered ticket `ticket_id` for good and records who did it and why.
    async fn discard(
        &self,
        ticket_id: u64,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError>;

    /// Every redrive and discard, oldest first.
    async fn dead_letter_actions(&self) -> Result<Vec<DeadLetterAction>, RouteError>;

    /// How many tickets this process dead-lettered since it started, by queue (the service's
    /// counter `triage_tickets_dead_lettered_total`; each replica counts its own).
    fn dead_lettered_totals(&self) -> BTreeMap<String, u64>;

    /// The audit record of a resolved ticket.
    async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError>;

    /// At most `limit` audit records of tickets resolved at or after `since_ms`, the latest
    /// first: the recent resolutions the expected waits are read back from at start (from
    /// the store every replica shares, when scaled out).
    async fn resolved_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, RouteError>;

    /// Every correction made by `reroute`, oldest first.
    async fn corrections(&self) -> Result<Vec<Correction>, RouteError>;

    /// Makes everything recorded so far durable (for graceful shutdown); fails when something
    /// acknowledged earlier could not be stored.
    async fn flush(&self) -> Result<(), RouteError>;

    /// Whether the engine answers now, else why not (naming the engine and its address);
    /// health reports NOT_SERVING while it does not.
    async fn healthy(&self) -> Result<(), NotReady>;
}
