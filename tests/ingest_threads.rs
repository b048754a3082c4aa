//! Follow-up mails through the email worker against a real server (the `thread-*.eml` mails of
//! `tests/fixtures/mail/`): a reply in a thread whose ticket is open joins that ticket, also as a
//! reply to a reply; a reply in a thread whose ticket was resolved reopens that ticket; a reply
//! from another client naming the thread opens nothing on it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::ingest::{fixtures, options, records_by_file};
use common::{TestServer, agency_config};
use triage::mail::{MailOutcome, MailRecord, Maildir, Worker};
use triage::proto::v1 as pb;

fn worker(server: &TestServer, root: &Path) -> Worker {
    common::ingest::worker(options(server.addr), root)
}

/// Delivers `names` into the Maildir's new/ and has the worker take them all.
async fn deliver(server: &TestServer, root: &Path, names: &[&str]) {
    let maildir = Maildir::open(root).unwrap();
    for name in names {
        std::fs::copy(fixtures().join(name), root.join("new").join(name)).unwrap();
    }
    let summary = worker(server, root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!(summary.processed, names.len() as u64, "{summary:?}");
}

/// The routed record of `name`: its queue and ticket.
fn routed(records: &BTreeMap<String, MailRecord>, name: &str) -> (String, u64) {
    let record = &records[name];
    assert_eq!(record.outcome, MailOutcome::Routed, "{name}: {record:?}");
    (record.queue.clone().unwrap(), record.ticket_id.unwrap())
}

/// Follow-up mails join an open thread's ticket (the claim shows the thread's texts, quoted
/// history cut), reopen their thread's ticket once it is resolved, and another client's reply
/// naming the thread opens its own ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_mails_join_their_threads() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");

    deliver(
        &server,
        &root,
        &["thread-open-root.eml", "thread-closed-root.eml"],
    )
    .await;
    let first = records_by_file(&root);
    let (open_queue, open_ticket) = routed(&first, "thread-open-root.eml");
    let (closed_queue, closed_ticket) = routed(&first, "thread-closed-root.eml");
    assert_eq!(
        (open_queue.as_str(), closed_queue.as_str()),
        ("seo", "webdev")
    );
    let done = server.claim("webdev").await.expect("a ready ticket");
    assert_eq!(done.ticket.as_ref().unwrap().ticket_id, closed_ticket);
    server
        .specialist()
        .await
        .resolve(pb::ResolveRequest {
            ticket_id: closed_ticket,
            lease_token: done.lease_token,
            outcome: "sent the estimate".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    deliver(
        &server,
        &root,
        &[
            "thread-open-followup.eml",
            "thread-closed-followup.eml",
            "thread-foreign-followup.eml",
        ],
    )
    .await;
    // A reply to the reply, delivered after it.
    deliver(&server, &root, &["thread-open-followup-2.eml"]).await;
    let all = records_by_file(&root);
    for name in ["thread-open-followup.eml", "thread-open-followup-2.eml"] {
        assert_eq!(
            routed(&all, name),
            ("seo".to_owned(), open_ticket),
            "{name}"
        );
    }
    assert_eq!(
        routed(&all, "thread-closed-followup.eml"),
        ("webdev".to_owned(), closed_ticket)
    );
    let foreign = &all["thread-foreign-followup.eml"];
    assert_eq!(foreign.client_id.as_deref(), Some("lumen"));
    assert_ne!(foreign.ticket_id, Some(open_ticket));

    let claimed = loop {
        let claimed = server.claim("seo").await.expect("a ready ticket");
        if claimed.ticket.as_ref().unwrap().ticket_id == open_ticket {
            break claimed;
        }
    };
    assert!(
        claimed
            .inquiry
            .unwrap()
            .body
            .starts_with("What should the SEO report")
    );
    let bodies: Vec<String> = claimed
        .follow_ups
        .into_iter()
        .map(|f| f.inquiry.unwrap().body)
        .collect();
    assert_eq!(
        bodies,
        [
            "When can we expect it?",
            "Could you also look at the blog pages?"
        ]
    );
    server.stop().await;
}

/// A thread's first mail and its follow-ups delivered together (a backlog after downtime) make
/// one ticket: the follow-ups wait for the first mail's decision and join its ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_delivered_at_once_makes_one_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    // Named as delivery agents name them: in the order they arrived.
    for (name, fixture) in [
        ("1.root", "thread-open-root.eml"),
        ("2.reply", "thread-open-followup.eml"),
        ("3.reply", "thread-open-followup-2.eml"),
    ] {
        std::fs::copy(fixtures().join(fixture), root.join("new").join(name)).unwrap();
    }
    let summary = worker(&server, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!(summary.routed, 3, "{summary:?}");
    let records = records_by_file(&root);
    let (queue, ticket) = routed(&records, "1.root");
    assert_eq!(queue, "seo");
    for name in ["2.reply", "3.reply"] {
        assert_eq!(routed(&records, name), (queue.clone(), ticket), "{name}");
    }
    let claimed = server.claim("seo").await.expect("a ready ticket");
    assert_eq!(claimed.ticket.unwrap().ticket_id, ticket);
    assert_eq!(claimed.follow_ups.len(), 2);
    server.stop().await;
}
