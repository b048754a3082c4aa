//! Rating answers: a client rates the answer to one of its inquiries once it is answered
//! (automatically, or by a specialist resolving its ticket), through a frontend (the API), a
//! one-digit reply mail or a signed link; admins read the ratings by intent and by queue. The
//! rating is kept with its inquiry's context, read from the stored decision and the ticket's
//! audit record; the rules of changing a rating are the store's ([`crate::feedback`]).

use std::sync::Arc;
use std::time::Duration;

use super::{Caller, Helpdesk, HelpdeskError, Role};
use crate::feedback::{
    FeedbackRecord, FeedbackStore, FeedbackSummary, LinkError, LinkSigner, LinkTarget, Rating,
    Source,
};
use crate::intake::{Decision, Disposition};
use crate::route::StoredDecision;
use crate::text::quoted;

/// What the helpdesk keeps ratings with.
pub struct FeedbackBackend {
    pub store: Arc<dyn FeedbackStore>,
    /// Signs and checks the feedback links.
    pub links: LinkSigner,
    /// The address links start with (`public_url`), without a trailing slash.
    pub public_url: String,
    /// How long after the answer a rating may be changed, and a link works.
    pub change_window: Duration,
}

/// How an inquiry was answered.
struct Answer {
    /// The queue of the ticket a specialist resolved; none for an automatic answer.
    queue: Option<String>,
    answered_ms: i64,
}

impl Helpdesk {
    /// Records `rating` of the answer to `inquiry_id`, which came in by `source`, for `caller`
    /// (who must be allowed the inquiry's client; a specialist may not rate); the rating as
    /// kept. A later rating changes it as the store's rules allow. (An automatic answer's
    /// decision is readable once the queue commits it, moments after the answer.)
    pub async fn rate(
        &self,
        caller: &Caller,
        inquiry_id: &str,
        rating: Rating,
        source: Source,
    ) -> Result<FeedbackRecord, HelpdeskError> {
        caller.check_role(&[Role::Submitter], "rate answers")?;
        let rating = rating.validated()?;
        let stored = self.rated_decision(caller, inquiry_id).await?;
        let answer = self.answer_of(&stored).await?;
        let decision = stored.decision;
        let record = FeedbackRecord {
            wait_ms: (answer.answered_ms - decision.decided_ms).max(0),
            answered_by_person: answer.queue.is_some(),
            queue: answer.queue,
            answered_ms: answer.answered_ms,
            inquiry_id: decision.inquiry_id,
            client_id: decision.client_id,
            intent: decision.classification.intent,
            channel: decision.channel,
            rated_ms: self.now_ms(),
            source,
            changes: 0,
            rating,
        };
        Ok(self
            .feedback
            .store
            .rate(record, self.feedback.change_window)
            .await?)
    }

    /// The link a client of `client_id` rates the answer to `inquiry_id` through, without a
    /// token; it works for the change window from now.
    pub fn feedback_link(&self, inquiry_id: &str, client_id: &str) -> String {
        self.signed_link(inquiry_id, client_id).0
    }

    /// [`Self::feedback_link`] for `caller`, for an answered inquiry of a client it is allowed
    /// (a reply mail asking for a rating carries it), and when the link stops working.
    pub async fn rating_link(
        &self,
        caller: &Caller,
        inquiry_id: &str,
    ) -> Result<(String, i64), HelpdeskError> {
        caller.check_role(&[Role::Submitter], "ask for ratings")?;
        let stored = self.rated_decision(caller, inquiry_id).await?;
        self.answer_of(&stored).await?;
        Ok(self.signed_link(inquiry_id, &stored.decision.client_id))
    }

    /// A link rating `inquiry_id` of `client_id`, and its expiry: the change window from now.
    fn signed_link(&self, inquiry_id: &str, client_id: &str) -> (String, i64) {
        let window_ms = i64::try_from(self.feedback.change_window.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = self.now_ms().saturating_add(window_ms);
        let token = self.feedback.links.sign(&LinkTarget {
            inquiry_id: inquiry_id.to_owned(),
            client_id: client_id.to_owned(),
            expires_ms,
        });
        (
            format!("{}/feedback/{token}", self.feedback.public_url),
            expires_ms,
        )
    }

    /// The stored decision on `inquiry_id`, for a `caller` allowed its client.
    async fn rated_decision(
        &self,
        caller: &Caller,
        inquiry_id: &str,
    ) -> Result<StoredDecision<Decision>, HelpdeskError> {
        if inquiry_id.is_empty() {
            return Err(HelpdeskError::invalid("inquiry_id", "is empty"));
        }
        let stored = self
            .intake
            .stored_decision(inquiry_id)
            .await?
            .ok_or_else(|| {
                HelpdeskError::not_found(
                    "inquiry_id",
                    format!("inquiry {} is unknown", quoted(inquiry_id)),
                )
            })?;
        caller.check_client(&stored.decision.client_id)?;
        Ok(stored)
    }

    /// What the link token `token` lets its holder rate now, or why it is refused.
    pub fn feedback_link_target(&self, token: &str) -> Result<LinkTarget, LinkError> {
        self.feedback.links.check(token, self.now_ms())
    }

    /// The caller a link to `target` rates as: the inquiry's client, and only it.
    pub fn link_caller(target: &LinkTarget) -> Caller {
        Caller::new(
            "feedback link".to_owned(),
            Role::Submitter,
            vec![target.client_id.clone()],
            Vec::new(),
        )
    }

    /// The ratings by intent and by queue, for admins.
    pub async fn feedback_summary(
        &self,
        caller: &Caller,
    ) -> Result<FeedbackSummary, HelpdeskError> {
        caller.check_role(&[], "read the feedback summary")?;
        Ok(self.feedback.store.summary().await?)
    }

    /// How the inquiry of `stored` was answered, or FAILED_PRECONDITION when it was not (yet).
    async fn answer_of(&self, stored: &StoredDecision<Decision>) -> Result<Answer, HelpdeskError> {
        let decision = &stored.decision;
        if let Disposition::Answered(_) = decision.outcome {
            return Ok(Answer {
                queue: None,
                answered_ms: decision.decided_ms,
            });
        }
        let audit = match stored.ticket_id {
            Some(ticket_id) => self.queue.audit(ticket_id).await?,
            None => None,
        };
        let Some(audit) = audit else {
            let why = match decision.outcome {
                Disposition::NoReply(_) => "needed no reply",
                _ => "is not answered yet: its ticket is open",
            };
            return Err(HelpdeskError::NotAnswered(format!(
                "inquiry {} {why}; only an answer can be rated",
                quoted(&decision.inquiry_id)
            )));
        };
        Ok(Answer {
            queue: Some(audit.queue),
            answered_ms: audit.resolved_ms,
        })
    }
}
