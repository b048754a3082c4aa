//! What a client is told when a person will answer: which team has the inquiry (named by its
//! queue's description, before a colon), when the service level says it is due and, when recent
//! resolutions of that queue allow, an expected wait told as a bucket ("within 4 hours"), which
//! counts the ready tickets ahead of it; all of it in the words of the pack's
//! `[acknowledgement]` template, in the language the decision writes to the client in. Each wait told is recorded so that the share kept (answered
//! within the bucket) is measured; each resolution feeds the estimate, and at start the recent
//! ones are read back from the queue's audit records.

use super::wait::{QueueCalibration, WaitEstimate};
use super::{Caller, Helpdesk, HelpdeskError};
use crate::answer::{AcknowledgementFacts, ExpectedWait};
use crate::intake::{Disposition, Submitted};
use crate::route::Ticket;

/// The most audit records read back at start: a week of a helpdesk resolving some 14,000
/// tickets a day, a few tens of megabytes read once.
const MAX_RESOLUTIONS_READ_BACK: usize = 100_000;

/// The team a queue's description names: its text before the first colon ("Web developers:
/// integrations, bugs …" → "Web developers"), else all of it.
fn team_of(description: &str) -> &str {
    description.split(':').next().unwrap_or_default().trim()
}

/// The acknowledgement of an inquiry a person will answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledgement {
    /// The team: what the queue's description names (before a colon), else the queue's name.
    pub team: String,
    pub sla_due_ms: i64,
    /// Withheld when there are too few recent resolutions, and on a replay or a follow-up
    /// (the first acknowledgement told it).
    pub expected: Option<WaitEstimate>,
    /// All of it in the words of the pack's template: what every channel tells the client.
    pub text: String,
}

impl Helpdesk {
    /// What to tell the client of `submitted`, when a person answers it: the team, the SLA due
    /// time and, for a new ticket, the expected wait (recorded as told), which counts the
    /// ready tickets ahead of it on its queue.
    pub async fn acknowledge(&self, submitted: &Submitted) -> Option<Acknowledgement> {
        let (queue, priority, sla_due_ms, new_ticket) = match &submitted.decision.outcome {
            Disposition::Queued(queued) => (
                &queued.queue,
                queued.priority,
                queued.sla_due_ms,
                !submitted.replayed,
            ),
            Disposition::Attached(attached) => (
                &attached.queue,
                attached.priority,
                attached.sla_due_ms,
                false,
            ),
            Disposition::Answered(_) | Disposition::NoReply(_) => return None,
        };
        let team = self
            .queues
            .iter()
            .find(|q| q.name == *queue)
            .map(|q| team_of(&q.description))
            .filter(|team| !team.is_empty())
            .unwrap_or(queue)
            .to_owned();
        let expected = match (new_ticket, submitted.ticket_id) {
            (true, Some(ticket_id)) => {
                let ahead = self.ready_ahead(queue, priority, ticket_id).await;
                let estimate = self.wait.estimate(queue, priority, self.now_ms(), 0, ahead);
                if let Some(estimate) = &estimate {
                    self.wait.told(ticket_id, queue, estimate.bucket);
                }
                estimate
            }
            _ => None,
        };
        let text = self.status.snapshot().templates().acknowledgement(
            &AcknowledgementFacts {
                team: &team,
                ticket_id: submitted.ticket_id.unwrap_or_default(),
                sla_due: crate::answer::instant_from_unix_ms(sla_due_ms),
                expected_wait: expected.as_ref().map(|estimate| ExpectedWait {
                    bucket: estimate.bucket.kind.label(),
                    english: estimate.english(),
                }),
            },
            submitted.decision.language.as_ref(),
        );
        Some(Acknowledgement {
            team,
            sla_due_ms,
            expected,
            text,
        })
    }

    /// The ready tickets ahead of ticket `ticket_id` of `priority` on `queue`, or `None` when
    /// the queue cannot say: the estimate then reads the resolutions alone rather than fail the
    /// submission, which is stored already.
    async fn ready_ahead(&self, queue: &str, priority: u8, ticket_id: u64) -> Option<u64> {
        match self.queue.ready_ahead(queue, priority, ticket_id).await {
            Ok(ahead) => Some(ahead),
            Err(err) => {
                tracing::warn!(ticket_id, queue, error = %err, "backlog ahead of a new ticket unknown");
                None
            }
        }
    }

    /// Feeds the expected waits with the tickets resolved within the estimator's look-back, as
    /// the queue's audit records keep them (in the store every replica shares, when scaled
    /// out), so that a restarted or added replica tells waits at once; the latest
    /// `MAX_RESOLUTIONS_READ_BACK` at most. Returns how many were read back: a record kept
    /// before audit records said how their ticket was queued is skipped.
    pub async fn read_back_resolutions(&self) -> Result<usize, HelpdeskError> {
        let look_back_ms =
            i64::try_from(self.wait.settings().look_back().as_millis()).unwrap_or(i64::MAX);
        let since_ms = self.now_ms().saturating_sub(look_back_ms);
        let records = self
            .queue
            .resolved_since(since_ms, MAX_RESOLUTIONS_READ_BACK)
            .await?;
        let mut read = 0;
        // Oldest first, as they were answered: each queue keeps its latest.
        for record in records.iter().rev() {
            let Some(queued) = record.queued_as else {
                continue;
            };
            self.wait.observe(
                &record.queue,
                queued.priority,
                queued.created_ms,
                record.resolved_ms,
            );
            read += 1;
        }
        Ok(read)
    }

    /// How well the expected waits told were kept, by queue and bucket, as of now, for
    /// admins: since this helpdesk started (the promises are kept in memory).
    pub fn wait_calibration(
        &self,
        caller: &Caller,
    ) -> Result<Vec<QueueCalibration>, HelpdeskError> {
        caller.check_role(&[], "read how the expected waits were kept")?;
        Ok(self.wait.calibration(self.now_ms()))
    }

    /// Feeds the wait estimate with `ticket`, answered at `answered_ms`, and checks the wait
    /// it was told.
    pub(super) fn observe_answered(&self, ticket: &Ticket, answered_ms: i64) {
        self.wait.observe(
            &ticket.queue,
            ticket.priority,
            ticket.created_ms,
            answered_ms,
        );
        self.wait.answered(ticket.id, answered_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::team_of;

    #[test]
    fn the_team_is_named_before_the_descriptions_colon() {
        assert_eq!(
            team_of("Web developers: integrations, bugs"),
            "Web developers"
        );
        assert_eq!(team_of("Finance"), "Finance");
        assert_eq!(team_of(""), "");
    }
}
