//! The worker's streams against servers that misbehave on purpose: a backlog is read a window
//! at a time (never all of `new/` at once), and a server that never answers (no connection,
//! no response headers, or headers and then silence) is given up on and tried again, with
//! nothing lost.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ingest::{deliver, mail, names_in, options, worker};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};
use triage::mail::{Journal, Maildir, Spool, Summary, WorkerOptions};
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_server::{TriageService, TriageServiceServer};

/// The longest a test waits for something to happen before it fails (never reached when it
/// works: not a measure of speed).
const PATIENCE: Duration = Duration::from_secs(120);

/// The sending side of a SubmitStream's responses.
type Responses = mpsc::Sender<Result<pb::SubmitStreamResponse, Status>>;

/// How the fake server treats a SubmitStream.
#[derive(Clone)]
enum Behaviour {
    /// Never sends the response headers.
    Silent,
    /// Sends the headers, then nothing.
    HeadersOnly,
    /// Holds the responses until `window` inquiries arrived, then deletes the mails of `new`
    /// not submitted yet, and answers every inquiry (each needs no reply).
    DeleteTheRest { window: usize, new: PathBuf },
}

/// A TriageService that misbehaves as told, counting its streams and the inquiries it got.
#[derive(Clone)]
struct FakeServer {
    behaviour: Behaviour,
    streams: Arc<AtomicUsize>,
    submitted: Arc<Mutex<Vec<String>>>,
    /// The senders of the streams that get headers and nothing else, kept open.
    held_open: Arc<Mutex<Vec<Responses>>>,
}

/// An answer that needs no reply.
fn no_reply(inquiry_id: String) -> pb::SubmitStreamResponse {
    let decision = pb::Decision {
        inquiry_id: inquiry_id.clone(),
        client_id: "acme".into(),
        outcome: Some(pb::decision::Outcome::NoReply(pb::NoReply {
            kind: "closing_remark".into(),
            reason: "nothing to answer".into(),
        })),
        ..Default::default()
    };
    pb::SubmitStreamResponse {
        inquiry_id,
        result: Some(pb::submit_stream_response::Result::Response(
            pb::SubmitResponse {
                decision: Some(decision),
                replayed: false,
                acknowledgement: None,
            },
        )),
    }
}

/// The mail files of `new` whose Message-ID (`<name>@acme.example`) is not in `submitted`.
fn remove_unsubmitted(new: &Path, submitted: &[String]) {
    let submitted: HashSet<&str> = submitted.iter().map(String::as_str).collect();
    for name in names_in(new) {
        if !submitted.contains(format!("{name}@acme.example").as_str()) {
            std::fs::remove_file(new.join(name)).unwrap();
        }
    }
}

#[tonic::async_trait]
impl TriageService for FakeServer {
    async fn submit(
        &self,
        _: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        Err(Status::unimplemented("the worker streams"))
    }

    type SubmitStreamStream = ReceiverStream<Result<pb::SubmitStreamResponse, Status>>;

    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        let (responses, stream) = mpsc::channel(1024);
        match &self.behaviour {
            Behaviour::Silent => std::future::pending().await,
            Behaviour::HeadersOnly => self.held_open.lock().unwrap().push(responses),
            Behaviour::DeleteTheRest { window, new } => {
                let (window, new) = (*window, new.clone());
                let submitted = Arc::clone(&self.submitted);
                let mut inbound = request.into_inner();
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    while let Some(Ok(item)) = inbound.next().await {
                        let id = item.inquiry.unwrap_or_default().inquiry_id;
                        let count = {
                            let mut submitted = submitted.lock().unwrap();
                            submitted.push(id.clone());
                            if submitted.len() == window {
                                remove_unsubmitted(&new, &submitted);
                            }
                            submitted.len()
                        };
                        held.push(id);
                        if count >= window {
                            for id in held.drain(..) {
                                let _ = responses.send(Ok(no_reply(id))).await;
                            }
                        }
                    }
                });
            }
        }
        Ok(Response::new(ReceiverStream::new(stream)))
    }

    async fn classify(
        &self,
        _: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn get_inquiry(
        &self,
        _: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<pb::InquiryState>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    type WatchInquiryStream = ReceiverStream<Result<pb::InquiryState, Status>>;

    async fn watch_inquiry(
        &self,
        _: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<Self::WatchInquiryStream>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn list_replies(
        &self,
        _: Request<pb::ListRepliesRequest>,
    ) -> Result<Response<pb::ListRepliesResponse>, Status> {
        Ok(Response::new(pb::ListRepliesResponse::default()))
    }

    async fn feedback(
        &self,
        _: Request<pb::FeedbackRequest>,
    ) -> Result<Response<pb::FeedbackResponse>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn feedback_link(
        &self,
        _: Request<pb::FeedbackLinkRequest>,
    ) -> Result<Response<pb::FeedbackLinkResponse>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn feedback_summary(
        &self,
        _: Request<pb::FeedbackSummaryRequest>,
    ) -> Result<Response<pb::FeedbackSummaryResponse>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn activity(
        &self,
        _: Request<pb::ActivityRequest>,
    ) -> Result<Response<pb::ActivityResponse>, Status> {
        Err(Status::unimplemented("not for the worker"))
    }

    async fn ping(
        &self,
        _: Request<pb::PingRequest>,
    ) -> Result<Response<pb::PingResponse>, Status> {
        Ok(Response::new(pb::PingResponse {}))
    }
}

impl FakeServer {
    fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            streams: Arc::default(),
            submitted: Arc::default(),
            held_open: Arc::default(),
        }
    }

    /// Serves on a port bound before it returns.
    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TriageServiceServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        addr
    }
}

/// Delivers `count` mails into the Maildir at `root`, named `m000`… (their Message-IDs
/// `m000@acme.example`…).
fn deliver_mails(root: &Path, count: usize) {
    for n in 0..count {
        let name = format!("m{n:03}");
        let id = format!("{name}@acme.example");
        let text = mail(Some(&id), "ops@acme.example", "Hello", "thanks, all good!");
        deliver(root, &name, &text);
    }
}

/// Waits until `done`, failing after [`PATIENCE`].
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The worker over the Maildir at `root` in a task of its own.
fn spawn_worker(
    options: WorkerOptions,
    root: &Path,
) -> tokio::task::JoinHandle<Result<Summary, triage::mail::IngestError>> {
    let maildir = Maildir::open(root).unwrap();
    let mut worker = worker(options, root);
    tokio::spawn(async move {
        worker
            .run_maildir(&maildir, None, std::future::pending())
            .await
    })
}

/// A backlog larger than the window is read a window at a time: the server holds its answers
/// until a window of inquiries arrived and then deletes every other mail of `new/`. A worker
/// that had read them all would still submit them from memory; this one submits the window
/// alone, and skips the mails gone before their turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_reads_no_more_than_its_window() {
    const WINDOW: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Maildir");
    deliver_mails(&root, 5 * WINDOW);
    let server = FakeServer::new(Behaviour::DeleteTheRest {
        window: WINDOW,
        new: root.join("new"),
    });
    let mut options = options(server.start().await);
    options.window = WINDOW;
    let summary = spawn_worker(options, &root).await.unwrap().unwrap();
    assert_eq!(
        (summary.processed, summary.no_reply),
        (WINDOW as u64, WINDOW as u64),
        "{summary:?}"
    );
    assert_eq!(server.submitted.lock().unwrap().len(), WINDOW);
    assert!(names_in(&root.join("new")).is_empty());
    assert_eq!(names_in(&root.join("cur")).len(), WINDOW);
}

/// Against `server`, the worker gives a stream up (its response timeout) and opens another,
/// again and again, and the mail stays in `new/`, journaled as submitted and not handled.
async fn given_up_and_tried_again(addr: SocketAddr, attempts: impl Fn() -> usize) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Maildir");
    deliver_mails(&root, 1);
    let mut options = options(addr);
    options.connect_timeout = Duration::from_millis(200);
    options.response_timeout = Duration::from_millis(200);
    options.max_backoff = Duration::from_millis(200);
    let running = spawn_worker(options, &root);
    wait_for("three attempts", || attempts() >= 3).await;
    assert!(!running.is_finished());
    running.abort();
    assert_eq!(names_in(&root.join("new")), ["m000"]);
    let journal = Journal::open(&Spool::under(&root).journal).unwrap();
    assert!(journal.submission("m000@acme.example").is_some());
    assert_eq!(journal.records().count(), 0);
}

/// A server that never sends the stream's response headers (as behind a buffering proxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_opens_the_stream_is_tried_again() {
    let server = FakeServer::new(Behaviour::Silent);
    let addr = server.start().await;
    given_up_and_tried_again(addr, || server.streams.load(Ordering::SeqCst)).await;
}

/// A server that opens the stream and then never answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_falls_silent_is_tried_again() {
    let server = FakeServer::new(Behaviour::HeadersOnly);
    let addr = server.start().await;
    given_up_and_tried_again(addr, || server.streams.load(Ordering::SeqCst)).await;
}

/// A peer that accepts connections and never says a word (no HTTP/2 at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_speaks_is_tried_again() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            open.push(socket);
        }
    });
    given_up_and_tried_again(addr, || accepted.load(Ordering::SeqCst)).await;
}
