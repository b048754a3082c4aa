//! What an operator does with a dead letter, inside the writer's transaction: redrive it
//! (back to `tickets` and `ready` under its id, into its thread's index and with its
//! follow-ups again) or discard it, each recorded in `dead_letter_actions`.

use super::{Txn, take};
use crate::route::dead_letter::{DeadLetter, DeadLetterAction, DeadLetterOutcome, redriven_ticket};
use crate::route::embedded::schema::{encode, find_dead_letter, thread_key};
use crate::route::error::RouteError;

impl Txn<'_> {
    /// Puts dead letter `id` back ready on `to_queue`, deliveries from zero, as its thread's
    /// open ticket with its follow-ups, and records the redrive.
    pub fn redrive(
        &mut self,
        id: u64,
        to_queue: &str,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        let letter = self.take_dead_letter(id)?;
        let mut ticket = redriven_ticket(&letter, to_queue);
        let follow_ups = std::mem::take(&mut ticket.follow_ups);
        for (position, follow_up) in (0u32..).zip(&follow_ups) {
            let what = format_args!("follow-up {position} of ticket {id}");
            self.follow_ups
                .insert((id, position), encode(what, follow_up)?.as_slice())?;
        }
        if let Some(key) = thread_key(&ticket) {
            self.threads.insert(key, ())?;
        }
        self.make_ready(&mut ticket)?;
        let outcome = DeadLetterOutcome::Redriven {
            to_queue: to_queue.to_owned(),
        };
        let action = self.record_action(&letter, outcome, actor, reason)?;
        tracing::info!(
            ticket_id = id,
            from = %letter.ticket.queue,
            to = to_queue,
            actor,
            reason,
            "dead letter redriven"
        );
        Ok(action)
    }

    /// Removes dead letter `id` for good and records the discard.
    pub fn discard(
        &mut self,
        id: u64,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        let letter = self.take_dead_letter(id)?;
        let action = self.record_action(&letter, DeadLetterOutcome::Discarded, actor, reason)?;
        tracing::info!(
            ticket_id = id,
            queue = %letter.ticket.queue,
            actor,
            reason,
            "dead letter discarded"
        );
        Ok(action)
    }

    /// Removes dead letter `id` from its table; NotFound when there is none.
    fn take_dead_letter(&mut self, id: u64) -> Result<DeadLetter, RouteError> {
        let letter = find_dead_letter(&self.dead_letters, id)?.ok_or(RouteError::NotFound(id))?;
        self.dead_letters
            .remove((letter.ticket.queue.as_str(), id))?;
        Ok(letter)
    }

    /// Stores the action `outcome` on `letter` under the next action id.
    fn record_action(
        &mut self,
        letter: &DeadLetter,
        outcome: DeadLetterOutcome,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        let mut action = DeadLetterAction::on(letter, outcome, actor, reason, self.now_ms);
        action.id = take(&mut self.next_dead_letter_action_id);
        let what = format_args!("dead-letter action {}", action.id);
        self.dead_letter_actions
            .insert(action.id, encode(what, &action)?.as_slice())?;
        Ok(action)
    }
}
