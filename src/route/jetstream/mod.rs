//! `JetStreamQueue`: the scaled-out ticket queue. Tickets are messages of a NATS JetStream
//! work-queue stream, one subject per specialist queue and priority band
//! (`<prefix>.tickets.<queue>.p<band>`), each read by a durable pull consumer whose ack wait
//! is the claim lease. A claim pulls from the most urgent band first (within a band the stream
//! keeps arrival order, which is SLA order for one queue); `Extend` is a nak delayed by the
//! lease asked for (the server then redelivers the message that long from now, unless it is
//! acknowledged first: a per-message ack wait), `Resolve` an acknowledged ack, `Release` a nak.
//! Publishing is deduplicated by inquiry id, so replicas racing on one inquiry make one ticket.
//! A ticket's id comes from PostgreSQL ([`ids`]) and travels in its message's header, so ids
//! stay unique when the stream is recreated. The stream and consumers are set up, checked
//! against this replica's settings and restored when deleted by [`setup`]. Decisions (written
//! in group commits by [`writer`]), leases, dead letters, audit records and corrections live in
//! PostgreSQL ([`Ledger`]), so any replica can serve any specialist call. So do the threads'
//! open tickets and the follow-ups attached to them: a message cannot change once published,
//! so a claim joins its ticket's follow-ups from the ledger.
//!
//! A ticket whose lease expired with `max_deliveries` deliveries is moved to the dead letters
//! at the next claim that meets it, as in the embedded queue. The ledger's lease rows decide
//! whether a lease is live (the contract's lease rules) and which delivered messages stats
//! count as leased: an expired one is ready, waiting for its redelivery. A redrive publishes
//! the dead letter's ticket again under its id, then records it in the ledger (see
//! [`TicketQueue::redrive`] below for what a crash between the two leaves).

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::connection::State;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{self, AckKind, Context};
use async_trait::async_trait;
use futures_util::StreamExt;

use crate::postgres::PostgresError;
use crate::readiness::NotReady;
use crate::route::clock::Clock;
use crate::route::contract::TicketQueue;
use crate::route::dead_letter::{
    DeadLetter, DeadLetterAction, DeadLetterOutcome, DeadLetterTally, require_actor_and_reason,
};
use crate::route::decision::{
    DecisionRecord, Recorded, StoredDecision, decode_decision, encode_decision,
};
use crate::route::error::RouteError;
use crate::route::history::{AuditRecord, Correction, QueuedAs, Resolution, SentReply};
use crate::route::lease_token::LeaseToken;
use crate::route::stats::{NextReady, QueueStats};
use crate::route::thread::{Attached, NewFollowUp, ThreadTicket};
use crate::route::ticket::{
    Lease, NewTicket, Ticket, lease_expiry, released_last, require_lease_ms, require_name,
};

mod ids;
mod ledger;
mod setup;
mod writer;

use ids::TicketIds;
pub use ledger::Ledger;
use ledger::{LeaseRow, NewDecision, Queued};
pub use setup::OnDrift;
use writer::DecisionWriter;

/// Priority bands: ticket priority 0 (most urgent) to 3; higher priorities share the last.
const BANDS: u8 = 4;
/// Header naming the ticket a message is.
const TICKET_HEADER: &str = "Triage-Ticket-Id";
/// Most tickets one stats call walks per band to count SLA breaches.
const MAX_BREACH_SCAN: u64 = 10_000;
/// How long the readiness check waits for the stream's state: the health watcher asks every
/// half second, and a server that takes longer is not ready to take tickets.
const READY_CHECK_TIMEOUT: Duration = Duration::from_millis(400);
/// Pull requests one fetch sends before it gives up (see [`JetStreamQueue::next`]).
const FETCH_ATTEMPTS: usize = 3;
/// The longest redelivery delay asked of the server: a century. It keeps its deadlines as
/// signed 64-bit nanoseconds since 1970, which end in 2262, so a longer delay could wrap
/// around; a longer lease still runs as granted in the ledger.
const MAX_REDELIVERY_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Where the queue lives and how it behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct JetStreamSettings {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
    /// Stream replicas (3 in a production cluster; 1 on one server).
    pub replicas: usize,
    /// The claim lease: the consumers' ack wait.
    pub lease: Duration,
    /// Deliveries after which an expired ticket is dead-lettered.
    pub max_deliveries: u32,
    /// How long a republished inquiry id is recognised as a duplicate.
    pub duplicate_window: Duration,
    /// How long a publish or an ack waits for the server before UNAVAILABLE.
    pub timeout: Duration,
    /// The specialist queues (one consumer per queue and band).
    pub queues: Vec<String>,
    /// What to do when the stream, consumers or recorded settings found disagree with these.
    pub on_drift: OnDrift,
}

/// The JetStream ticket queue with its PostgreSQL ledger, keeping decisions of type `D`.
pub struct JetStreamQueue<D> {
    nats: async_nats::Client,
    js: Context,
    stream: jetstream::stream::Stream,
    ledger: Ledger,
    settings: JetStreamSettings,
    consumers: HashMap<(String, u8), PullConsumer>,
    ids: TicketIds,
    decisions_written: DecisionWriter,
    clock: Arc<dyn Clock>,
    /// The tickets this replica dead-lettered since it connected.
    dead_lettered: DeadLetterTally,
    decisions: PhantomData<fn() -> D>,
}

/// A NATS operation that failed while `what` was being done, naming the server.
fn unavailable(url: &str, what: &str, err: impl std::fmt::Display) -> RouteError {
    RouteError::Unavailable(format!("nats at {url}: {what}: {err}"))
}

/// What the stream said of a publish: where the message is, and whether it was there already
/// (a republish of an inquiry id within the duplicate window).
struct Published {
    stream_seq: u64,
    duplicate: bool,
}

impl From<PostgresError> for RouteError {
    fn from(err: PostgresError) -> Self {
        match err {
            PostgresError::Unavailable(_) => RouteError::Unavailable(err.to_string()),
            _ => RouteError::Storage(err.to_string()),
        }
    }
}

/// Refuses names that cannot be part of a subject or a consumer name.
fn require_token(what: &str, value: &str) -> Result<(), RouteError> {
    require_name(what, value)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(RouteError::InvalidArgument(format!(
            "{what} {value:?} may hold only ASCII letters, digits, `_` and `-` with JetStream"
        )));
    }
    Ok(())
}

impl<D: DecisionRecord> JetStreamQueue<D> {
    /// Connects to NATS and sets up the stream and one durable consumer per queue and band
    /// (created when missing, checked against these settings when found, so every replica may
    /// do it at start). Fails at once when NATS cannot be reached; afterwards the client
    /// reconnects by itself.
    pub async fn connect(
        settings: JetStreamSettings,
        ledger: Ledger,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RouteError> {
        require_token("stream", &settings.stream)?;
        require_token("subject prefix", &settings.subject_prefix)?;
        for queue in &settings.queues {
            require_token("queue", queue)?;
        }
        let nats = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(settings.timeout))
            .max_reconnects(None)
            .connect(settings.url.as_str())
            .await
            .map_err(|err| unavailable(&settings.url, "cannot connect", err))?;
        let mut js = jetstream::new(nats.clone());
        js.set_timeout(settings.timeout);
        let (stream, consumers) = setup::open(&js, &ledger, &settings).await?;
        tracing::info!(
            url = %settings.url,
            stream = %settings.stream,
            consumers = consumers.len(),
            "jetstream queue ready"
        );
        Ok(Self {
            decisions_written: DecisionWriter::start(ledger.clone()),
            nats,
            js,
            stream,
            ledger,
            settings,
            consumers,
            ids: TicketIds::default(),
            clock,
            dead_lettered: DeadLetterTally::default(),
            decisions: PhantomData,
        })
    }

    /// A NATS operation that failed while `what` was being done.
    fn unavailable(&self, what: &str, err: impl std::fmt::Display) -> RouteError {
        unavailable(&self.settings.url, what, err)
    }

    fn connected(&self) -> Result<(), RouteError> {
        match self.nats.connection_state() {
            State::Connected => Ok(()),
            state => Err(RouteError::Unavailable(format!(
                "nats at {} is not connected ({state:?})",
                self.settings.url
            ))),
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Publishes `ticket` as ticket `ticket_id` on its queue's band and says where the stream
    /// stored it; `message_id` makes a republish a duplicate of the first.
    async fn publish(
        &self,
        ticket: &NewTicket,
        message_id: &str,
        ticket_id: u64,
    ) -> Result<Published, RouteError> {
        require_token("queue", &ticket.queue)?;
        self.connected()?;
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", message_id);
        headers.insert(TICKET_HEADER, ticket_id.to_string().as_str());
        let payload = serde_json::to_vec(ticket)
            .map_err(|err| RouteError::storage("encoding a ticket", err))?;
        let band = ticket.priority.min(BANDS - 1);
        let ack = self
            .js
            .publish_with_headers(
                subject(&self.settings.subject_prefix, &ticket.queue, band),
                headers,
                payload.into(),
            )
            .await
            .map_err(|err| self.unavailable("publishing a ticket", err))?
            .await
            .map_err(|err| {
                self.unavailable(
                    &format!("publishing a ticket to stream {}", self.settings.stream),
                    err,
                )
            })?;
        Ok(Published {
            stream_seq: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Publishes the resolved ticket `ticket_id` again (ready on its queue under its id, queued
    /// at `now_ms`, due at `sla_due_ms`) and marks it open. Racing follow-ups publish under one
    /// message id (the ticket and the time it was resolved), so the stream keeps one message;
    /// the first to mark it open wins. A crash between the two leaves the message and a ticket
    /// still resolved: the follow-up, not yet decided, is submitted again and reopens it under
    /// the same message id (within the stream's duplicate window).
    async fn reopen(
        &self,
        ticket_id: u64,
        mut ticket: NewTicket,
        resolved_ms: i64,
        now_ms: i64,
        sla_due_ms: i64,
    ) -> Result<(), RouteError> {
        ticket.created_ms = now_ms;
        ticket.sla_due_ms = sla_due_ms;
        let message_id = format!("{}@reopened-{resolved_ms}", ticket.inquiry_id);
        let published = self.publish(&ticket, &message_id, ticket_id).await?;
        if self
            .ledger
            .reopen(ticket_id, resolved_ms, &ticket, published.stream_seq)
            .await?
        {
            tracing::info!(ticket_id, queue = %ticket.queue, "resolved ticket reopened by a follow-up");
        }
        Ok(())
    }

    /// The id of the ticket an earlier publish of `inquiry_id` stored at `stream_seq` (a
    /// replica that published it stopped before recording it, or is recording it now): read
    /// from the message while the stream holds it, else from what became of the ticket.
    async fn published_earlier(
        &self,
        inquiry_id: &str,
        stream_seq: u64,
    ) -> Result<Option<u64>, RouteError> {
        if let Ok(message) = self.stream.direct_get(stream_seq).await {
            return Ok(Some(ticket_id_of(Some(&message.headers), message.sequence)));
        }
        Ok(self.ledger.ticket_of_unrecorded(inquiry_id).await?)
    }

    /// Sends an ack of kind `kind` (ack, nak, term) for a delivery and waits for the server
    /// to confirm it.
    async fn ack(&self, ack_subject: &str, kind: AckKind) -> Result<(), RouteError> {
        self.connected()?;
        let what = format!("{kind:?} ack");
        tokio::time::timeout(
            self.settings.timeout,
            self.nats.request(ack_subject.to_owned(), kind.into()),
        )
        .await
        .map_err(|err| self.unavailable(&what, err))?
        .map_err(|err| self.unavailable(&what, err))?;
        Ok(())
    }

    /// The lease row of a ticket `holder` leases under `token`, live now (the contract's
    /// lease rules, `Ticket::held_by`).
    async fn held(
        &self,
        ticket_id: u64,
        token: LeaseToken,
        holder: &str,
    ) -> Result<LeaseRow, RouteError> {
        let lease = self
            .ledger
            .lease(ticket_id)
            .await?
            .ok_or(RouteError::NotFound(ticket_id))?;
        as_ticket(&lease).held_by(token, holder, self.clock.now_ms())?;
        Ok(lease)
    }

    /// Pulls the next message of one consumer without waiting for new ones. When claimers
    /// race for a band's last message, the server may keep a loser's no-wait pull request
    /// waiting instead of answering "no messages" (nats-server 2.9), and the next message it
    /// would get is a redelivery a whole lease later; so an unanswered pull is abandoned after
    /// the configured timeout (the server drops a pull whose inbox has no subscriber) and
    /// asked again.
    async fn next(
        &self,
        consumer: &PullConsumer,
    ) -> Result<Option<jetstream::Message>, RouteError> {
        for _ in 0..FETCH_ATTEMPTS {
            let mut batch = consumer
                .fetch()
                .max_messages(1)
                .messages()
                .await
                .map_err(|err| {
                    self.unavailable(&format!("fetching from {}", consumer_of(consumer)), err)
                })?;
            match tokio::time::timeout(self.settings.timeout, batch.next()).await {
                Ok(None) => return Ok(None),
                Ok(Some(Ok(message))) => return Ok(Some(message)),
                Ok(Some(Err(err))) => {
                    return Err(
                        self.unavailable(&format!("fetching from {}", consumer_of(consumer)), err)
                    );
                }
                Err(_unanswered) => {
                    tracing::debug!("a pull request went unanswered; asking again")
                }
            }
        }
        Err(self.unavailable(
            &format!("fetching from {}", consumer_of(consumer)),
            format_args!(
                "{FETCH_ATTEMPTS} pull requests unanswered within {:?}",
                self.settings.timeout
            ),
        ))
    }

    /// Dead-letters a delivery whose `previous` lease ended with its last allowed delivery.
    async fn dead_letter(
        &self,
        previous: &LeaseRow,
        ticket: &NewTicket,
        ack_subject: &str,
        reason: String,
    ) -> Result<(), RouteError> {
        let ticket_id = previous.ticket_id;
        let now = self.clock.now_ms();
        let mut letter = Ticket::from_new(ticket_id, ticket.clone());
        letter.deliveries = previous.deliveries;
        self.ledger
            .record_dead_letter(&letter, &reason, now)
            .await?;
        self.ack(ack_subject, AckKind::Ack).await?;
        self.ledger.drop_lease(ticket_id, previous.token).await?;
        self.dead_lettered.report(&letter, &reason);
        Ok(())
    }

    /// Walks the open tickets of a band in stream order; counts those past their SLA due,
    /// stopping at the first that is not (one queue's SLA order is its arrival order).
    async fn sla_breaches(&self, subject: &str, now_ms: i64) -> u64 {
        let mut breaches = 0;
        let mut next = self.stream.direct_get_first_for_subject(subject).await;
        while let Ok(message) = next {
            let Ok(ticket) = serde_json::from_slice::<NewTicket>(&message.payload) else {
                break;
            };
            if ticket.sla_due_ms >= now_ms || breaches >= MAX_BREACH_SCAN {
                break;
            }
            breaches += 1;
            next = self
                .stream
                .direct_get_next_for_subject(subject, Some(message.sequence + 1))
                .await;
        }
        breaches
    }
}

/// The redelivery delay that keeps a message out of circulation for a lease of `lease_ms`.
fn redelivery_delay(lease_ms: i64) -> Duration {
    Duration::from_millis(lease_ms.unsigned_abs()).min(MAX_REDELIVERY_DELAY)
}

/// "consumer NAME", for messages.
fn consumer_of(consumer: &PullConsumer) -> String {
    let name = consumer.cached_info().name.as_str();
    format!("consumer {name}")
}

fn subject(prefix: &str, queue: &str, band: u8) -> String {
    format!("{prefix}.tickets.{queue}.p{band}")
}

/// The leased ticket a lease row describes.
fn as_ticket(lease: &LeaseRow) -> Ticket {
    let mut ticket = Ticket::from_new(lease.ticket_id, lease.ticket.clone());
    ticket.deliveries = lease.deliveries;
    ticket.lease = Some(Lease {
        token: lease.token,
        holder: lease.holder.clone(),
        expires_ms: lease.expires_ms,
    });
    ticket
}

/// The ticket id a message carries; a message published before ids came from PostgreSQL has
/// none unless rerouted, and is the ticket of its own sequence.
fn ticket_id_of(headers: Option<&HeaderMap>, sequence: u64) -> u64 {
    headers
        .and_then(|h| h.get(TICKET_HEADER))
        .and_then(|value| value.as_str().parse().ok())
        .unwrap_or(sequence)
}

#[async_trait]
impl<D: DecisionRecord> TicketQueue<D> for JetStreamQueue<D> {
    async fn record_decision(
        &self,
        inquiry_id: &str,
        decision: &D,
        ticket: NewTicket,
    ) -> Result<Recorded<D>, RouteError> {
        require_name("inquiry id", inquiry_id)?;
        ticket.validate(inquiry_id)?;
        let stored = encode_decision(inquiry_id, decision)?;
        let new_id = self.ids.next(&self.ledger).await?;
        // Stored in the stream first: a crash before the decision is recorded leaves a ticket
        // that the retry's duplicate publish finds again, never a decision without a ticket.
        let published = self.publish(&ticket, inquiry_id, new_id).await?;
        let ticket_id = if published.duplicate {
            self.published_earlier(inquiry_id, published.stream_seq)
                .await?
                .unwrap_or(new_id)
        } else {
            new_id
        };
        let queued = Queued {
            ticket_id,
            stream_seq: published.stream_seq,
        };
        let decision = NewDecision {
            inquiry_id: inquiry_id.to_owned(),
            decision: stored,
            ticket: Some((queued, ticket)),
        };
        match self.decisions_written.record_ticket(decision).await? {
            None => Ok(Recorded::New { ticket_id }),
            Some(existing) => Ok(Recorded::Existing(decode_decision(inquiry_id, existing)?)),
        }
    }

    async fn record_answer(&self, inquiry_id: &str, decision: &D) -> Result<(), RouteError> {
        require_name("inquiry id", inquiry_id)?;
        self.decisions_written.record_answer(NewDecision {
            inquiry_id: inquiry_id.to_owned(),
            decision: encode_decision(inquiry_id, decision)?,
            ticket: None,
        })
    }

    async fn decision(&self, inquiry_id: &str) -> Result<Option<StoredDecision<D>>, RouteError> {
        self.ledger
            .decision(inquiry_id)
            .await?
            .map(|stored| decode_decision(inquiry_id, stored))
            .transpose()
    }

    async fn decisions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<StoredDecision<D>>, RouteError> {
        self.ledger
            .decisions_since(since_ms, limit)
            .await?
            .into_iter()
            .map(|(inquiry_id, stored)| decode_decision(&inquiry_id, stored))
            .collect()
    }

    async fn thread_ticket(
        &self,
        client_id: &str,
        thread_id: &str,
    ) -> Result<Option<ThreadTicket>, RouteError> {
        Ok(self.ledger.thread_ticket(client_id, thread_id).await?)
    }

    async fn attach(
        &self,
        decision: &D,
        follow_up: NewFollowUp,
    ) -> Result<Attached<D>, RouteError> {
        let inquiry_id = follow_up.inquiry_id.as_str();
        require_name("inquiry id", inquiry_id)?;
        let stored = encode_decision(inquiry_id, decision)?;
        let now_ms = self.clock.now_ms();
        let resolved = self
            .ledger
            .resolved_ticket(follow_up.ticket_id, &follow_up.client_id)
            .await?;
        if let Some((ticket, resolved_ms)) = resolved {
            if let Some(existing) = self.ledger.decision(inquiry_id).await? {
                return Ok(Attached::Existing(decode_decision(inquiry_id, existing)?));
            }
            let sla_due_ms = follow_up.reopened_sla_due_ms;
            self.reopen(follow_up.ticket_id, ticket, resolved_ms, now_ms, sla_due_ms)
                .await?;
        }
        Ok(
            match self.ledger.attach(&stored, &follow_up, now_ms).await? {
                Attached::New => Attached::New,
                Attached::NotAttached => Attached::NotAttached,
                Attached::Existing(existing) => {
                    Attached::Existing(decode_decision(inquiry_id, existing)?)
                }
            },
        )
    }

    async fn claim(
        &self,
        queue: &str,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Option<Ticket>, RouteError> {
        require_name("queue", queue)?;
        require_name("holder", holder)?;
        require_lease_ms(lease_ms)?;
        self.connected()?;
        for band in 0..BANDS {
            let Some(consumer) = self.consumers.get(&(queue.to_owned(), band)) else {
                return Ok(None);
            };
            while let Some(message) = self.next(consumer).await? {
                let info = message
                    .info()
                    .map_err(|err| self.unavailable("reading a delivery's info", err))?;
                let (sequence, delivered) = (info.stream_sequence, info.delivered);
                let ack_subject = message
                    .reply
                    .as_ref()
                    .map(|s| s.to_string())
                    .ok_or_else(|| self.unavailable("reading a delivery", "no ack subject"))?;
                let ticket_id = ticket_id_of(message.headers.as_ref(), sequence);
                let Ok(ticket) = serde_json::from_slice::<NewTicket>(&message.payload) else {
                    tracing::error!(sequence, "unreadable ticket message; terminating it");
                    self.ack(&ack_subject, AckKind::Term).await?;
                    continue;
                };
                if let Some(previous) = self.ledger.lease(ticket_id).await?
                    && previous.deliveries >= self.settings.max_deliveries
                {
                    let reason = format!(
                        "lease of {} expired after {} deliveries",
                        previous.holder, previous.deliveries
                    );
                    self.dead_letter(&previous, &ticket, &ack_subject, reason)
                        .await?;
                    continue;
                }
                let deliveries = u32::try_from(delivered).unwrap_or(u32::MAX);
                if lease_ms != self.lease_ms() {
                    // Another lease than the consumers' ack wait: the message is kept out of
                    // circulation that long instead, as `extend` does.
                    self.ack(&ack_subject, AckKind::Nak(Some(redelivery_delay(lease_ms))))
                        .await?;
                }
                let lease = LeaseRow {
                    ticket_id,
                    token: LeaseToken::random()?,
                    holder: holder.to_owned(),
                    queue: queue.to_owned(),
                    stream_seq: sequence,
                    ack_subject,
                    expires_ms: lease_expiry(self.clock.now_ms(), lease_ms),
                    deliveries,
                    ticket,
                };
                self.ledger.put_lease(&lease).await?;
                let mut claimed = as_ticket(&lease);
                claimed.follow_ups = self.ledger.follow_ups(ticket_id).await?;
                return Ok(Some(claimed));
            }
        }
        Ok(None)
    }

    /// A nak delayed by `lease_ms`: the server keeps the message out of circulation that
    /// long from now (an in-progress ack would only restart the consumers' fixed ack wait).
    async fn extend(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        lease_ms: i64,
    ) -> Result<Ticket, RouteError> {
        require_lease_ms(lease_ms)?;
        let mut lease = self.held(ticket_id, lease_token, holder).await?;
        let now_ms = self.clock.now_ms();
        self.ack(
            &lease.ack_subject,
            AckKind::Nak(Some(redelivery_delay(lease_ms))),
        )
        .await?;
        lease.expires_ms = lease_expiry(now_ms, lease_ms);
        self.ledger
            .extend_lease(ticket_id, lease_token, lease.expires_ms)
            .await?;
        Ok(as_ticket(&lease))
    }

    async fn resolve(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        resolution: Resolution,
    ) -> Result<AuditRecord, RouteError> {
        let lease = self.held(ticket_id, lease_token, holder).await?;
        let record = AuditRecord {
            ticket_id,
            inquiry_id: lease.ticket.inquiry_id.clone(),
            queue: lease.queue.clone(),
            holder: holder.to_owned(),
            outcome: resolution.outcome,
            resolved_ms: self.clock.now_ms(),
            deliveries: lease.deliveries,
            note: resolution.note,
            queued_as: Some(QueuedAs {
                priority: lease.ticket.priority,
                created_ms: lease.ticket.created_ms,
            }),
        };
        // Audit first: a failed ack leaves the ticket to be resolved again (with its
        // follow-ups), never a resolved ticket without its record.
        self.ledger
            .record_audit(&record, &lease, resolution.reply.as_deref())
            .await?;
        self.ack(&lease.ack_subject, AckKind::Ack).await?;
        self.ledger.drop_resolved(ticket_id, lease_token).await?;
        Ok(self.ledger.audit(ticket_id).await?.unwrap_or(record))
    }

    async fn release(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        let lease = self.held(ticket_id, lease_token, holder).await?;
        let mut ticket = as_ticket(&lease);
        ticket.lease = None;
        if lease.deliveries >= self.settings.max_deliveries {
            let reason = released_last(holder, lease.deliveries, reason);
            self.dead_letter(&lease, &lease.ticket, &lease.ack_subject, reason)
                .await?;
            return Ok(ticket);
        }
        self.ack(&lease.ack_subject, AckKind::Nak(None)).await?;
        self.ledger.drop_lease(ticket_id, lease_token).await?;
        tracing::info!(ticket_id, holder, reason, "ticket released");
        Ok(ticket)
    }

    async fn reroute(
        &self,
        ticket_id: u64,
        lease_token: LeaseToken,
        holder: &str,
        to_queue: &str,
        reason: &str,
    ) -> Result<Ticket, RouteError> {
        require_token("target queue", to_queue)?;
        if !self.settings.queues.iter().any(|q| q == to_queue) {
            return Err(RouteError::InvalidArgument(format!(
                "target queue {to_queue:?} is not served"
            )));
        }
        let lease = self.held(ticket_id, lease_token, holder).await?;
        let moved = NewTicket {
            queue: to_queue.to_owned(),
            ..lease.ticket.clone()
        };
        let message_id = format!("{}@{}>{to_queue}", moved.inquiry_id, lease.stream_seq);
        let published = self.publish(&moved, &message_id, ticket_id).await?;
        self.ack(&lease.ack_subject, AckKind::Ack).await?;
        self.ledger.drop_lease(ticket_id, lease_token).await?;
        self.ledger
            .record_correction(
                Correction {
                    id: 0,
                    ticket_id,
                    inquiry_id: moved.inquiry_id.clone(),
                    from_queue: lease.queue.clone(),
                    to_queue: to_queue.to_owned(),
                    holder: holder.to_owned(),
                    reason: reason.to_owned(),
                    corrected_ms: self.clock.now_ms(),
                },
                published.stream_seq,
            )
            .await?;
        Ok(Ticket::from_new(ticket_id, moved))
    }

    async fn ticket(&self, ticket_id: u64) -> Result<Option<Ticket>, RouteError> {
        let mut ticket = match self.ledger.lease(ticket_id).await? {
            Some(lease) => as_ticket(&lease),
            // A ready ticket is the message at the sequence it was last published at.
            None => {
                let Some(stream_seq) = self.ledger.stream_seq(ticket_id).await? else {
                    return Ok(None);
                };
                let Ok(message) = self.stream.direct_get(stream_seq).await else {
                    return Ok(None);
                };
                if ticket_id_of(Some(&message.headers), message.sequence) != ticket_id {
                    return Ok(None);
                }
                let Ok(new) = serde_json::from_slice::<NewTicket>(&message.payload) else {
                    return Ok(None);
                };
                Ticket::from_new(ticket_id, new)
            }
        };
        ticket.follow_ups = self.ledger.follow_ups(ticket_id).await?;
        Ok(Some(ticket))
    }

    async fn stats(&self, queues: &[String]) -> Result<Vec<QueueStats>, RouteError> {
        self.connected()?;
        let now_ms = self.clock.now_ms();
        let mut all = Vec::with_capacity(queues.len());
        for queue in queues {
            let mut stats = QueueStats {
                queue: queue.clone(),
                dead_letters: self.ledger.dead_letter_count(queue).await?,
                ..QueueStats::default()
            };
            // Delivered messages not yet acknowledged: leased while their lease row is live,
            // otherwise ready (the server redelivers them to the next claim).
            let mut delivered = 0;
            for band in 0..BANDS {
                let Some(consumer) = self.consumers.get(&(queue.clone(), band)) else {
                    continue;
                };
                let info = consumer.get_info().await.map_err(|err| {
                    self.unavailable(&format!("reading {}", consumer_of(consumer)), err)
                })?;
                stats.ready += info.num_pending;
                delivered += info.num_ack_pending as u64;
                let subject = subject(&self.settings.subject_prefix, queue, band);
                if info.num_pending > 0 {
                    let first_ready = info.delivered.stream_sequence + 1;
                    if let Ok(message) = self
                        .stream
                        .direct_get_next_for_subject(subject.as_str(), Some(first_ready))
                        .await
                        && let Ok(ticket) = serde_json::from_slice::<NewTicket>(&message.payload)
                    {
                        stats.keep_oldest_ready_age(now_ms.saturating_sub(ticket.created_ms));
                        stats.keep_most_urgent(NextReady {
                            priority: ticket.priority,
                            sla_due_ms: ticket.sla_due_ms,
                        });
                    }
                }
                if info.num_pending + info.num_ack_pending as u64 > 0 {
                    stats.sla_breaches += self.sla_breaches(&subject, now_ms).await;
                }
            }
            let leases = self.ledger.lease_summary(queue, now_ms).await?;
            stats.leased = leases.live.min(delivered);
            stats.ready += delivered - stats.leased;
            if let Some(created_ms) = leases.oldest_expired_created_ms {
                stats.keep_oldest_ready_age(now_ms.saturating_sub(created_ms));
            }
            all.push(stats);
        }
        Ok(all)
    }

    /// The messages of the bands up to the ticket's that are not acknowledged (waiting, or
    /// delivered and not yet acknowledged), less those under a live lease and the ticket
    /// itself, which is one of them until resolved.
    async fn ready_ahead(
        &self,
        queue: &str,
        priority: u8,
        ticket_id: u64,
    ) -> Result<u64, RouteError> {
        self.connected()?;
        let now_ms = self.clock.now_ms();
        let last_band = priority.min(BANDS - 1);
        let mut unacknowledged = 0;
        for band in 0..=last_band {
            let Some(consumer) = self.consumers.get(&(queue.to_owned(), band)) else {
                continue;
            };
            let info = consumer.get_info().await.map_err(|err| {
                self.unavailable(&format!("reading {}", consumer_of(consumer)), err)
            })?;
            unacknowledged += info.num_pending + info.num_ack_pending as u64;
        }
        let leased = self
            .ledger
            .live_leases_up_to_band(queue, last_band, BANDS - 1, ticket_id, now_ms)
            .await?;
        Ok(unacknowledged.saturating_sub(leased).saturating_sub(1))
    }

    async fn dead_letters(&self, queue: &str) -> Result<Vec<DeadLetter>, RouteError> {
        Ok(self.ledger.dead_letters(queue).await?)
    }

    async fn dead_letter(&self, ticket_id: u64) -> Result<Option<DeadLetter>, RouteError> {
        Ok(self.ledger.dead_letter(ticket_id).await?)
    }

    /// Publishes the ticket again under its id first, then records the redrive in the ledger
    /// (the dead letter taken, follow-ups and thread back, the decision pointing at the new
    /// message). A crash between the two leaves the ticket both claimable (its message names
    /// its id, so leases and resolution work) and still listed as a dead letter: nothing is
    /// lost, and redriving it again to the same queue finds its message (the publish is
    /// deduplicated by an id naming this dead letter and the queue, within the stream's
    /// duplicate window) and finishes the ledger's part. The other order could lose the
    /// ticket: out of the dead letters, never published.
    async fn redrive(
        &self,
        ticket_id: u64,
        to_queue: &str,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        require_token("target queue", to_queue)?;
        require_actor_and_reason(actor, reason)?;
        if !self.settings.queues.iter().any(|q| q == to_queue) {
            return Err(RouteError::InvalidArgument(format!(
                "target queue {to_queue:?} is not served"
            )));
        }
        let letter = self
            .ledger
            .dead_letter(ticket_id)
            .await?
            .ok_or(RouteError::NotFound(ticket_id))?;
        let ticket = &letter.ticket;
        let requeued = NewTicket {
            inquiry_id: ticket.inquiry_id.clone(),
            client_id: ticket.client_id.clone(),
            queue: to_queue.to_owned(),
            priority: ticket.priority,
            sla_due_ms: ticket.sla_due_ms,
            created_ms: ticket.created_ms,
            payload: ticket.payload.clone(),
            thread_id: ticket.thread_id.clone(),
        };
        let message_id = format!(
            "{}@redrive-{}-{}>{to_queue}",
            ticket.inquiry_id, ticket_id, letter.dead_ms
        );
        let published = self.publish(&requeued, &message_id, ticket_id).await?;
        let outcome = DeadLetterOutcome::Redriven {
            to_queue: to_queue.to_owned(),
        };
        let action = DeadLetterAction::on(&letter, outcome, actor, reason, self.clock.now_ms());
        let recorded = self
            .ledger
            .record_redrive(&letter, action, published.stream_seq)
            .await?
            .ok_or(RouteError::NotFound(ticket_id))?;
        tracing::info!(
            ticket_id,
            from = %ticket.queue,
            to = to_queue,
            actor,
            reason,
            "dead letter redriven"
        );
        Ok(recorded)
    }

    async fn discard(
        &self,
        ticket_id: u64,
        actor: &str,
        reason: &str,
    ) -> Result<DeadLetterAction, RouteError> {
        require_actor_and_reason(actor, reason)?;
        let letter = self
            .ledger
            .dead_letter(ticket_id)
            .await?
            .ok_or(RouteError::NotFound(ticket_id))?;
        let action = DeadLetterAction::on(
            &letter,
            DeadLetterOutcome::Discarded,
            actor,
            reason,
            self.clock.now_ms(),
        );
        let recorded = self
            .ledger
            .record_discard(action)
            .await?
            .ok_or(RouteError::NotFound(ticket_id))?;
        tracing::info!(
            ticket_id,
            queue = %letter.ticket.queue,
            actor,
            reason,
            "dead letter discarded"
        );
        Ok(recorded)
    }

    async fn dead_letter_actions(&self) -> Result<Vec<DeadLetterAction>, RouteError> {
        Ok(self.ledger.dead_letter_actions().await?)
    }

    fn dead_lettered_totals(&self) -> BTreeMap<String, u64> {
        self.dead_lettered.totals()
    }

    async fn audit(&self, ticket_id: u64) -> Result<Option<AuditRecord>, RouteError> {
        Ok(self.ledger.audit(ticket_id).await?)
    }

    async fn replies(&self, ticket_id: u64) -> Result<Vec<SentReply>, RouteError> {
        Ok(self.ledger.replies(ticket_id).await?)
    }

    async fn replies_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<SentReply>, RouteError> {
        Ok(self.ledger.replies_since(since_ms, limit).await?)
    }

    async fn resolved_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, RouteError> {
        Ok(self.ledger.resolved_since(since_ms, limit).await?)
    }

    async fn corrections(&self) -> Result<Vec<Correction>, RouteError> {
        Ok(self.ledger.corrections().await?)
    }

    /// Every ticket was acknowledged by the stream, and its decision written, before its
    /// submission returned; answers' decisions are written here at the latest.
    async fn flush(&self) -> Result<(), RouteError> {
        self.decisions_written.flush().await
    }

    async fn healthy(&self) -> Result<(), NotReady> {
        let not_connected = || match self.nats.connection_state() {
            State::Connected => None,
            state => Some(NotReady::new(format!(
                "nats at {}: not connected ({state:?})",
                self.settings.url
            ))),
        };
        if let Some(reason) = not_connected() {
            return Err(reason);
        }
        self.ledger.ready().await?;
        let restored = tokio::time::timeout(
            READY_CHECK_TIMEOUT,
            setup::restore(&self.js, &self.stream, &self.settings),
        )
        .await;
        match restored {
            Ok(Ok(_)) => Ok(()),
            // When the server went away while the check waited, that is the reason.
            failed => Err(not_connected().unwrap_or_else(|| match failed {
                Ok(Err(error)) => NotReady::new(format!(
                    "the stream or its consumers cannot be restored: {error}"
                )),
                _ => NotReady::new(format!(
                    "nats at {}: stream {} not answering within {READY_CHECK_TIMEOUT:?}",
                    self.settings.url, self.settings.stream
                )),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that would break a subject or a consumer name are refused, naming the field.
    #[test]
    fn subject_tokens_are_checked() {
        assert!(require_token("queue", "account_management").is_ok());
        assert!(require_token("queue", "seo-2").is_ok());
        for bad in ["", " ", "a.b", "a*", "a>", "a b", "séo"] {
            match require_token("queue", bad) {
                Err(RouteError::InvalidArgument(message)) => {
                    assert!(message.contains("queue"), "{bad:?}: {message}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// A rerouted message names the ticket it continues; a first publish is its own id.
    #[test]
    fn ticket_ids_come_from_the_header_or_the_sequence() {
        assert_eq!(ticket_id_of(None, 7), 7);
        let mut headers = HeaderMap::new();
        headers.insert(TICKET_HEADER, "3");
        assert_eq!(ticket_id_of(Some(&headers), 9), 3);
    }
}
