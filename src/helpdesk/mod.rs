//! The domain API: every operation a front end offers — submit and classify inquiries and
//! follow what became of them; claim, extend, resolve (with the reply to the client), release
//! and reroute tickets; the replies for the channels to deliver; queue statistics; list,
//! redrive and discard dead letters — for a [`Caller`] whose
//! rights it checks, with typed requests and results and one error, [`HelpdeskError`].
//!
//! Adapters (the gRPC services, a web console) authenticate the caller, translate their
//! messages into these types and map [`ErrorKind`] to their status codes; the rules live here:
//! what is valid, who may do what, the lease policy, the stored decision joined to a claimed
//! ticket, the queue statistics merged with the pack's queues, the expected wait told on a
//! specialist queue ([`WaitEstimator`]). Deciding on one inquiry (idempotency,
//! classification, answering, routing) is [`intake`](crate::intake)'s part.

mod acknowledge;
mod activity;
mod caller;
mod dead_letters;
mod error;
mod feedback;
mod inquiry_state;
mod lease;
mod reply;
mod tickets;
mod validate;
mod wait;

#[cfg(test)]
mod tests;

pub use acknowledge::Acknowledgement;
pub use activity::{Activity, Count, MAX_ACTIVITY_DECISIONS, start_of_day_ms};
pub use caller::{Caller, Role};
pub use dead_letters::DeadLetterView;
pub use error::{ErrorKind, HelpdeskError};
pub use feedback::FeedbackBackend;
pub use inquiry_state::{InquiryState, Status, WATCH_RECHECK};
pub use lease::LeasePolicy;
pub use reply::{
    ClientReply, Closing, Delivered, MAX_REPLIES_PER_READ, NoReplyReason, RepliesPage,
};
pub use tickets::{AttachedFollowUp, ClaimedTicket, HeldTicket, QueueReport};
pub use validate::validate_inquiry;
pub use wait::{
    QueueCalibration, WaitBucket, WaitBucketKind, WaitEstimate, WaitEstimator, WaitScore,
    WaitSettings,
};

use std::sync::Arc;

use crate::answer::{ClientDirectory, StatusStore};
use crate::classify::{Classification, Classifier, Explanation};
use crate::intake::{DecisionQueue, Inquiry, Intake, IntakeError, Submitted, question_prose};
use crate::pack::{CannedReply, Pack, Queue};
use crate::readiness::NotReady;
use crate::route::Clock;

/// The engines the helpdesk works with.
pub struct Backends {
    pub classifier: Arc<Classifier>,
    /// The pack's status files: answer templates, and the clients when embedded.
    pub status: Arc<StatusStore>,
    /// Where clients are looked up (the status files, or PostgreSQL when scaled out).
    pub clients: Arc<dyn ClientDirectory>,
    pub queue: Arc<DecisionQueue>,
    /// What leases, SLAs and decisions are timed by.
    pub clock: Arc<dyn Clock>,
    /// The expected waits told to clients and how well they are kept.
    pub wait: Arc<WaitEstimator>,
    /// Where clients' ratings of answers are kept, and how links to rate are made.
    pub feedback: FeedbackBackend,
}

/// The limits the helpdesk enforces.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub leases: LeasePolicy,
    /// The most bytes an inquiry's subject and body, or a text to classify, may hold.
    pub max_text_bytes: usize,
}

/// A text classified without side effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub classification: Classification,
    pub explanation: Explanation,
}

/// The helpdesk: one pack's classifier, status data and queues behind one API.
pub struct Helpdesk {
    intake: Intake,
    classifier: Arc<Classifier>,
    status: Arc<StatusStore>,
    clients: Arc<dyn ClientDirectory>,
    queue: Arc<DecisionQueue>,
    /// The pack's queues (with the escalation queue): what tickets can be on.
    queues: Vec<Queue>,
    /// The queues' canned replies.
    canned: Vec<CannedReply>,
    policy: Policy,
    /// Bumped on every change this replica makes to tickets; watchers wait on it.
    changes: tokio::sync::watch::Sender<u64>,
    /// Bumped on every new decision this replica records, answers too: what the activity
    /// report counts.
    decided: tokio::sync::watch::Sender<u64>,
    feedback: FeedbackBackend,
    wait: Arc<WaitEstimator>,
    /// The pack's time zone: where the lead's day starts.
    time_zone: jiff::tz::TimeZone,
}

impl Helpdesk {
    pub fn new(pack: &Pack, backends: Backends, policy: Policy) -> Self {
        let Backends {
            classifier,
            status,
            clients,
            queue,
            clock,
            feedback,
            wait,
        } = backends;
        let intake = Intake::new(
            pack,
            Arc::clone(&classifier),
            Arc::clone(&status),
            Arc::clone(&clients),
            Arc::clone(&queue),
            clock,
        );
        Self {
            intake,
            classifier,
            status,
            clients,
            queue,
            queues: pack.queues.clone(),
            canned: pack.canned.clone(),
            policy,
            changes: tokio::sync::watch::Sender::new(0),
            decided: tokio::sync::watch::Sender::new(0),
            feedback,
            wait,
            time_zone: pack.settings.time_zone.zone().clone(),
        }
    }

    /// Decides on `inquiry` for `caller`: the original decision if its id was seen (for the
    /// same client), else a new one, recorded — durably before returning when it queued a
    /// ticket.
    pub async fn submit(
        &self,
        caller: &Caller,
        inquiry: Inquiry,
    ) -> Result<Submitted, HelpdeskError> {
        caller.check_may_submit()?;
        validate::validate_inquiry(&inquiry, self.policy.max_text_bytes)?;
        let mut inquiry = inquiry;
        let now_ms = self.now_ms();
        if !validate::plausible_receive_time(inquiry.received_ms, now_ms) {
            // A bogus time (a mail's Date of 1970, a client clock a year ahead) would move the
            // ticket's SLA and its place among the others: the server's clock stands in.
            tracing::warn!(
                inquiry_id = %inquiry.inquiry_id,
                received_ms = inquiry.received_ms,
                now_ms,
                "implausible receive time replaced by the server's clock"
            );
            inquiry.received_ms = now_ms;
        }
        // An inquiry named by its sender alone (email) is checked against the client it maps to.
        if inquiry.client_id.is_empty()
            && let Some(sender) = &inquiry.sender
            && let Some(client) = self
                .clients
                .client_for_email(sender)
                .await
                .map_err(IntakeError::from)?
        {
            inquiry.client_id = client.id.clone();
        }
        caller.check_client(&inquiry.client_id)?;
        let submitted = self.intake.submit(inquiry).await?;
        if !submitted.replayed {
            self.decided.send_modify(|count| *count += 1);
            if submitted.ticket_id.is_some() {
                self.changed();
            }
        }
        Ok(submitted)
    }

    /// The time decisions are stamped with, in Unix milliseconds; it stands in for an
    /// inquiry's missing receive time.
    pub fn now_ms(&self) -> i64 {
        self.intake.now_ms()
    }

    /// Classifies `text` (its prose, as a submission would be) and explains it, with no side
    /// effect.
    pub fn classify(&self, caller: &Caller, text: &str) -> Result<Classified, HelpdeskError> {
        caller.check_role(&[Role::Submitter, Role::Specialist], "classify")?;
        validate::validate_text(text, self.policy.max_text_bytes)?;
        let (classification, explanation) =
            self.classifier.classify_explained(&question_prose(text))?;
        Ok(Classified {
            classification,
            explanation,
        })
    }

    /// Whether the engines behind the helpdesk (the queue, the client directory) serve, else
    /// why each that does not.
    pub async fn healthy(&self) -> Result<(), NotReady> {
        let (queue, clients) = tokio::join!(self.queue.healthy(), self.clients.healthy());
        NotReady::all([queue, clients])
    }

    /// Makes everything the queue accepted durable (at shutdown).
    pub async fn flush(&self) -> Result<(), HelpdeskError> {
        Ok(self.queue.flush().await?)
    }

    /// Reads the pack's status files again (answer templates, and the clients when embedded).
    pub fn reload_status(&self) -> Result<(), crate::answer::AnswerError> {
        self.status
            .reload(crate::answer::instant_from_unix_ms(self.now_ms()))
    }
}
