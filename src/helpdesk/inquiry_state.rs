//! What became of an inquiry, for the client's frontend: the decision, where its ticket is
//! (queued, being worked on, resolved, dead-lettered) and the replies sent, read for the
//! caller's own client only; and the signal that something changed, which a watcher waits on
//! instead of polling.
//!
//! Changes made by this replica wake watchers at once. A change made by another replica (when
//! scaled out) is seen at the watcher's next periodic look ([`WATCH_RECHECK`]).

use std::time::Duration;

use tokio::sync::watch;

use super::reply::{Delivered, delivered};
use super::{Caller, Helpdesk, HelpdeskError};
use crate::intake::{Decision, Disposition};
use crate::route::AuditRecord;

/// How often a watcher looks again without a local change: what another replica's change may
/// wait before a watcher here sees it.
pub const WATCH_RECHECK: Duration = Duration::from_secs(2);

/// Where an inquiry stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Answered automatically from the client's data.
    Answered,
    /// Needs no reply (a closing remark).
    NoReply,
    /// Its ticket waits on its queue.
    Queued { queue: String },
    /// A specialist works on its ticket until `lease_expires_ms`.
    Claimed {
        queue: String,
        lease_expires_ms: i64,
    },
    /// Its ticket was resolved.
    Resolved { queue: String, resolved_ms: i64 },
    /// Its ticket is out of circulation, waiting for an operator.
    DeadLettered { queue: String },
    /// Its ticket is no longer kept (past retention).
    Closed,
}

/// An inquiry's state as its client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InquiryState {
    pub decision: Decision,
    /// The ticket it queued or was attached to.
    pub ticket_id: Option<u64>,
    pub status: Status,
    /// The replies sent on its ticket, oldest first.
    pub replies: Vec<Delivered>,
}

impl Helpdesk {
    /// The state of inquiry `inquiry_id`, for a caller allowed its client; NOT_FOUND when no
    /// decision on it is kept (or it is another client's: the caller learns nothing of it).
    pub async fn inquiry(
        &self,
        caller: &Caller,
        inquiry_id: &str,
    ) -> Result<InquiryState, HelpdeskError> {
        let not_found = || {
            HelpdeskError::not_found("inquiry_id", format!("no inquiry {inquiry_id:?} is known"))
        };
        let stored = self
            .intake
            .stored_decision(inquiry_id)
            .await?
            .ok_or_else(not_found)?;
        if caller.check_client(&stored.decision.client_id).is_err() {
            return Err(not_found());
        }
        let decision = stored.decision;
        let Some(ticket_id) = stored.ticket_id else {
            let status = match decision.outcome {
                Disposition::NoReply(_) => Status::NoReply,
                _ => Status::Answered,
            };
            return Ok(InquiryState {
                decision,
                ticket_id: None,
                status,
                replies: Vec::new(),
            });
        };
        let (ticket, audit, sent) = tokio::join!(
            self.queue.ticket(ticket_id),
            self.queue.audit(ticket_id),
            self.queue.replies(ticket_id)
        );
        let status = match (ticket?, audit?) {
            (Some(ticket), _) => match ticket.lease {
                Some(lease) if lease.expires_ms > self.now_ms() => Status::Claimed {
                    queue: ticket.queue,
                    lease_expires_ms: lease.expires_ms,
                },
                _ => Status::Queued {
                    queue: ticket.queue,
                },
            },
            (
                None,
                Some(AuditRecord {
                    queue, resolved_ms, ..
                }),
            ) => Status::Resolved { queue, resolved_ms },
            (None, None) => self.dead_lettered(ticket_id).await?,
        };
        let replies = sent?.into_iter().map(delivered).collect::<Result<_, _>>()?;
        Ok(InquiryState {
            decision,
            ticket_id: Some(ticket_id),
            status,
            replies,
        })
    }

    /// Signals to watchers that tickets changed.
    pub(super) fn changed(&self) {
        self.changes.send_modify(|generation| *generation += 1);
    }

    /// A receiver that sees every change this replica makes to tickets (a submission, a claim,
    /// a resolution, …): a watcher re-reads its inquiry when it fires.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Dead-lettered, when the ticket is among the dead letters, else no longer kept.
    async fn dead_lettered(&self, ticket_id: u64) -> Result<Status, HelpdeskError> {
        Ok(match self.queue.dead_letter(ticket_id).await? {
            Some(dead) => Status::DeadLettered {
                queue: dead.ticket.queue,
            },
            None => Status::Closed,
        })
    }
}
