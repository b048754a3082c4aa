//! Dead letters: a ticket taken out of circulation after its last allowed delivery
//! ([`DeadLetter`], with why and when), what an operator did with it ([`DeadLetterAction`]:
//! redriven to a queue, or discarded, by whom and why), and the one place a ticket's
//! dead-lettering is reported (a warning in the log, and a count per queue that the service
//! turns into the counter `triage_tickets_dead_lettered_total`).
//!
//! The actions are a history of their own rather than audit records or corrections: an audit
//! record says how a specialist resolved a ticket and a correction says the classifier chose
//! the wrong queue, while a redrive or a discard says neither; one listing holds both kinds,
//! oldest first, with the reason the ticket was dead-lettered beside the operator's.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::error::RouteError;
use super::ticket::Ticket;

/// A ticket taken out of circulation, with why and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The ticket as it was last delivered (its queue, its delivery count), with the
    /// follow-ups it had.
    pub ticket: Ticket,
    pub reason: String,
    /// When it was dead-lettered, Unix milliseconds.
    pub dead_ms: i64,
}

/// What became of a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum DeadLetterOutcome {
    /// Put back ready on `to_queue` under its own id, its deliveries counted from zero.
    Redriven { to_queue: String },
    /// Removed for good.
    Discarded,
}

/// Who acted on a dead letter, when, what they did and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterAction {
    /// Increasing in the order the actions were taken.
    pub id: u64,
    pub ticket_id: u64,
    pub inquiry_id: String,
    /// The queue the ticket was dead-lettered on.
    pub queue: String,
    pub outcome: DeadLetterOutcome,
    pub actor: String,
    pub reason: String,
    /// Why the ticket had been dead-lettered.
    pub dead_reason: String,
    /// When the action was taken, Unix milliseconds.
    pub acted_ms: i64,
}

impl DeadLetterAction {
    /// The action `outcome` taken on `letter` by `actor` at `acted_ms` (its id is the store's
    /// to give).
    pub(crate) fn on(
        letter: &DeadLetter,
        outcome: DeadLetterOutcome,
        actor: &str,
        reason: &str,
        acted_ms: i64,
    ) -> Self {
        Self {
            id: 0,
            ticket_id: letter.ticket.id,
            inquiry_id: letter.ticket.inquiry_id.clone(),
            queue: letter.ticket.queue.clone(),
            outcome,
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            dead_reason: letter.reason.clone(),
            acted_ms,
        }
    }

    /// The queue the ticket was redriven to; `None` for a discard.
    pub fn redriven_to(&self) -> Option<&str> {
        match &self.outcome {
            DeadLetterOutcome::Redriven { to_queue } => Some(to_queue),
            DeadLetterOutcome::Discarded => None,
        }
    }
}

/// The ticket `letter` holds, put back ready on `to_queue`: the same id, payload, thread and
/// follow-ups, no lease and no delivery yet.
pub(crate) fn redriven_ticket(letter: &DeadLetter, to_queue: &str) -> Ticket {
    Ticket {
        queue: to_queue.to_owned(),
        deliveries: 0,
        lease: None,
        ..letter.ticket.clone()
    }
}

/// Refuses an action on a dead letter without an actor or a reason.
pub(crate) fn require_actor_and_reason(actor: &str, reason: &str) -> Result<(), RouteError> {
    super::ticket::require_name("actor", actor)?;
    super::ticket::require_name("reason", reason)
}

/// The tickets this process dead-lettered since it started, by queue.
#[derive(Debug, Default)]
pub(crate) struct DeadLetterTally {
    by_queue: Mutex<BTreeMap<String, u64>>,
}

impl DeadLetterTally {
    /// Reports ticket `ticket` dead-lettered for `reason`: logs a warning naming the ticket,
    /// its queue, its deliveries and the reason, and counts it for its queue. Called once the
    /// dead letter is stored.
    pub(crate) fn report(&self, ticket: &Ticket, reason: &str) {
        tracing::warn!(
            ticket_id = ticket.id,
            queue = %ticket.queue,
            deliveries = ticket.deliveries,
            reason,
            "ticket dead-lettered"
        );
        let mut by_queue = self
            .by_queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *by_queue.entry(ticket.queue.clone()).or_default() += 1;
    }

    /// The counts so far, by queue.
    pub(crate) fn totals(&self) -> BTreeMap<String, u64> {
        self.by_queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::ticket::{Lease, NewTicket};
    use crate::route::{FollowUp, LeaseToken};

    fn letter() -> DeadLetter {
        let mut ticket = Ticket::from_new(7, NewTicket::sample("inq-7", "billing", 1, 10));
        ticket.deliveries = 5;
        ticket.lease = Some(Lease {
            token: LeaseToken::from_bits(1),
            holder: "alice".into(),
            expires_ms: 3,
        });
        ticket.follow_ups = vec![FollowUp {
            inquiry_id: "f-1".into(),
            attached_ms: 2,
            payload: "{}".into(),
        }];
        DeadLetter {
            ticket,
            reason: "lease of alice expired after 5 deliveries".into(),
            dead_ms: 4,
        }
    }

    /// A redriven ticket keeps its id, payload and follow-ups, and starts over: no lease, no
    /// delivery, on the queue asked for.
    #[test]
    fn a_redriven_ticket_keeps_its_identity_and_starts_over() {
        let letter = letter();
        let ticket = redriven_ticket(&letter, "seo");
        assert_eq!((ticket.id, ticket.queue.as_str()), (7, "seo"));
        assert_eq!((ticket.deliveries, ticket.lease), (0, None));
        assert_eq!(ticket.payload, letter.ticket.payload);
        assert_eq!(ticket.follow_ups, letter.ticket.follow_ups);
    }

    /// An action names the ticket, its queue and why it was dead-lettered; an empty reason or
    /// actor is refused naming the field.
    #[test]
    fn actions_record_the_dead_letter_and_need_a_reason() {
        let action =
            DeadLetterAction::on(&letter(), DeadLetterOutcome::Discarded, "ops", "spam", 9);
        assert_eq!(
            (
                action.ticket_id,
                action.queue.as_str(),
                action.inquiry_id.as_str()
            ),
            (7, "billing", "inq-7")
        );
        assert_eq!(
            action.dead_reason,
            "lease of alice expired after 5 deliveries"
        );
        assert_eq!(
            require_actor_and_reason("ops", " "),
            Err(RouteError::InvalidArgument("reason is empty".into()))
        );
        assert_eq!(
            require_actor_and_reason("", "why"),
            Err(RouteError::InvalidArgument("actor is empty".into()))
        );
    }

    /// The tally counts each report on its ticket's queue.
    #[test]
    fn the_tally_counts_by_queue() {
        let tally = DeadLetterTally::default();
        let letter = letter();
        tally.report(&letter.ticket, "x");
        tally.report(&letter.ticket, "y");
        assert_eq!(tally.totals(), BTreeMap::from([("billing".to_owned(), 2)]));
    }
}
