//! The specialists' side of the helpdesk: claiming a ticket (with its inquiry, the follow-ups
//! attached to it and the decision that queued it), extending, resolving, releasing and
//! rerouting it, and the statistics of the queues. A specialist sees and works on its own queues
//! only; an admin on all.

use std::sync::Arc;
use std::time::Duration;

use super::reply::Closing;
use super::validate::validate_note;
use super::{Caller, Helpdesk, HelpdeskError, Role};
use crate::answer::Client;
use crate::intake::{Decision, Inquiry, IntakeError, TicketPayload};
use crate::pack::{CannedReply, Queue};
use crate::route::{AuditRecord, FollowUp, Lease, LeaseToken, QueueStats, Ticket};
use crate::text::quoted;

/// A ticket a specialist holds: its id and the token of the lease on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTicket {
    pub ticket_id: u64,
    pub lease_token: LeaseToken,
}

/// A claimed ticket as a specialist sees it: the ticket with its lease, the inquiry and its
/// follow-ups (the whole thread), and the decision that queued it with its explanation (absent
/// only if its record was lost).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedTicket {
    pub ticket_id: u64,
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    pub lease: Option<Lease>,
    /// How many times the ticket has been claimed, this claim included.
    pub deliveries: u32,
    pub inquiry: Inquiry,
    /// The client's follow-ups attached to the ticket, oldest first.
    pub follow_ups: Vec<AttachedFollowUp>,
    pub decision: Option<Decision>,
}

/// A follow-up attached to a claimed ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedFollowUp {
    pub inquiry: Inquiry,
    /// When it was attached, Unix milliseconds.
    pub attached_ms: i64,
}

/// One queue's statistics with what the pack says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueReport {
    pub description: String,
    pub sla_hours: f64,
    pub stats: QueueStats,
}

impl Helpdesk {
    /// Leases the next ticket of `queue` to `caller` for `lease` (the policy's default when
    /// none), with its inquiry and decision; `None` when the queue has no ready ticket.
    pub async fn claim(
        &self,
        caller: &Caller,
        queue: &str,
        lease: Option<Duration>,
    ) -> Result<Option<ClaimedTicket>, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "claim tickets")?;
        let queue = self.pack_queue("queue", queue)?;
        caller.check_queue(&queue.name)?;
        let lease_ms = self.policy.leases.lease_ms(lease)?;
        let Some(ticket) = self
            .queue
            .claim(&queue.name, &caller.name, lease_ms)
            .await?
        else {
            return Ok(None);
        };
        self.changed();
        let stored = self.intake.stored_decision(&ticket.inquiry_id).await?;
        Ok(Some(claimed(ticket, stored.map(|stored| stored.decision))?))
    }

    /// The open ticket `ticket_id` of one of the caller's queues as a claim shows it (the
    /// thread, the decision and its explanation), whoever holds it: what a console page shows
    /// again after the claim.
    pub async fn open_ticket(
        &self,
        caller: &Caller,
        ticket_id: u64,
    ) -> Result<ClaimedTicket, HelpdeskError> {
        let ticket = self.own_ticket(caller, ticket_id).await?;
        let stored = self.intake.stored_decision(&ticket.inquiry_id).await?;
        claimed(ticket, stored.map(|stored| stored.decision))
    }

    /// The record of `client_id` (tier, account manager, entities) for a specialist working on
    /// one of its tickets; `None` when the directory does not know it.
    pub async fn ticket_client(
        &self,
        caller: &Caller,
        ticket: &ClaimedTicket,
    ) -> Result<Option<Arc<Client>>, HelpdeskError> {
        caller.check_queue(&ticket.queue)?;
        Ok(self
            .clients
            .client(&ticket.inquiry.client_id)
            .await
            .map_err(IntakeError::from)?)
    }

    /// Renews the caller's lease on `held` for `lease` (the default when none); the new lease.
    pub async fn extend(
        &self,
        caller: &Caller,
        held: HeldTicket,
        lease: Option<Duration>,
    ) -> Result<Option<Lease>, HelpdeskError> {
        self.own_ticket(caller, held.ticket_id).await?;
        let lease_ms = self.policy.leases.lease_ms(lease)?;
        let ticket = self
            .queue
            .extend(held.ticket_id, held.lease_token, &caller.name, lease_ms)
            .await?;
        self.changed();
        Ok(ticket.lease)
    }

    /// Closes `held` with a reply to the client (delivered through the inquiry's channel,
    /// threaded to the client's latest message) or the reason there is none; the audit record
    /// kept of it.
    pub async fn resolve(
        &self,
        caller: &Caller,
        held: HeldTicket,
        closing: Closing,
    ) -> Result<AuditRecord, HelpdeskError> {
        let outcome = closing.checked_outcome(self.policy.max_text_bytes)?;
        let ticket = self.own_ticket(caller, held.ticket_id).await?;
        let claimed = claimed(ticket.clone(), None)?;
        let latest = claimed
            .follow_ups
            .last()
            .map_or(&claimed.inquiry, |follow_up| &follow_up.inquiry);
        let resolution = closing.resolution(outcome, &ticket, &claimed.inquiry, latest)?;
        let record = self
            .queue
            .resolve(held.ticket_id, held.lease_token, &caller.name, resolution)
            .await?;
        self.observe_answered(&ticket, record.resolved_ms);
        self.changed();
        Ok(record)
    }

    /// Gives `held` back to its queue for someone else, saying why.
    pub async fn release(
        &self,
        caller: &Caller,
        held: HeldTicket,
        reason: &str,
    ) -> Result<(), HelpdeskError> {
        validate_note("reason", reason)?;
        self.own_ticket(caller, held.ticket_id).await?;
        self.queue
            .release(held.ticket_id, held.lease_token, &caller.name, reason)
            .await?;
        self.changed();
        Ok(())
    }

    /// Moves `held` to the queue `to_queue` (a correction of the routing), saying why.
    pub async fn reroute(
        &self,
        caller: &Caller,
        held: HeldTicket,
        to_queue: &str,
        reason: &str,
    ) -> Result<(), HelpdeskError> {
        validate_note("reason", reason)?;
        let to = &self.pack_queue("to_queue", to_queue)?.name;
        self.own_ticket(caller, held.ticket_id).await?;
        self.queue
            .reroute(held.ticket_id, held.lease_token, &caller.name, to, reason)
            .await?;
        self.changed();
        Ok(())
    }

    /// The statistics of the queues the caller may see, with the pack's description and SLA.
    pub async fn queue_reports(&self, caller: &Caller) -> Result<Vec<QueueReport>, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "list queues")?;
        let visible: Vec<String> = self
            .queues
            .iter()
            .filter(|q| caller.may_see_queue(&q.name))
            .map(|q| q.name.clone())
            .collect();
        let stats = self.queue.stats(&visible).await?;
        Ok(merge_with_pack(&self.queues, stats, |queue| {
            caller.may_see_queue(queue)
        }))
    }

    /// The canned replies of `queue`, one of the caller's, in the pack's order.
    pub fn canned_replies(
        &self,
        caller: &Caller,
        queue: &str,
    ) -> Result<Vec<CannedReply>, HelpdeskError> {
        caller.check_queue(queue)?;
        Ok(self
            .canned
            .iter()
            .filter(|canned| canned.queue == queue)
            .cloned()
            .collect())
    }

    /// The names of the pack's queues (with the escalation queue), in the pack's order.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.iter().map(|q| q.name.as_str())
    }

    /// The statistics of every queue of the pack (and of any other queue holding tickets),
    /// for the operator's gauges.
    pub async fn all_queue_stats(&self) -> Result<Vec<QueueStats>, HelpdeskError> {
        let names: Vec<String> = self.queues.iter().map(|q| q.name.clone()).collect();
        Ok(self.queue.stats(&names).await?)
    }

    /// How many tickets the queue dead-lettered since this process started, by queue.
    pub fn dead_lettered_totals(&self) -> std::collections::BTreeMap<String, u64> {
        self.queue.dead_lettered_totals()
    }

    /// The audit record of a resolved ticket: who resolved it, when and how.
    pub async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, HelpdeskError> {
        Ok(self.queue.audit(ticket_id).await?)
    }

    /// Every correction specialists made by rerouting, oldest first.
    pub async fn corrections(&self) -> Result<Vec<crate::route::Correction>, HelpdeskError> {
        Ok(self.queue.corrections().await?)
    }

    /// The queue of the pack named `name`, or NOT_FOUND naming `field`.
    pub(super) fn pack_queue(
        &self,
        field: &'static str,
        name: &str,
    ) -> Result<&Queue, HelpdeskError> {
        self.queues.iter().find(|q| q.name == name).ok_or_else(|| {
            HelpdeskError::not_found(
                field,
                format!("{} is not a queue of this pack", quoted(name)),
            )
        })
    }

    /// The open ticket `ticket_id`, checked to be on one of the caller's queues.
    async fn own_ticket(&self, caller: &Caller, ticket_id: u64) -> Result<Ticket, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "work on tickets")?;
        let ticket = self.queue.ticket(ticket_id).await?.ok_or_else(|| {
            HelpdeskError::not_found("ticket_id", format!("ticket {ticket_id} is not open"))
        })?;
        caller.check_queue(&ticket.queue)?;
        Ok(ticket)
    }
}

/// A claimed ticket with its inquiry and follow-ups decoded from their payloads and its
/// decision joined.
fn claimed(ticket: Ticket, decision: Option<Decision>) -> Result<ClaimedTicket, HelpdeskError> {
    let payload = ticket_payload(ticket.id, "the payload", &ticket.payload)?;
    let follow_ups = attached_follow_ups(&ticket)?;
    Ok(ClaimedTicket {
        ticket_id: ticket.id,
        queue: ticket.queue,
        priority: ticket.priority,
        sla_due_ms: ticket.sla_due_ms,
        lease: ticket.lease,
        deliveries: ticket.deliveries,
        inquiry: payload.inquiry,
        follow_ups,
        decision,
    })
}

/// The follow-ups `ticket` shows, their inquiries decoded from their payloads.
pub(super) fn attached_follow_ups(ticket: &Ticket) -> Result<Vec<AttachedFollowUp>, HelpdeskError> {
    ticket
        .follow_ups
        .iter()
        .map(
            |FollowUp {
                 inquiry_id,
                 attached_ms,
                 payload,
             }| {
                let what = format!("the follow-up {inquiry_id}");
                Ok(AttachedFollowUp {
                    inquiry: ticket_payload(ticket.id, &what, payload)?.inquiry,
                    attached_ms: *attached_ms,
                })
            },
        )
        .collect()
}

/// The payload `what` of ticket `ticket_id` decoded.
pub(super) fn ticket_payload(
    ticket_id: u64,
    what: &str,
    json: &str,
) -> Result<TicketPayload, HelpdeskError> {
    serde_json::from_str(json)
        .map_err(|e| HelpdeskError::CorruptRecord(format!("{what} of ticket {ticket_id}: {e}")))
}

/// Queue statistics joined with the pack's description and SLA of each queue, keeping those
/// `visible` says; a queue the pack does not list (tickets left from an earlier pack) keeps its
/// statistics with no description and no SLA.
fn merge_with_pack(
    pack_queues: &[Queue],
    stats: Vec<QueueStats>,
    visible: impl Fn(&str) -> bool,
) -> Vec<QueueReport> {
    stats
        .into_iter()
        .filter(|s| visible(&s.queue))
        .map(|stats| {
            let pack_queue = pack_queues.iter().find(|q| q.name == stats.queue);
            QueueReport {
                description: pack_queue
                    .map(|q| q.description.clone())
                    .unwrap_or_default(),
                sla_hours: pack_queue.map_or(0.0, |q| q.sla_hours),
                stats,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(queue: &str, ready: u64) -> QueueStats {
        QueueStats {
            queue: queue.to_owned(),
            ready,
            ..QueueStats::default()
        }
    }

    /// A queue the pack lists gets its description and SLA; one it no longer lists keeps its
    /// counts with neither; a queue not visible is left out.
    #[test]
    fn stats_merge_with_the_packs_queues() {
        let pack_queues = vec![Queue {
            name: "seo".into(),
            description: "SEO specialists".into(),
            sla_hours: 24.0,
            sla_hours_by_tier: Default::default(),
        }];
        let merged = merge_with_pack(
            &pack_queues,
            vec![stats("seo", 2), stats("retired", 1), stats("hidden", 5)],
            |queue| queue != "hidden",
        );
        assert_eq!(
            merged,
            vec![
                QueueReport {
                    description: "SEO specialists".into(),
                    sla_hours: 24.0,
                    stats: stats("seo", 2),
                },
                QueueReport {
                    description: String::new(),
                    sla_hours: 0.0,
                    stats: stats("retired", 1),
                },
            ]
        );
    }
}
