//! The ingest loop: mails in, `SubmitStream` to the server with a window of inquiries in
//! flight, decisions out, nothing dropped.
//!
//! Mails are read one at a time as the window has room ([`Incoming`]): the worker holds at most
//! a window's worth of parsed mails (in flight, waiting for a retry, or waiting for a copy of
//! theirs in flight), never a backlog. A mail is parsed (or quarantined with the reason, or
//! journaled with its kind when a machine sent it, or as a duplicate when it copies a mail
//! handled before; another mail reusing a Message-ID gets an id of its own), checked against
//! the server's limits (a request the server would refuse is quarantined, never sent) and
//! submitted with its inquiry id and its sender's address, which the server maps to a client.
//! Before a mail is first sent, its submission is journaled (with the records of the mails just
//! handled, in one synced write), so that a decision the server replays is known to be this
//! spool's own (its reply is still to be written) or another's (sent from there already). The
//! server's decision is acted on (a reply into the outbox, if the reply guard admits it, else a
//! hand-off to a person; a ticket id into the journal) and only then is the mail moved out of
//! `new/`.
//!
//! When the server is down, restarting, shedding load or silent, the stream is opened again
//! after an exponential backoff (capped) and every mail without a decision is submitted again;
//! the server returns the original decision for an id it has seen, so no mail ever makes two
//! tickets. Every wait on the server is bounded: connecting, the stream's first response and
//! each later one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

use super::IngestError;
use super::backoff::Backoff;
use super::guard::{GuardLimits, ReplyGuard};
use super::handle::{
    Pending, Verdict, automatic, duplicate, handle_response, handoff_id, now_ms, quarantined,
    rated, read_mail, reused_id, unreadable,
};
use super::journal::{Journal, MailOutcome, MailRecord, Submission};
use super::kind::MailKind;
use super::mailbox::{Arrival, Incoming, Maildir, Origin};
use super::outgoing::{Deliveries, DeliveryError, specialist_reply_id};
use super::parse::{ParsedMail, raw_id};
use super::rating::{Ask, RatingLedger, RatingVerdict, ask_eml};
use super::reply::{reply_file_name, write_replies};
use super::sink::{Handled, Sink, Summary};
use crate::progress::Stage;
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_client::TriageServiceClient;

/// Inquiries in flight at once, by default.
pub const DEFAULT_WINDOW: usize = 256;
/// The largest mail read, by default: 25 MiB, what common mail servers accept.
pub const DEFAULT_MAX_MAIL_BYTES: u64 = 25 << 20;
/// The longest wait to connect to the server, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait for the server's next response while inquiries are in flight, by default.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after an answer the client is asked to rate it, by default: a day, time to have
/// read and used the answer.
pub const DEFAULT_RATING_ASK_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How a worker reaches the server and what it answers with.
#[derive(Clone)]
pub struct WorkerOptions {
    pub endpoint: Endpoint,
    /// The `authorization` metadata (`Bearer …`), if the server wants a token.
    pub authorization: Option<MetadataValue<Ascii>>,
    /// Inquiries in flight at once, and the most mails the worker holds.
    pub window: usize,
    /// The helpdesk's address: the From of the replies.
    pub from_address: String,
    /// The longest wait between two attempts to reach the server.
    pub max_backoff: Duration,
    /// The largest mail read; a larger one goes to the quarantine unread.
    pub max_mail_bytes: u64,
    /// When automatic replies are held for a person.
    pub guard: GuardLimits,
    /// The longest wait to connect to the server.
    pub connect_timeout: Duration,
    /// The longest wait for the server's next response (the stream's opening included) while
    /// inquiries are in flight; past it the stream is given up and opened again.
    pub response_timeout: Duration,
    /// How long after an answer the client is asked to rate it; `None`: never asked.
    pub rating_ask_delay: Option<Duration>,
}

impl WorkerOptions {
    /// The defaults, for a server at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            authorization: None,
            window: DEFAULT_WINDOW,
            from_address: "helpdesk@localhost".to_owned(),
            max_backoff: Duration::from_secs(10),
            max_mail_bytes: DEFAULT_MAX_MAIL_BYTES,
            guard: GuardLimits::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            rating_ask_delay: Some(DEFAULT_RATING_ASK_DELAY),
        }
    }
}

/// The ingest worker over one spool.
pub struct Worker {
    options: WorkerOptions,
    sink: Sink,
    backoff: Backoff,
    guard: ReplyGuard,
    /// The mail holding each inquiry id read in this run (the journal knows earlier runs').
    claims: HashMap<String, Claim>,
    /// The specialists' replies this spool put into its outbox.
    deliveries: Deliveries,
    /// The asks for ratings and the ratings read from mail.
    ratings: RatingLedger,
}

/// Why a stream ended before its work was done.
enum Interrupted {
    /// The server went away, refused for now or fell silent: wait and open a new stream.
    Transient(Status),
    /// Nothing will change by waiting (a wrong token, a full disk).
    Fatal(IngestError),
}

impl From<IngestError> for Interrupted {
    fn from(error: IngestError) -> Self {
        Self::Fatal(error)
    }
}

/// Statuses that say the server may take the same request later.
fn waits(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
    )
}

/// The error of a ledger of ratings that cannot be written.
fn ledger_failed(source: std::io::Error) -> IngestError {
    IngestError::Io {
        what: "cannot write the ratings ledger".to_owned(),
        source,
    }
}

/// Fatal stream statuses: the token is wrong or lacks the right.
fn is_fatal(code: Code) -> bool {
    matches!(code, Code::Unauthenticated | Code::PermissionDenied)
}

/// The reply guard with what the journal remembers: the answers and acknowledgements sent and
/// the pauses started.
fn restored_guard(limits: GuardLimits, journal: &Journal) -> ReplyGuard {
    let now = now_ms();
    let mut guard = ReplyGuard::new(limits);
    for record in journal.records() {
        let Some(sender) = &record.sender else {
            continue;
        };
        let thread = record.thread_id.as_deref().unwrap_or(&record.inquiry_id);
        match (record.outcome, &record.reply_digest) {
            (MailOutcome::Answered, Some(digest)) => {
                guard.remember_reply(sender, thread, digest, record.handled_ms, now);
            }
            (MailOutcome::Routed, Some(digest)) => {
                guard.remember_reply(sender, thread, digest, record.handled_ms, now);
                guard.remember_acknowledgement(thread);
            }
            _ => {}
        }
        if let Some(hold) = &record.held {
            guard.remember_hold(sender, hold, now);
        }
    }
    guard
}

/// The journal id of a mail too large to read: from where it is and its size.
fn oversized_id(origin: &Origin, bytes: u64) -> String {
    raw_id(format!("{}\n{bytes}", origin.describe()).as_bytes())
}

impl Worker {
    /// A worker keeping its state in `sink`.
    pub fn new(options: WorkerOptions, sink: Sink) -> Result<Self, IngestError> {
        let backoff = Backoff::new(Duration::from_millis(100), options.max_backoff);
        let guard = restored_guard(options.guard, &sink.journal);
        let path = sink.spool.journal.with_file_name("replies.jsonl");
        let deliveries = Deliveries::open(&path).map_err(|source| IngestError::Io {
            what: format!("cannot read the replies delivered, {}", path.display()),
            source,
        })?;
        let path = sink.spool.journal.with_file_name("ratings.jsonl");
        let ratings = RatingLedger::open(&path).map_err(|source| IngestError::Io {
            what: format!("cannot read the ratings ledger, {}", path.display()),
            source,
        })?;
        Ok(Self {
            options,
            sink,
            backoff,
            guard,
            claims: HashMap::new(),
            deliveries,
            ratings,
        })
    }

    /// A connection to the server for the work after a pass, or `None` (logged) when it cannot
    /// be reached now: the work waits for the next pass.
    async fn connect(&self) -> Option<TriageServiceClient<Channel>> {
        let endpoint =
            (self.options.endpoint.clone()).connect_timeout(self.options.connect_timeout);
        match timeout(self.options.connect_timeout, endpoint.connect()).await {
            Ok(Ok(channel)) => Some(TriageServiceClient::new(channel)),
            Ok(Err(error)) => {
                tracing::warn!(%error, "replies and ratings wait: the server is unavailable");
                None
            }
            Err(_) => {
                tracing::warn!("replies and ratings wait: no connection to the server in time");
                None
            }
        }
    }

    /// What follows a pass over the mailbox: the specialists' replies sent since the last
    /// look go into the outbox, the ratings read from mail go to the server, and the asks for
    /// a rating that are due go into the outbox. A server that cannot be reached now is tried
    /// again at the next pass.
    pub async fn after_pass(&mut self, summary: &mut Summary) -> Result<(), IngestError> {
        let Some(mut client) = self.connect().await else {
            return Ok(());
        };
        summary.replies_delivered += self.deliver_replies(&mut client).await?;
        self.send_ratings(&mut client).await?;
        if let Some(delay) = self.options.rating_ask_delay {
            summary.ratings_asked += self.send_rating_asks(&mut client, delay).await?;
        }
        Ok(())
    }

    /// A request carrying the worker's token.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(authorization) = &self.options.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        request
    }

    /// Passes the ratings read from mail to the server, keeping what it made of each.
    async fn send_ratings(
        &mut self,
        client: &mut TriageServiceClient<Channel>,
    ) -> Result<(), IngestError> {
        for rating in self.ratings.unsent() {
            let request = self.request(pb::FeedbackRequest {
                inquiry_id: rating.inquiry_id.clone(),
                csat: u32::from(rating.csat),
                ces: 0,
                comment: String::new(),
                source: pb::FeedbackSource::Email.into(),
            });
            let verdict = match client.feedback(request).await {
                Ok(_) => RatingVerdict::Recorded,
                Err(status) if status.code() == Code::Unauthenticated => {
                    return Err(IngestError::Refused(status.message().to_owned()));
                }
                Err(status) if waits(status.code()) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "ratings wait for the server");
                    return Ok(());
                }
                Err(status) => RatingVerdict::Refused {
                    reason: status.message().to_owned(),
                },
            };
            tracing::info!(inquiry_id = %rating.inquiry_id, csat = rating.csat, ?verdict, "a rating by mail passed on");
            self.ratings
                .rated(&rating.mail_id, verdict)
                .map_err(ledger_failed)?;
        }
        Ok(())
    }

    /// Puts the asks for a rating due `delay` after their answer into the outbox; how many.
    /// An inquiry the server does not know as answered yet is asked about at a later pass; one
    /// it refuses, or whose address is paused after a bounce, is not asked about.
    async fn send_rating_asks(
        &mut self,
        client: &mut TriageServiceClient<Channel>,
        delay: Duration,
    ) -> Result<usize, IngestError> {
        let now = now_ms();
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let mut sent = 0;
        for ask in self.ratings.due(now.saturating_sub(delay_ms)) {
            if self.sink.suppression.active(&ask.recipient, now).is_some() {
                tracing::info!(inquiry_id = %ask.inquiry_id, "no rating asked: mail to the address is paused");
                self.ratings
                    .asked(&ask.inquiry_id, None)
                    .map_err(ledger_failed)?;
                continue;
            }
            let request = self.request(pb::FeedbackLinkRequest {
                inquiry_id: ask.inquiry_id.clone(),
            });
            let link = match client.feedback_link(request).await {
                Ok(response) => response.into_inner().url,
                Err(status) if status.code() == Code::Unauthenticated => {
                    return Err(IngestError::Refused(status.message().to_owned()));
                }
                Err(status)
                    if waits(status.code()) || status.code() == Code::FailedPrecondition =>
                {
                    tracing::debug!(inquiry_id = %ask.inquiry_id, message = status.message(), "rating ask waits");
                    continue;
                }
                Err(status) => {
                    tracing::warn!(inquiry_id = %ask.inquiry_id, message = status.message(), "no rating asked: refused");
                    self.ratings
                        .asked(&ask.inquiry_id, None)
                        .map_err(ledger_failed)?;
                    continue;
                }
            };
            let (eml, message_id) =
                ask_eml(&ask, &link, &self.options.from_address, now).map_err(|source| {
                    IngestError::Io {
                        what: "cannot build a rating ask".to_owned(),
                        source,
                    }
                })?;
            let name = format!("rating-{}", ask.inquiry_id);
            write_replies(&self.sink.spool.outbox, &[(name.as_str(), eml.as_slice())]).map_err(
                |source| IngestError::Io {
                    what: "cannot write a rating ask into the outbox".to_owned(),
                    source,
                },
            )?;
            self.ratings
                .asked(&ask.inquiry_id, Some(message_id))
                .map_err(ledger_failed)?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Puts the specialists' replies sent since the last look into the outbox, and keeps an
    /// ask for a rating of each; how many.
    async fn deliver_replies(
        &mut self,
        client: &mut TriageServiceClient<Channel>,
    ) -> Result<usize, IngestError> {
        let delivered = self
            .deliveries
            .deliver(
                client,
                self.options.authorization.as_ref(),
                &self.sink.spool.outbox,
                &self.options.from_address,
            )
            .await;
        match delivered {
            Ok(replies) => {
                let from = &self.options.from_address;
                let asks = replies.iter().map(|reply| Ask {
                    inquiry_id: reply.inquiry_id.clone(),
                    recipient: reply.recipient.clone(),
                    subject: reply.subject.clone(),
                    answer_message_id: specialist_reply_id(reply, from),
                    references: [&reply.thread_id, &reply.in_reply_to]
                        .into_iter()
                        .filter(|id| !id.is_empty())
                        .cloned()
                        .collect(),
                    answered_ms: now_ms(),
                });
                self.ratings.schedule(asks).map_err(ledger_failed)?;
                Ok(replies.len())
            }
            Err(DeliveryError::Server(status)) if status.code() == Code::PermissionDenied => {
                Err(IngestError::Refused(status.message().to_owned()))
            }
            Err(DeliveryError::Server(status)) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "replies not read now");
                Ok(0)
            }
            Err(DeliveryError::Io(source)) => Err(IngestError::Io {
                what: "cannot write a reply into the outbox".to_owned(),
                source,
            }),
        }
    }

    fn window(&self) -> usize {
        self.options.window.max(1)
    }

    /// Handles the mails of `maildir`'s `new/`; with `watch`, polls it at that interval until
    /// `stop` completes (then finishes what is in flight).
    pub async fn run_maildir(
        &mut self,
        maildir: &Maildir,
        watch: Option<Duration>,
        stop: impl Future<Output = ()>,
    ) -> Result<Summary, IngestError> {
        let mut total = Summary::default();
        tokio::pin!(stop);
        loop {
            let incoming = maildir
                .incoming(self.options.max_mail_bytes)
                .map_err(|source| IngestError::Io {
                    what: "cannot read the Maildir".to_owned(),
                    source,
                })?;
            if incoming.known_count() != Some(0) {
                total.add(self.run(incoming).await?);
            }
            self.after_pass(&mut total).await?;
            let Some(interval) = watch else {
                return Ok(total);
            };
            tokio::select! {
                () = &mut stop => return Ok(total),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Handles the mails of `incoming` until each is answered, routed or quarantined.
    pub async fn run(&mut self, mut incoming: Incoming) -> Result<Summary, IngestError> {
        let stage = match incoming.known_count() {
            Some(count) => Stage::counted("ingest", count),
            None => Stage::spinner("ingest"),
        };
        let mut summary = Summary::default();
        let mut work = Work::default();
        while !(work.is_empty() && incoming.is_done()) {
            match self
                .stream(&mut work, &mut incoming, &mut summary, &stage)
                .await
            {
                Ok(()) => {}
                Err(Interrupted::Transient(status)) => {
                    let wait = self.backoff.next_wait();
                    tracing::warn!(
                        code = ?status.code(),
                        message = status.message(),
                        retry_in_ms = wait.as_millis() as u64,
                        pending = work.held(),
                        "the server is unavailable; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(Interrupted::Fatal(error)) => return Err(error),
            }
        }
        stage.finish();
        tracing::info!(
            processed = summary.processed,
            answered = summary.answered,
            routed = summary.routed,
            acknowledged = summary.acknowledged,
            quarantined = summary.quarantined,
            no_reply = summary.no_reply,
            automatic = summary.automatic,
            withheld = summary.withheld,
            duplicates = summary.duplicates,
            answered_before = summary.answered_before,
            handed_off = summary.handed_off,
            "ingest run done"
        );
        Ok(summary)
    }

    /// One stream: takes mails with the window full until none is left; mails without a
    /// decision when it ends go back to the queue's front. No stream is opened when there is
    /// nothing to submit.
    async fn stream(
        &mut self,
        work: &mut Work,
        incoming: &mut Incoming,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), Interrupted> {
        let ready = self.advance(work, incoming, Vec::new(), summary, stage)?;
        if ready.is_empty() {
            work.requeue();
            return Ok(());
        }
        let result = self.submit(work, incoming, ready, summary, stage).await;
        work.requeue();
        match result {
            Err(Interrupted::Transient(status)) if is_fatal(status.code()) => Err(
                Interrupted::Fatal(IngestError::Refused(status.message().to_owned())),
            ),
            other => other,
        }
    }

    /// Connects, sends `ready` and the mails after them on one stream, and takes its
    /// responses until nothing is in flight.
    async fn submit(
        &mut self,
        work: &mut Work,
        incoming: &mut Incoming,
        ready: Vec<Pending>,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), Interrupted> {
        let connect_timeout = self.options.connect_timeout;
        let response_timeout = self.options.response_timeout;
        let endpoint = self
            .options
            .endpoint
            .clone()
            .connect_timeout(connect_timeout);
        let channel = match timeout(connect_timeout, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => {
                work.put_back(ready);
                return Err(Interrupted::Transient(Status::unavailable(
                    error.to_string(),
                )));
            }
            Err(_) => {
                work.put_back(ready);
                return Err(Interrupted::Transient(Status::deadline_exceeded(format!(
                    "no connection to the server within {} ms",
                    connect_timeout.as_millis()
                ))));
            }
        };
        let (requests, outbound) = mpsc::channel(self.window());
        work.send(&requests, ready);
        let mut request = Request::new(ReceiverStream::new(outbound));
        if let Some(authorization) = &self.options.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        let mut client = TriageServiceClient::new(channel);
        let opening = client.submit_stream(request);
        let mut responses = match timeout(response_timeout, opening).await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => return Err(Interrupted::Transient(status)),
            Err(_) => return Err(Interrupted::Transient(silent(response_timeout))),
        };
        // A reader task, so that every response already there joins one group commit.
        let (events_in, mut events) = mpsc::channel(self.window());
        let reader = tokio::spawn(async move {
            loop {
                let event = match responses.message().await {
                    Ok(Some(message)) => Ok(message),
                    Ok(None) => Err(Status::unavailable("the server closed the stream")),
                    Err(status) => Err(status),
                };
                let ended = event.is_err();
                if events_in.send(event).await.is_err() || ended {
                    break;
                }
            }
        });
        let result = self
            .receive(work, incoming, &requests, &mut events, summary, stage)
            .await;
        reader.abort();
        result
    }

    /// Takes the stream's responses until nothing is in flight, committing each group of
    /// responses that arrived together and refilling the window after it.
    async fn receive(
        &mut self,
        work: &mut Work,
        incoming: &mut Incoming,
        requests: &mpsc::Sender<pb::SubmitRequest>,
        events: &mut mpsc::Receiver<Result<pb::SubmitStreamResponse, Status>>,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), Interrupted> {
        let response_timeout = self.options.response_timeout;
        while !work.in_flight.is_empty() {
            let first = match timeout(response_timeout, events.recv()).await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    return Err(Interrupted::Transient(Status::unavailable(
                        "the stream ended",
                    )));
                }
                Err(_) => return Err(Interrupted::Transient(silent(response_timeout))),
            };
            let mut arrived = vec![first];
            while let Ok(event) = events.try_recv() {
                arrived.push(event);
            }
            let (mut group, mut broken, mut fatal, mut retry) = (Vec::new(), None, None, false);
            for event in arrived {
                let message = match event {
                    Ok(message) => message,
                    Err(status) => {
                        broken = Some(status);
                        continue;
                    }
                };
                let Some(pending) = work.in_flight.remove(&message.inquiry_id) else {
                    tracing::warn!(inquiry_id = %message.inquiry_id, "a response to no inquiry in flight");
                    continue;
                };
                let verdict = handle_response(
                    pending,
                    message.result,
                    &self.options.from_address,
                    &mut self.guard,
                );
                match verdict {
                    Verdict::Handled(handled) => group.push(*handled),
                    Verdict::Retry(pending, status) => {
                        tracing::debug!(code = ?status.code(), message = status.message(), "retrying an inquiry");
                        work.queue.push_back(*pending);
                        retry = true;
                    }
                    Verdict::HandOff(pending) => work.queue.push_front(*pending),
                    Verdict::Fatal(status) => fatal = Some(status),
                }
            }
            if fatal.is_some() || broken.is_some() || retry {
                self.commit(std::mem::take(&mut group), &[], summary, stage)?;
            }
            if let Some(status) = fatal {
                return Err(Interrupted::Fatal(IngestError::Refused(
                    status.message().to_owned(),
                )));
            }
            if let Some(status) = broken {
                return Err(Interrupted::Transient(status));
            }
            if retry {
                tokio::time::sleep(self.backoff.next_wait()).await;
            } else {
                self.backoff.reset();
            }
            let ready = self.advance(work, incoming, group, summary, stage)?;
            work.send(requests, ready);
        }
        Ok(())
    }

    /// Takes mails for the window (waiting ones first, then new ones read from `incoming`),
    /// commits `group` with the submissions of the mails taken, and returns them to be sent.
    ///
    /// A mail the journal knows (a re-delivery) is only moved; a mail whose inquiry id is in
    /// flight or being committed, or which follows up a mail in flight, waits for the next
    /// call; a mail that cannot be read is quarantined. New mail is read only while the worker holds fewer mails than the window.
    fn advance(
        &mut self,
        work: &mut Work,
        incoming: &mut Incoming,
        mut group: Vec<Handled>,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<Vec<Pending>, IngestError> {
        let window = self.window();
        let committing: HashSet<String> =
            group.iter().map(|h| h.record.inquiry_id.clone()).collect();
        work.retry_deferred();
        let (mut ready, mut ready_ids, mut submissions) = (Vec::new(), HashSet::new(), Vec::new());
        while work.in_flight.len() + ready.len() < window {
            let pending = match work.queue.pop_front() {
                Some(pending) => pending,
                None if work.held() + ready.len() < window => match self.read_next(incoming)? {
                    Some(Ok(pending)) => pending,
                    Some(Err(handled)) => {
                        // A mail settled before and delivered again is only moved.
                        let record = &handled.record;
                        let mbox_bytes = handled.mbox_bytes.as_deref();
                        if self.sink.finish_known(
                            &handled.origin,
                            mbox_bytes,
                            &record.inquiry_id,
                            summary,
                        )? {
                            stage.advance(1);
                            continue;
                        }
                        group.push(handled);
                        if group.len() >= window {
                            self.commit(std::mem::take(&mut group), &submissions, summary, stage)?;
                            submissions.clear();
                        }
                        continue;
                    }
                    None => break,
                },
                None => break,
            };
            let id = &pending.mail.inquiry_id;
            if self
                .sink
                .finish_known(&pending.origin, pending.mbox_bytes(), id, summary)?
            {
                stage.advance(1);
                continue;
            }
            // A follow-up waits for the mail starting its thread when that one is on its way,
            // so that the server knows the thread (and its ticket) when the follow-up comes.
            let undecided = |id: &str| ready_ids.contains(id) || work.is_in_flight(id);
            let follows_undecided = pending.mail.thread_id.as_deref().is_some_and(undecided);
            if committing.contains(id) || undecided(id) || follows_undecided {
                work.deferred.push(pending);
                continue;
            }
            submissions.extend(pending.submission(self.sink.journal.submission(id)));
            ready_ids.insert(id.clone());
            ready.push(pending);
        }
        self.commit(group, &submissions, summary, stage)?;
        Ok(ready)
    }

    /// Reads the next mail of `incoming`: a mail to submit, or one settled without the server
    /// (for the quarantine, or a machine's mail to journal); `None` when every mail was read.
    fn read_next(
        &mut self,
        incoming: &mut Incoming,
    ) -> Result<Option<Result<Pending, Handled>>, IngestError> {
        let Some(arrival) = incoming.next() else {
            return Ok(None);
        };
        let arrival = arrival.map_err(|source| IngestError::Io {
            what: "cannot read a mail".to_owned(),
            source,
        })?;
        let settled = match arrival {
            Arrival::TooLarge { origin, bytes } => {
                let reason = format!(
                    "the mail is {bytes} bytes, over the limit of {} bytes",
                    self.options.max_mail_bytes
                );
                quarantined(
                    origin.clone(),
                    None,
                    oversized_id(&origin, bytes),
                    None,
                    reason,
                )
            }
            Arrival::Mail(raw) => {
                let (inquiry_id, parsed) = read_mail(&raw.bytes, &self.options.from_address);
                let parsed = parsed.map(|mut mail| {
                    let copied = self.identify(&mut mail, &raw.origin);
                    (mail, copied)
                });
                match parsed {
                    Ok((mail, Some(original))) => duplicate(raw, &mail, &original),
                    Ok((mail, None)) if mail.sorting.kind != MailKind::Human => {
                        automatic(raw, &mail)
                    }
                    Ok((mail, None)) if let Some(rating) = self.ratings.rating_in(&mail) => {
                        let settled = rated(raw, &mail, &rating);
                        self.ratings.record(rating).map_err(ledger_failed)?;
                        settled
                    }
                    Ok((mail, None)) => {
                        let inquiry_id = mail.inquiry_id.clone();
                        let earlier = self.sink.journal.submission(&inquiry_id);
                        let mut pending = Pending::new(raw, mail, earlier);
                        if let Some(reason) = pending.unsendable() {
                            return Ok(Some(Err(pending.into_quarantined(reason))));
                        }
                        let outbox = &self.sink.spool.outbox;
                        if earlier.is_some() && outbox.join(reply_file_name(&inquiry_id)).exists() {
                            pending.mark_reply_written();
                        }
                        return Ok(Some(Ok(pending)));
                    }
                    Err(error) => unreadable(raw, inquiry_id, error.to_string()),
                }
            }
        };
        Ok(Some(Err(settled)))
    }

    /// Settles which mail `mail` (read from `origin`) is, by its inquiry id: the first mail
    /// of an id claims it, and the same file read again (after a restart) keeps it; a copy
    /// from another file (the same sender and content) is a duplicate: its original's id is
    /// returned. Another mail reusing the id (another sender, other content) gets an id
    /// derived from it and its content ([`reused_id`]), which is settled the same way.
    fn identify(&mut self, mail: &mut ParsedMail, origin: &Origin) -> Option<String> {
        let source = origin.describe();
        loop {
            let id = &mail.inquiry_id;
            let claim = match self.claims.get(id) {
                Some(claim) => Some(claim.clone()),
                None => self.sink.journal.get(id).map(Claim::of_record),
            };
            let Some(claim) = claim else {
                let claim = Claim::of_mail(mail, source);
                self.claims.insert(id.clone(), claim);
                return None;
            };
            if claim.source == source {
                return None;
            }
            // A record of an earlier version has no fingerprint: its sender decides.
            let same_content = claim
                .fingerprint
                .as_ref()
                .is_none_or(|fingerprint| *fingerprint == mail.fingerprint);
            if claim.sender.as_deref() == Some(mail.sender.as_str()) && same_content {
                return Some(id.clone());
            }
            tracing::info!(inquiry_id = %id, source = %source, "another mail reuses a Message-ID: submitting it under an id of its own");
            mail.inquiry_id = reused_id(id, &mail.fingerprint);
        }
    }

    /// Commits a group of handled mails and submissions, advancing the progress.
    fn commit(
        &mut self,
        group: Vec<Handled>,
        submissions: &[Submission],
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), IngestError> {
        let before = summary.processed;
        // Kept before the journal: a mail journaled as answered has its ask kept.
        let asks = group.iter().filter_map(|handled| handled.ask.clone());
        self.ratings.schedule(asks).map_err(ledger_failed)?;
        self.sink.commit(group, submissions, summary)?;
        stage.advance(summary.processed - before);
        Ok(())
    }
}

/// Which mail holds an inquiry id: what tells a copy of it from another mail reusing the id.
#[derive(Clone)]
struct Claim {
    sender: Option<String>,
    fingerprint: Option<String>,
    source: String,
}

impl Claim {
    fn of_mail(mail: &ParsedMail, source: String) -> Self {
        Self {
            sender: Some(mail.sender.clone()),
            fingerprint: Some(mail.fingerprint.clone()),
            source,
        }
    }

    fn of_record(record: &MailRecord) -> Self {
        Self {
            sender: record.sender.clone(),
            fingerprint: record.fingerprint.clone(),
            source: record.source.clone(),
        }
    }
}

/// The status of a server that did not answer in time.
fn silent(waited: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "no response from the server within {} ms",
        waited.as_millis()
    ))
}

/// The parsed mails of a run not handled yet: queued (waiting for room, a retry or a
/// hand-off), in flight on the open stream by the id they were submitted under, or deferred
/// (a copy of a mail whose inquiry id is in flight, or a follow-up of one).
#[derive(Default)]
struct Work {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, Pending>,
    deferred: Vec<Pending>,
}

impl Work {
    /// How many mails are held.
    fn held(&self) -> usize {
        self.queue.len() + self.in_flight.len() + self.deferred.len()
    }

    fn is_empty(&self) -> bool {
        self.held() == 0
    }

    /// Whether the mail with `inquiry_id` is in flight, under its own id or its hand-off's.
    fn is_in_flight(&self, inquiry_id: &str) -> bool {
        self.in_flight.contains_key(inquiry_id)
            || self.in_flight.contains_key(&handoff_id(inquiry_id))
    }

    /// Sends `ready` on the stream; a mail the stream does not take waits in the queue.
    fn send(&mut self, requests: &mpsc::Sender<pb::SubmitRequest>, ready: Vec<Pending>) {
        for mut pending in ready {
            if requests.try_send(pending.request()).is_err() {
                self.queue.push_front(pending);
                continue;
            }
            pending.count_submission();
            self.in_flight.insert(pending.submitted_id(), pending);
        }
    }

    /// Puts mails taken but not sent back at the queue's front, in their order.
    fn put_back(&mut self, taken: Vec<Pending>) {
        for pending in taken.into_iter().rev() {
            self.queue.push_front(pending);
        }
    }

    /// Gives the deferred mails another look.
    fn retry_deferred(&mut self) {
        for pending in self.deferred.drain(..).rev() {
            self.queue.push_front(pending);
        }
    }

    /// After a stream: what is in flight or deferred goes back to the queue's front.
    fn requeue(&mut self) {
        let in_flight = self.in_flight.drain().map(|(_, pending)| pending);
        for pending in in_flight.chain(self.deferred.drain(..)) {
            self.queue.push_front(pending);
        }
    }
}
