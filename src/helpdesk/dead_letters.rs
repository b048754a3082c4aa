//! The operators' side of dead letters: a queue's dead letters with their inquiry, why and
//! when, and redriving (back to a queue, ready, under the same id) or discarding one, each
//! kept with who did it and why. Admins act on every queue; a specialist on its own queues
//! only, and redrives only from one of them to one of them.

use super::tickets::{attached_follow_ups, ticket_payload};
use super::validate::validate_note;
use super::{AttachedFollowUp, Caller, Helpdesk, HelpdeskError, Role};
use crate::intake::Inquiry;
use crate::route::{DeadLetter, DeadLetterAction};

/// A dead letter as an operator sees it: the ticket, its inquiry and follow-ups, how often it
/// was delivered, and why and when it was taken out of circulation.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterView {
    pub ticket_id: u64,
    pub queue: String,
    pub priority: u8,
    pub sla_due_ms: i64,
    /// How many times the ticket was claimed before it was dead-lettered.
    pub deliveries: u32,
    pub reason: String,
    /// When it was dead-lettered, Unix milliseconds.
    pub dead_ms: i64,
    pub inquiry: Inquiry,
    pub follow_ups: Vec<AttachedFollowUp>,
}

impl Helpdesk {
    /// The dead letters of `queue`, oldest first.
    pub async fn dead_letters(
        &self,
        caller: &Caller,
        queue: &str,
    ) -> Result<Vec<DeadLetterView>, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "list dead letters")?;
        if queue.trim().is_empty() {
            return Err(HelpdeskError::invalid("queue", "is empty"));
        }
        caller.check_queue(queue)?;
        let letters = self.queue.dead_letters(queue).await?;
        letters.into_iter().map(dead_letter_view).collect()
    }

    /// Puts dead letter `ticket_id` back ready on `to_queue` (its own queue when `None`), saying
    /// why; the action kept.
    pub async fn redrive(
        &self,
        caller: &Caller,
        ticket_id: u64,
        to_queue: Option<&str>,
        reason: &str,
    ) -> Result<DeadLetterAction, HelpdeskError> {
        validate_note("reason", reason)?;
        let letter = self.own_dead_letter(caller, ticket_id).await?;
        let to = match to_queue {
            Some(name) => &self.pack_queue("to_queue", name)?.name,
            None => &letter.ticket.queue,
        };
        caller.check_queue(to)?;
        Ok(self
            .queue
            .redrive(ticket_id, to, &caller.name, reason)
            .await?)
    }

    /// Removes dead letter `ticket_id` for good, saying why; the action kept.
    pub async fn discard(
        &self,
        caller: &Caller,
        ticket_id: u64,
        reason: &str,
    ) -> Result<DeadLetterAction, HelpdeskError> {
        validate_note("reason", reason)?;
        self.own_dead_letter(caller, ticket_id).await?;
        Ok(self.queue.discard(ticket_id, &caller.name, reason).await?)
    }

    /// The redrives and discards of dead letters of the caller's queues, oldest first.
    pub async fn dead_letter_actions(
        &self,
        caller: &Caller,
    ) -> Result<Vec<DeadLetterAction>, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "list dead-letter actions")?;
        let mut actions = self.queue.dead_letter_actions().await?;
        actions.retain(|action| caller.may_see_queue(&action.queue));
        Ok(actions)
    }

    /// The dead letter `ticket_id`, checked to be of one of the caller's queues.
    async fn own_dead_letter(
        &self,
        caller: &Caller,
        ticket_id: u64,
    ) -> Result<DeadLetter, HelpdeskError> {
        caller.check_role(&[Role::Specialist], "act on dead letters")?;
        let letter = self.queue.dead_letter(ticket_id).await?.ok_or_else(|| {
            HelpdeskError::not_found(
                "ticket_id",
                format!("ticket {ticket_id} is not a dead letter"),
            )
        })?;
        caller.check_queue(&letter.ticket.queue)?;
        Ok(letter)
    }
}

/// A dead letter with its inquiry and follow-ups decoded from their payloads.
fn dead_letter_view(letter: DeadLetter) -> Result<DeadLetterView, HelpdeskError> {
    let ticket = letter.ticket;
    let inquiry = ticket_payload(ticket.id, "the payload", &ticket.payload)?.inquiry;
    let follow_ups = attached_follow_ups(&ticket)?;
    Ok(DeadLetterView {
        ticket_id: ticket.id,
        queue: ticket.queue,
        priority: ticket.priority,
        sla_due_ms: ticket.sla_due_ms,
        deliveries: ticket.deliveries,
        reason: letter.reason,
        dead_ms: letter.dead_ms,
        inquiry,
        follow_ups,
    })
}
