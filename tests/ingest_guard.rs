//! The reply guard against a real server: a client's distinct questions are each answered, the
//! same answer goes to an address once (a repeat is handed to a person as a ticket, with the
//! reason), a burst to one address pauses automatic replies to it, and what the guard
//! remembers survives a restart of the worker.

mod common;

use std::path::Path;

use common::ingest::{deliver, mail, names_in, options, records_by_file, worker};
use common::{TestServer, agency_config};
use triage::mail::{GuardLimits, Hold, MailOutcome, Maildir, Summary, WorkerOptions};

const HOUR_MS: i64 = 3_600_000;

/// Direct questions of acme's, each with an answer of its own.
const QUESTIONS: [&str; 4] = [
    "Is invoice INV-1042 paid?",
    "When will the final SEO report be ready?",
    "Is invoice INV-1038 paid?",
    "Is invoice INV-1045 paid?",
];

/// Delivers `question` from `from` as the mail `name` (its Message-ID too).
fn ask(root: &Path, name: &str, from: &str, question: &str) {
    let id = format!("{name}@acme.example");
    deliver(root, name, &mail(Some(&id), from, "Question", question));
}

/// One mail at a time, so that the guard sees the mails in their order.
fn one_at_a_time(server: &TestServer, guard: GuardLimits) -> WorkerOptions {
    let mut options = options(server.addr);
    options.window = 1;
    options.guard = guard;
    options
}

async fn run(options: WorkerOptions, root: &Path) -> Summary {
    let maildir = Maildir::open(root).unwrap();
    worker(options, root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap()
}

/// Three distinct questions from one address within minutes are all answered; the first
/// question asked again gets no second automatic reply: a person gets it as a ticket on the
/// escalation queue, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_go_to_a_person_and_distinct_questions_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    for (n, question) in QUESTIONS[..3].iter().enumerate() {
        ask(&root, &format!("q{n}"), "ops@acme.example", question);
    }
    ask(&root, "q3-again", "ops@acme.example", QUESTIONS[0]);
    let summary = run(one_at_a_time(&server, GuardLimits::default()), &root).await;
    assert_eq!(
        (summary.answered, summary.routed, summary.handed_off),
        (3, 1, 1),
        "{summary:?}"
    );
    assert_eq!(names_in(&root.join("outbox")).len(), 3);

    let records = records_by_file(&root);
    let repeat = &records["q3-again"];
    assert_eq!(repeat.outcome, MailOutcome::Routed);
    let Some(Hold::SameReply { sent_ms }) = repeat.held else {
        panic!("the repeat is held as the same reply: {repeat:?}");
    };
    assert_eq!(sent_ms, records["q0"].handled_ms);
    assert_eq!(repeat.queue.as_deref(), Some("account_management"));
    let reason = repeat.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("handed to a person: the same automatic reply was sent"),
        "{reason}"
    );

    let claimed = server
        .claim("account_management")
        .await
        .expect("the hand-off's ticket");
    let inquiry = claimed.inquiry.unwrap();
    assert_eq!(Some(&inquiry.inquiry_id), repeat.submitted_as.as_ref());
    assert_eq!(inquiry.sender, "ops@acme.example");
    assert_eq!(inquiry.body, QUESTIONS[0]);
    assert_eq!(claimed.decision.unwrap().escalation_reason, reason);
    server.stop().await;
}

/// Past the hourly cap an address is paused: its next answer is held, and so is a later
/// distinct question after the worker restarts; another address is answered meanwhile, and a
/// reply it got before the restart is still not sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_pauses_the_address_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let guard = GuardLimits {
        per_hour: 2,
        per_thread: 0,
        period_ms: 24 * HOUR_MS,
    };
    for (n, question) in QUESTIONS[..3].iter().enumerate() {
        ask(&root, &format!("a{n}"), "ops@acme.example", question);
    }
    ask(&root, "b0", "marketing@acme.example", QUESTIONS[0]);
    let first = run(one_at_a_time(&server, guard), &root).await;
    assert_eq!((first.answered, first.handed_off), (3, 1), "{first:?}");
    let records = records_by_file(&root);
    let Some(Hold::HourlyCap { sent: 2, until_ms }) = records["a2"].held else {
        panic!("the third answer reaches the cap: {:?}", records["a2"]);
    };
    assert_eq!(records["b0"].outcome, MailOutcome::Answered);

    // A new worker on the same spool: what the journal says counts.
    ask(&root, "a3", "ops@acme.example", QUESTIONS[3]);
    ask(&root, "b1", "marketing@acme.example", QUESTIONS[0]);
    ask(&root, "b2", "marketing@acme.example", QUESTIONS[1]);
    let second = run(one_at_a_time(&server, guard), &root).await;
    assert_eq!((second.answered, second.handed_off), (1, 2), "{second:?}");
    let records = records_by_file(&root);
    assert_eq!(records["a3"].held, Some(Hold::Paused { until_ms }));
    assert_eq!(
        records["b1"].held,
        Some(Hold::SameReply {
            sent_ms: records["b0"].handled_ms
        })
    );
    assert_eq!(records["b2"].outcome, MailOutcome::Answered);
    assert_eq!(names_in(&root.join("outbox")).len(), 4);
    server.stop().await;
}
