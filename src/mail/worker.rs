//! The ingest loop: mails in, `SubmitStream` to the server with a window of inquiries in
//! flight, decisions out, nothing dropped.
//!
//! A mail is parsed (or quarantined with the reason, or journaled with its kind when a machine
//! sent it) and submitted with its inquiry id and its sender's address, which the server maps
//! to a client; the server's decision is acted on
//! (reply into the outbox, ticket id into the journal) and only then is the mail moved out of
//! `new/`. When the server
//! is down, restarting or shedding load, the stream is opened again after an exponential
//! backoff (capped) and every mail without a decision is submitted again; the server returns
//! the original decision for an id it has seen, so no mail ever makes two tickets.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Endpoint;
use tonic::{Code, Request, Status};

use super::IngestError;
use super::backoff::Backoff;
use super::handle::{Pending, Verdict, automatic, handle_response, quarantined, read_mail};
use super::kind::MailKind;
use super::mailbox::{Maildir, RawMail};
use super::sink::{Sink, Summary};
use crate::progress::Stage;
use crate::proto::v1 as pb;
use crate::proto::v1::triage_service_client::TriageServiceClient;

/// How a worker reaches the server and what it answers with.
#[derive(Clone)]
pub struct WorkerOptions {
    pub endpoint: Endpoint,
    /// The `authorization` metadata (`Bearer …`), if the server wants a token.
    pub authorization: Option<MetadataValue<Ascii>>,
    /// Inquiries in flight at once.
    pub window: usize,
    /// The helpdesk's address: the From of the replies.
    pub from_address: String,
    /// The longest wait between two attempts to reach the server.
    pub max_backoff: Duration,
}

/// The ingest worker over one spool.
pub struct Worker {
    options: WorkerOptions,
    sink: Sink,
    backoff: Backoff,
}

/// Why a stream ended before its work was done.
enum Interrupted {
    /// The server went away or refused for now: wait and open a new stream.
    Transient(Status),
    /// Nothing will change by waiting (a wrong token, a full disk).
    Fatal(IngestError),
}

impl From<IngestError> for Interrupted {
    fn from(error: IngestError) -> Self {
        Self::Fatal(error)
    }
}

/// Fatal stream statuses: the token is wrong or lacks the right.
fn is_fatal(code: Code) -> bool {
    matches!(code, Code::Unauthenticated | Code::PermissionDenied)
}

impl Worker {
    /// A worker keeping its state in `sink`.
    pub fn new(options: WorkerOptions, sink: Sink) -> Self {
        let backoff = Backoff::new(Duration::from_millis(100), options.max_backoff);
        Self {
            options,
            sink,
            backoff,
        }
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
            let mails = maildir.read_pending().map_err(|source| IngestError::Io {
                what: "cannot read the Maildir".to_owned(),
                source,
            })?;
            if !mails.is_empty() {
                total.add(self.run(mails).await?);
            }
            let Some(interval) = watch else {
                return Ok(total);
            };
            tokio::select! {
                () = &mut stop => return Ok(total),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Handles `mails` until each is answered, routed or quarantined.
    pub async fn run(&mut self, mails: Vec<RawMail>) -> Result<Summary, IngestError> {
        let stage = Stage::counted("ingest", mails.len() as u64);
        let mut summary = Summary::default();
        let mut work = Work::default();
        // Mails settled without the server: unreadable ones and those a machine sent.
        let mut settled = Vec::new();
        for raw in mails {
            let (inquiry_id, parsed) = read_mail(&raw.bytes, &self.options.from_address);
            if self
                .sink
                .finish_known(&raw.origin, &raw.bytes, &inquiry_id, &mut summary)?
            {
                stage.advance(1);
                continue;
            }
            match parsed {
                Ok(mail) if mail.sorting.kind != MailKind::Human => {
                    settled.push(automatic(raw, &mail))
                }
                Ok(mail) => work.queue.push_back(Pending::new(raw, mail)),
                Err(error) => settled.push(quarantined(raw, inquiry_id, None, error.to_string())),
            }
        }
        let before = summary.processed;
        self.sink.commit(settled, &mut summary)?;
        stage.advance(summary.processed - before);
        while !work.queue.is_empty() {
            match self.stream(&mut work, &mut summary, &stage).await {
                Ok(()) => {}
                Err(Interrupted::Transient(status)) => {
                    let wait = self.backoff.next_wait();
                    tracing::warn!(
                        code = ?status.code(),
                        message = status.message(),
                        retry_in_ms = wait.as_millis() as u64,
                        pending = work.queue.len(),
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
            quarantined = summary.quarantined,
            no_reply = summary.no_reply,
            automatic = summary.automatic,
            withheld = summary.withheld,
            duplicates = summary.duplicates,
            "ingest run done"
        );
        Ok(summary)
    }

    /// One stream: submits the queued mails with the window full until none is left; mails
    /// without a decision when it ends go back to the queue's front.
    async fn stream(
        &mut self,
        work: &mut Work,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), Interrupted> {
        let window = self.options.window.max(1);
        let channel = self
            .options
            .endpoint
            .connect()
            .await
            .map_err(|error| Interrupted::Transient(Status::unavailable(error.to_string())))?;
        let (requests, outbound) = mpsc::channel(window);
        self.fill(work, &requests, summary)?;
        let mut request = Request::new(ReceiverStream::new(outbound));
        if let Some(authorization) = &self.options.authorization {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        let opened = TriageServiceClient::new(channel)
            .submit_stream(request)
            .await
            .map(tonic::Response::into_inner);
        let result = match opened {
            Ok(mut responses) => {
                // A reader task, so that every response already there joins one group commit.
                let (events_in, mut events) = mpsc::channel(window);
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
                    .receive(work, &requests, &mut events, summary, stage)
                    .await;
                reader.abort();
                result
            }
            Err(status) => Err(Interrupted::Transient(status)),
        };
        work.requeue();
        match result {
            Err(Interrupted::Transient(status)) if is_fatal(status.code()) => Err(
                Interrupted::Fatal(IngestError::Refused(status.message().to_owned())),
            ),
            other => other,
        }
    }

    /// Takes the stream's responses until nothing is in flight, committing each group of
    /// responses that arrived together and refilling the window after it.
    async fn receive(
        &mut self,
        work: &mut Work,
        requests: &mpsc::Sender<pb::SubmitRequest>,
        events: &mut mpsc::Receiver<Result<pb::SubmitStreamResponse, Status>>,
        summary: &mut Summary,
        stage: &Stage,
    ) -> Result<(), Interrupted> {
        while !work.in_flight.is_empty() {
            let Some(first) = events.recv().await else {
                return Err(Interrupted::Transient(Status::unavailable(
                    "the stream ended",
                )));
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
                match handle_response(pending, message.result, &self.options.from_address) {
                    Verdict::Handled(handled) => group.push(*handled),
                    Verdict::Retry(pending, status) => {
                        tracing::debug!(code = ?status.code(), message = status.message(), "retrying an inquiry");
                        work.queue.push_back(*pending);
                        retry = true;
                    }
                    Verdict::Fatal(status) => fatal = Some(status),
                }
            }
            let before = summary.processed;
            self.sink.commit(group, summary)?;
            stage.advance(summary.processed - before);
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
            self.fill(work, requests, summary)?;
        }
        Ok(())
    }

    /// Sends queued mails until the window is full; a mail whose id is already in flight waits
    /// for the next stream, and one the journal knows (a re-delivery) is only moved.
    fn fill(
        &mut self,
        work: &mut Work,
        requests: &mpsc::Sender<pb::SubmitRequest>,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        while work.in_flight.len() < self.options.window.max(1) {
            let Some(pending) = work.queue.pop_front() else {
                break;
            };
            let id = pending.mail.inquiry_id.clone();
            if self
                .sink
                .finish_known(&pending.raw.origin, &pending.raw.bytes, &id, summary)?
            {
                continue;
            }
            if work.in_flight.contains_key(&id) {
                work.deferred.push(pending);
                continue;
            }
            if requests.try_send(pending.request()).is_err() {
                work.queue.push_front(pending);
                break;
            }
            work.in_flight.insert(id, pending);
        }
        Ok(())
    }
}

/// The mails of a run not handled yet: queued, in flight on the open stream, or deferred
/// (a copy of a mail whose inquiry id is in flight).
#[derive(Default)]
struct Work {
    queue: VecDeque<Pending>,
    in_flight: HashMap<String, Pending>,
    deferred: Vec<Pending>,
}

impl Work {
    /// After a stream: what is in flight or deferred goes back to the queue's front.
    fn requeue(&mut self) {
        let in_flight = self.in_flight.drain().map(|(_, pending)| pending);
        for pending in in_flight.chain(self.deferred.drain(..)) {
            self.queue.push_front(pending);
        }
    }
}
