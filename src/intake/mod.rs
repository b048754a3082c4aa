//! Intake: one inquiry in, one decision out — the decision path under the domain API
//! ([`crate::helpdesk`]).
//!
//! An inquiry is classified; a confident direct one is answered from the requesting client's
//! status data (and only from it); an expert one, or one a human must answer (low confidence,
//! no data, an ambiguous entity), becomes a ticket on its queue. The decision is recorded under
//! the inquiry id, so a resubmission gets the original decision and never a second ticket; a
//! ticket is durable before `submit` returns.
//!
//! Two kinds of inquiry are not simply answered or routed: a closing remark ("thanks, all
//! good!") gets a decision that needs no reply, with no ticket; an inquiry holding questions of
//! both tiers ("is invoice 1045 paid, and what do you think of a new logo?") goes whole to the
//! expert question's specialist queue, with the answers to its direct questions prepared from
//! the client's data and attached to the ticket, so one person replies to all of it and nothing
//! is half-answered in silence.
//!
//! An inquiry may name its client by the sender's address instead of its id (email intake): the
//! client is the one with that address, else that mail domain; a sender of no client is not
//! refused but escalated to the escalation queue with the reason "unknown sender", so a human
//! takes it. A caller that will not send an automatic answer (the email worker's reply guard)
//! hands the inquiry to a person with its reason: escalated the same way, whatever the
//! classifier says.
//!
//! An inquiry replying to an earlier one of its client joins its thread (`thread.rs`): attached
//! to the thread's open ticket while there is one, reopening the thread's last ticket when it
//! was resolved within the pack's reopen window (`reopen_within_days`), else decided with the
//! thread's topic. The
//! classifier reads an inquiry's prose, without pasted data (`prose.rs`); the answer's record
//! lookup and the ticket keep the whole text.

mod inquiry;
mod mixed;
mod prose;
mod thread;

pub use inquiry::{
    AnswerRecord, AttachedTicket, Channel, Decision, Disposition, Escalation, Inquiry,
    NoReplyRecord, QueuedTicket, ThreadRecord, ThreadRole, TicketPayload,
};
pub use prose::question_prose;

use std::collections::HashMap;
use std::sync::Arc;

use crate::answer::{
    Client, ClientDirectory, ClientTier, DirectoryError, StatusStore, instant_from_unix_ms,
};
use crate::classify::{Classifier, ClassifyError, Recommendation};
use crate::pack::{Pack, Queue};
use crate::route::{
    Attached, Clock, NewFollowUp, NewTicket, Recorded, RouteError, StoredDecision, TicketQueue,
};
use crate::text::quoted;
use mixed::{answer_record, prepared_answers};
use thread::{Reading, Thread};

/// Why an inquiry could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("client {} is unknown", quoted(.0))]
    UnknownClient(String),
    #[error("inquiry {} was already submitted by another client", quoted(.0))]
    InquiryIdTaken(String),
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// The decision on a submitted inquiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub decision: Decision,
    /// The id the queue gave the decision's ticket, when it queued one.
    pub ticket_id: Option<u64>,
    /// The inquiry id had been submitted before; this is the original decision.
    pub replayed: bool,
}

/// The queue store as the domain uses it: decisions are [`Decision`]s.
pub type DecisionQueue = dyn TicketQueue<Decision>;

/// The domain core: classifier, status data and queues together.
pub struct Intake {
    classifier: Arc<Classifier>,
    status: Arc<StatusStore>,
    clients: Arc<dyn ClientDirectory>,
    queue: Arc<DecisionQueue>,
    clock: Arc<dyn Clock>,
    /// The pack's queues by name, for their service-level targets.
    queues: HashMap<String, Queue>,
    escalation_queue: String,
    /// How long after its resolution a follow-up reopens a ticket.
    reopen_within_days: i64,
}

/// How urgent the tickets of a client tier are: 0 is the most urgent; a sender of no known
/// client (`None`) counts as standard.
fn priority_of(tier: Option<ClientTier>) -> u8 {
    match tier {
        Some(ClientTier::Platinum) => 0,
        Some(ClientTier::Gold) => 1,
        Some(ClientTier::Silver) => 2,
        Some(ClientTier::Standard) | None => 3,
    }
}

const DEFAULT_SLA_MS: i64 = 24 * 3_600_000;

impl Intake {
    pub fn new(
        pack: &Pack,
        classifier: Arc<Classifier>,
        status: Arc<StatusStore>,
        clients: Arc<dyn ClientDirectory>,
        queue: Arc<DecisionQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let queues = pack
            .queues
            .iter()
            .map(|queue| (queue.name.clone(), queue.clone()))
            .collect();
        Self {
            classifier,
            status,
            clients,
            queue,
            clock,
            queues,
            escalation_queue: pack.settings.escalation_queue.clone(),
            reopen_within_days: i64::from(pack.settings.reopen_within_days),
        }
    }

    /// The clock decisions are stamped with.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Decides on `inquiry`: the original decision if its id was seen, else a new one, recorded
    /// (durably before returning when it created a ticket).
    pub async fn submit(&self, mut inquiry: Inquiry) -> Result<Submitted, IntakeError> {
        let by_sender = match (inquiry.client_id.is_empty(), inquiry.sender.as_deref()) {
            (true, Some(sender)) => self.clients.client_for_email(sender).await?,
            _ => None,
        };
        if let Some(client) = &by_sender {
            inquiry.client_id = client.id.clone();
        }
        // Each is a round trip when the stores are remote: made at once.
        let named = (inquiry.in_reply_to.as_ref()).filter(|named| **named != inquiry.inquiry_id);
        let (stored, client, earlier) = tokio::join!(
            self.queue.decision(&inquiry.inquiry_id),
            async {
                match by_sender {
                    Some(client) => Ok(Some(client)),
                    None if inquiry.client_id.is_empty() => Ok(None),
                    None => self.clients.client(&inquiry.client_id).await,
                }
            },
            async {
                match named {
                    Some(named) => self.queue.decision(named).await,
                    None => Ok(None),
                }
            }
        );
        if let Some(stored) = stored? {
            return replay(&inquiry, stored);
        }
        let client = client?;
        let client = client.as_deref();
        // Only an inquiry named by its sender alone may come from no known client.
        let named_by_sender = inquiry.client_id.is_empty() && inquiry.sender.is_some();
        if client.is_none() && !named_by_sender {
            return Err(IntakeError::UnknownClient(inquiry.client_id.clone()));
        }
        let thread = self
            .thread_of(&inquiry, client, named.map(String::as_str), earlier?)
            .await?;
        let status = self.status.snapshot();
        let text = inquiry.text();
        let received = instant_from_unix_ms(inquiry.received_ms);
        let prose = question_prose(&text);
        let reader = status.reader(client, inquiry.sender.as_deref(), &prose);
        let Reading {
            classification,
            explanation,
            role,
        } = thread.read(&self.classifier, &prose)?;
        let decided_ms = self.clock.now_ms();
        // A closing remark ("thanks, all good!") does not reopen a resolved ticket.
        let joins = thread.open_ticket.as_ref().filter(|open| {
            open.resolved_ms.is_none()
                || !matches!(classification.outcome, Recommendation::NoReply { .. })
        });
        if let Some(open) = joins {
            let reopens = open.resolved_ms.is_some();
            let sla_due_ms = if reopens {
                self.sla_due_ms(&open.queue, client.map(|c| c.tier), inquiry.received_ms)
            } else {
                open.sla_due_ms
            };
            let decision = Decision {
                inquiry_id: inquiry.inquiry_id.clone(),
                client_id: inquiry.client_id.clone(),
                channel: inquiry.channel,
                classification: classification.clone(),
                explanation: explanation.clone(),
                decided_ms,
                outcome: Disposition::Attached(AttachedTicket {
                    queue: open.queue.clone(),
                    priority: open.priority,
                    sla_due_ms,
                    reopened: reopens,
                }),
                thread: Some(thread.record(&prose, ThreadRole::Attached)),
                language: Some(reader.language.clone()),
            };
            let follow_up = NewFollowUp {
                inquiry_id: inquiry.inquiry_id.clone(),
                client_id: inquiry.client_id.clone(),
                ticket_id: open.ticket_id,
                payload: ticket_payload(&inquiry),
                reopened_sla_due_ms: sla_due_ms,
            };
            match self.queue.attach(&decision, follow_up).await? {
                Attached::New => {
                    tracing::info!(
                        inquiry_id = %inquiry.inquiry_id,
                        ticket_id = open.ticket_id,
                        thread_id = %thread.id,
                        reopened = reopens,
                        "follow-up attached to its thread's ticket"
                    );
                    return Ok(Submitted {
                        decision,
                        ticket_id: Some(open.ticket_id),
                        replayed: false,
                    });
                }
                Attached::Existing(stored) => return replay(&inquiry, stored),
                // The ticket closed meanwhile: decided as in a thread without one.
                Attached::NotAttached => {}
            }
        }
        let (outcome, ticket) = match (client, &classification.outcome) {
            (None, _) => self.escalate(
                &inquiry,
                None,
                Escalation {
                    kind: "unknown_sender".to_owned(),
                    reason: format!(
                        "unknown sender {}",
                        inquiry.sender.as_deref().unwrap_or_default()
                    ),
                },
            ),
            (Some(client), _) if inquiry.handoff_reason.is_some() => self.escalate(
                &inquiry,
                Some(client.tier),
                Escalation {
                    kind: "handed_off".to_owned(),
                    reason: format!(
                        "handed to a person: {}",
                        inquiry.handoff_reason.as_deref().unwrap_or_default()
                    ),
                },
            ),
            (Some(client), Recommendation::Answer { status_kind }) => {
                let intent = &classification.intent;
                match status.answer(client, intent, status_kind, &text, received, &reader) {
                    Ok(found) if thread.repeats_answer(status_kind, found.entity_id.as_deref()) => {
                        self.escalate(
                            &inquiry,
                            Some(client.tier),
                            Escalation {
                                kind: "repeated_answer".to_owned(),
                                reason: format!(
                                    "a reply to an automatic answer from the {status_kind} \
                                     data would get the same answer again"
                                ),
                            },
                        )
                    }
                    Ok(found) => (
                        Disposition::Answered(answer_record(found, status_kind)),
                        None,
                    ),
                    Err(no_answer) => self.escalate(
                        &inquiry,
                        Some(client.tier),
                        Escalation {
                            kind: no_answer.kind().to_owned(),
                            reason: no_answer.reason(),
                        },
                    ),
                }
            }
            (Some(client), Recommendation::Route { queue }) => {
                let (mut outcome, ticket) = self.ticket(&inquiry, Some(client.tier), queue, None);
                if let Disposition::Queued(queued) = &mut outcome {
                    queued.prepared_answers =
                        prepared_answers(&status, client, &reader, &classification.parts, received);
                }
                (outcome, ticket)
            }
            (Some(_), Recommendation::NoReply { reason }) => (
                Disposition::NoReply(NoReplyRecord {
                    reason_kind: reason.kind().to_owned(),
                    reason: reason.describe().to_owned(),
                }),
                None,
            ),
            (Some(client), Recommendation::Escalate { reason, .. }) => self.escalate(
                &inquiry,
                Some(client.tier),
                Escalation {
                    kind: reason.kind().to_owned(),
                    reason: reason.describe(),
                },
            ),
        };
        let decision = Decision {
            inquiry_id: inquiry.inquiry_id.clone(),
            client_id: inquiry.client_id.clone(),
            channel: inquiry.channel,
            classification,
            explanation,
            decided_ms,
            outcome,
            thread: Some(thread.record(&prose, role)),
            language: Some(reader.language.clone()),
        };
        let new_ticket = ticket.map(|mut ticket: NewTicket| {
            ticket.payload = ticket_payload(&inquiry);
            // A sender of no client has no thread: its follow-ups are no one's to attach.
            ticket.thread_id = client.map(|_| thread.id.clone());
            ticket
        });
        let Some(new_ticket) = new_ticket else {
            // An answer (or a decision needing no reply) queues nothing: it is recorded for
            // replays without waiting for a commit.
            self.queue
                .record_answer(&inquiry.inquiry_id, &decision)
                .await?;
            return Ok(Submitted {
                decision,
                ticket_id: None,
                replayed: false,
            });
        };
        match self
            .queue
            .record_decision(&inquiry.inquiry_id, &decision, new_ticket)
            .await?
        {
            Recorded::New { ticket_id } => Ok(Submitted {
                decision,
                ticket_id: Some(ticket_id),
                replayed: false,
            }),
            // A concurrent submission of the same id won the race: its decision stands.
            Recorded::Existing(stored) => replay(&inquiry, stored),
        }
    }

    /// The decision on an earlier inquiry, with its ticket, for a specialist working on it.
    pub async fn stored_decision(
        &self,
        inquiry_id: &str,
    ) -> Result<Option<StoredDecision<Decision>>, IntakeError> {
        Ok(self.queue.decision(inquiry_id).await?)
    }

    /// A ticket on the escalation queue for a client of `tier` (`None`: no known client).
    fn escalate(
        &self,
        inquiry: &Inquiry,
        tier: Option<ClientTier>,
        escalation: Escalation,
    ) -> (Disposition, Option<NewTicket>) {
        let queue = self.escalation_queue.clone();
        self.ticket(inquiry, tier, &queue, Some(escalation))
    }

    /// A ticket on `queue` for a client of `tier` (`None`: no known client), with the priority
    /// and the SLA due time of that tier.
    fn ticket(
        &self,
        inquiry: &Inquiry,
        tier: Option<ClientTier>,
        queue: &str,
        escalation: Option<Escalation>,
    ) -> (Disposition, Option<NewTicket>) {
        let priority = priority_of(tier);
        let sla_due_ms = self.sla_due_ms(queue, tier, inquiry.received_ms);
        let outcome = Disposition::Queued(QueuedTicket {
            queue: queue.to_owned(),
            priority,
            sla_due_ms,
            escalation,
            prepared_answers: Vec::new(),
        });
        let ticket = NewTicket {
            inquiry_id: inquiry.inquiry_id.clone(),
            client_id: inquiry.client_id.clone(),
            queue: queue.to_owned(),
            priority,
            sla_due_ms,
            created_ms: self.clock.now_ms(),
            payload: String::new(),
            thread_id: None,
        };
        (outcome, Some(ticket))
    }

    /// When a ticket on `queue` for a client of `tier`, received at `received_ms`, is due.
    fn sla_due_ms(&self, queue: &str, tier: Option<ClientTier>, received_ms: i64) -> i64 {
        let sla_ms = self.queues.get(queue).map_or(DEFAULT_SLA_MS, |queue| {
            (queue.sla_hours_for(tier) * 3_600_000.0) as i64
        });
        received_ms.saturating_add(sla_ms)
    }

    /// The thread of `inquiry`, which names `named` with the stored decision `earlier` (see
    /// `thread.rs`); a sender of no client starts its own.
    async fn thread_of(
        &self,
        inquiry: &Inquiry,
        client: Option<&Client>,
        named: Option<&str>,
        earlier: Option<StoredDecision<Decision>>,
    ) -> Result<Thread, IntakeError> {
        let (Some(_), Some(named)) = (client, named) else {
            return Ok(Thread::started_by(inquiry));
        };
        let mut thread = Thread::followed(inquiry, named, earlier.as_ref());
        if thread.follows_up {
            // A ticket resolved longer ago than the pack's reopen window is closed for good:
            // the follow-up is decided afresh.
            let reopen_window_ms = self.reopen_within_days * 86_400_000;
            thread.open_ticket = self
                .queue
                .thread_ticket(&inquiry.client_id, &thread.id)
                .await?
                .filter(|ticket| {
                    ticket.resolved_ms.is_none_or(|resolved_ms| {
                        inquiry.received_ms.saturating_sub(resolved_ms) <= reopen_window_ms
                    })
                });
        }
        Ok(thread)
    }
}

/// What a ticket (or a follow-up attached to one) carries of `inquiry`.
fn ticket_payload(inquiry: &Inquiry) -> String {
    let payload = TicketPayload {
        inquiry: inquiry.clone(),
    };
    serde_json::to_string(&payload).expect("payloads serialize")
}

/// The stored decision on a resubmitted inquiry, if the same client submitted it.
fn replay(inquiry: &Inquiry, stored: StoredDecision<Decision>) -> Result<Submitted, IntakeError> {
    if stored.decision.client_id != inquiry.client_id {
        return Err(IntakeError::InquiryIdTaken(inquiry.inquiry_id.clone()));
    }
    Ok(Submitted {
        decision: stored.decision,
        ticket_id: stored.ticket_id,
        replayed: true,
    })
}
