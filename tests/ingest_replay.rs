//! Idempotency beyond one spool: a mail ingested again from a fresh copy of the mailbox against
//! the same server writes no second answer, while the same spool after a crash between the
//! server's decision and the journal still writes its reply; and a mail without a Message-ID
//! delivered again with more trace headers keeps its inquiry id.

mod common;

use std::path::Path;

use common::ingest::{deliver, mail, names_in, options, records_by_file, worker};
use common::{TestServer, agency_config};
use triage::mail::{MailOutcome, Maildir, Spool, Summary};

async fn run(server: &TestServer, root: &Path) -> Summary {
    let maildir = Maildir::open(root).unwrap();
    worker(options(server.addr), root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap()
}

/// Puts the spool at `root` back where a worker killed after submitting its mails and before
/// journaling their decisions leaves it: the journal holds only the submissions, the outbox
/// nothing, and the mails are in `new/` again.
fn as_killed_before_the_journal(root: &Path) {
    let journal = Spool::under(root).journal;
    let text = std::fs::read_to_string(&journal).unwrap();
    let submissions: String = text
        .lines()
        .filter(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.get("submitted").is_some()
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(!submissions.is_empty(), "no submission in {text}");
    std::fs::write(&journal, submissions).unwrap();
    std::fs::remove_dir_all(root.join("outbox")).unwrap();
    for name in names_in(&root.join("cur")) {
        let unseen = name.trim_end_matches(":2,S");
        std::fs::rename(root.join("cur").join(&name), root.join("new").join(unseen)).unwrap();
    }
}

/// A fresh copy of a mailbox against the same server writes no second reply (the mail is
/// journaled as answered before); the first spool, put back as a kill before the journal
/// leaves it, writes its reply again when restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_spool_sends_no_second_answer_but_a_restart_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let question = mail(
        Some("paid-1@acme.example"),
        "ops@acme.example",
        "Invoice",
        "Is invoice INV-1042 paid?",
    );
    let first = dir.path().join("first");
    deliver(&first, "1.paid", &question);
    let summary = run(&server, &first).await;
    assert_eq!(summary.answered, 1, "{summary:?}");
    let reply = std::fs::read(first.join("outbox/paid-1@acme.example.eml")).unwrap();
    // The answer is stored in the background, with the queue writer's next batch; a copy of
    // the mailbox comes long after.
    server.app.helpdesk.flush().await.unwrap();

    let copy = dir.path().join("copy");
    deliver(&copy, "1.paid", &question);
    let summary = run(&server, &copy).await;
    assert_eq!(
        (summary.answered, summary.answered_before),
        (0, 1),
        "{summary:?}"
    );
    assert!(names_in(&copy.join("outbox")).is_empty());
    let record = &records_by_file(&copy)["1.paid"];
    assert_eq!(record.outcome, MailOutcome::AnsweredBefore);
    assert!(record.replayed && record.reply.is_none(), "{record:?}");
    assert!(names_in(&copy.join("new")).is_empty());

    as_killed_before_the_journal(&first);
    let summary = run(&server, &first).await;
    assert_eq!(
        (summary.answered, summary.answered_before),
        (1, 0),
        "{summary:?}"
    );
    let record = &records_by_file(&first)["1.paid"];
    assert_eq!(record.outcome, MailOutcome::Answered);
    assert!(record.replayed, "{record:?}");
    assert_eq!(
        std::fs::read(first.join("outbox/paid-1@acme.example.eml")).unwrap(),
        reply
    );
    server.stop().await;
}

/// A mail without a Message-ID delivered again with another Received header (and the other
/// headers servers add on the way) keeps its inquiry id: journaled and moved as a duplicate of
/// the first, no second reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_with_one_more_received_header_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let question = mail(
        None,
        "ops@acme.example",
        "Invoice",
        "Is invoice INV-1042 paid?",
    );
    let delivered = format!(
        "Received: from mx1.acme.example by mx.agency.example; Fri, 20 Nov 2026 09:00:02 +0000\r\n\
         {question}"
    );
    deliver(&root, "1.first", &delivered);
    let summary = run(&server, &root).await;
    assert_eq!(summary.answered, 1, "{summary:?}");

    let again = format!(
        "Received: from mx2.agency.example by mx.agency.example; Fri, 20 Nov 2026 09:05:00 +0000\r\n\
         Delivered-To: helpdesk@agency.example\r\nReturn-Path: <ops@acme.example>\r\n\
         X-Spam-Status: No, score=0.1\r\n{delivered}"
    );
    deliver(&root, "2.again", &again);
    let summary = run(&server, &root).await;
    assert_eq!(
        (summary.processed, summary.duplicates),
        (1, 1),
        "{summary:?}"
    );
    let records = records_by_file(&root);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records["1.first"].inquiry_id.starts_with("raw-"));
    let copy = &records["2.again"];
    assert_eq!(copy.outcome, MailOutcome::Duplicate);
    assert_eq!(
        copy.duplicate_of,
        Some(records["1.first"].inquiry_id.clone())
    );
    assert_eq!(names_in(&root.join("outbox")).len(), 1);
    server.stop().await;
}
