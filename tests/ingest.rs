//! The email-ingest worker against a real server: the corpus of `tests/fixtures/mail/` (every
//! encoding, structure and defect in `expected.json`, and mail machines send: out-of-office
//! notices, automatic replies, bounces, bulk) reaches its outcomes through a Maildir, mbox and
//! .eml files are read in place, re-delivered mail makes nothing twice, and watch mode picks up
//! new mail.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::ingest::{fixtures, names_in, no_guard, options, records_by_file};
use common::{TestServer, agency_config};
use serde_json::Value;
use triage::mail::parse::parse_mail_to;
use triage::mail::reply::reply_file_name;
use triage::mail::suppression::SuppressionList;
use triage::mail::{Incoming, Journal, MailKind, MailOutcome, Maildir, Spool, Worker};

/// The helpdesk's address, the From of its replies.
const HELPDESK: &str = "helpdesk@agency.example";

/// The expected outcome of each fixture mail, by file name.
fn expected() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A worker for the corpus. Several fixtures ask one address the same question (in other
/// charsets and structures), which the reply guard would hand to a person after the first
/// answer; the guard has its own tests (`ingest_guard.rs`), so it is off here.
fn worker(server: &TestServer, root: &Path) -> Worker {
    worker_with_token(server, root, None)
}

fn worker_with_token(server: &TestServer, root: &Path, token: Option<&str>) -> Worker {
    let mut options = options(server.addr);
    options.authorization = token.map(|token| format!("Bearer {token}").parse().unwrap());
    options.guard = no_guard();
    common::ingest::worker(options, root)
}

/// The kind a fixture's expectation names ("human" unless it says otherwise).
fn expected_kind(expect: &Value) -> MailKind {
    serde_json::from_value(expect["kind"].clone()).unwrap_or(MailKind::Human)
}

/// Each fixture decodes to the subject and text expected (charsets, wrong charset labels,
/// transfer encodings, RFC 2047, HTML only or behind an empty text/plain, quoted history and
/// signatures cut in many languages, attachments noted), and is sorted as the person's or the
/// machine's mail it is, with what a bounce reports.
#[test]
fn corpus_mails_decode_as_expected() {
    for (name, expect) in expected() {
        let raw = std::fs::read(fixtures().join(&name)).unwrap();
        let Ok(mail) = parse_mail_to(&raw, HELPDESK) else {
            assert_eq!(expect["outcome"], "quarantined", "{name} did not parse");
            continue;
        };
        assert_eq!(
            mail.sorting.kind,
            expected_kind(&expect),
            "{name}: {:?}",
            mail.sorting
        );
        if mail.sorting.kind != MailKind::Human {
            assert!(!mail.sorting.evidence.is_empty(), "{name}");
            assert!(mail.body.is_empty(), "{name}: a machine's mail was read");
        }
        if let Some(bounced) = expect["bounce"].as_object() {
            let failures = &mail.sorting.bounce.as_ref().unwrap().failures;
            let got: BTreeMap<&str, bool> = failures
                .iter()
                .map(|failure| (failure.recipient.as_str(), failure.permanent))
                .collect();
            let want: BTreeMap<&str, bool> = bounced
                .iter()
                .map(|(address, permanent)| (address.as_str(), permanent == true))
                .collect();
            assert_eq!(got, want, "{name}");
        }
        for absent in expect["absent"].as_array().into_iter().flatten() {
            let absent = absent.as_str().unwrap();
            assert!(
                !mail.body.contains(absent),
                "{name}: {absent:?} left in {:?}",
                mail.body
            );
        }
        if let Some(subject) = expect["subject"].as_str() {
            assert_eq!(mail.subject, subject, "{name}");
        }
        if let Some(body) = expect["body"].as_str() {
            assert!(
                mail.body.contains(body),
                "{name}: {body:?} not in {:?}",
                mail.body
            );
        }
        if let Some(thread) = expect["thread"].as_str() {
            assert_eq!(mail.thread_id.as_deref(), Some(thread), "{name}");
        }
        if let Some(attachments) = expect["attachments"].as_array() {
            assert_eq!(mail.attachments.len(), attachments.len(), "{name}");
        }
        assert_eq!(mail.truncated, expect["truncated"] == true, "{name}");
        assert!(
            !mail.body.contains("Kind regards")
                && !mail.body.contains("Original Message")
                && !mail.body.contains("HTML PART")
                && !mail.body.contains("发件人")
                && !mail.body.contains("王芳")
                && !mail.body.contains("С уважением"),
            "{name}: history, signature or the HTML alternative left in {:?}",
            mail.body
        );
    }
}

/// No prefix of any corpus mail (a mail cut off mid-transfer) makes the reader panic: each is
/// an inquiry or a reason for the quarantine.
#[test]
fn cut_off_mails_never_panic() {
    for name in expected().keys() {
        let raw = std::fs::read(fixtures().join(name)).unwrap();
        let step = (raw.len() / 300).max(1);
        for end in (0..raw.len()).step_by(step) {
            if let Ok(mail) = parse_mail_to(&raw[..end], HELPDESK) {
                assert!(!mail.inquiry_id.is_empty() && mail.sender.contains('@'));
            }
        }
    }
}

/// The corpus through a Maildir: every mail answered, routed (with its queue), quarantined
/// (with its reason) or, sent by a machine, journaled with its kind and moved to cur/ without a
/// ticket or a reply, as expected; a permanent bounce pauses mail to its address (the answer to
/// it is withheld), a transient one does not; replies in the outbox, nothing left in new/; mail
/// delivered again is moved as a duplicate, with a record of its own and no second ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_corpus_reaches_its_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let expected = expected();
    for name in expected.keys() {
        std::fs::copy(fixtures().join(name), root.join("new").join(name)).unwrap();
    }
    let mut worker = worker(&server, &root);
    let summary = worker
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();

    let records = records_by_file(&root);
    let mut counts = BTreeMap::<&str, u64>::new();
    let mut acknowledged = 0;
    for (name, expect) in &expected {
        let outcome = expect["outcome"].as_str().unwrap();
        *counts.entry(outcome).or_default() += 1;
        if outcome == "duplicate" {
            let record = &records[name];
            assert_eq!(record.outcome, MailOutcome::Duplicate, "{name}");
            assert_eq!(record.duplicate_of.as_deref(), Some("dup-1@acme.example"));
            continue;
        }
        let record = &records[name];
        let want = match outcome {
            "answered" => MailOutcome::Answered,
            "routed" => MailOutcome::Routed,
            "automatic" => MailOutcome::Automatic,
            _ => MailOutcome::Quarantined,
        };
        assert_eq!(record.outcome, want, "{name}: {record:?}");
        if outcome != "quarantined" {
            assert_eq!(record.kind, expected_kind(expect), "{name}");
        }
        let reply = root
            .join("outbox")
            .join(reply_file_name(&record.inquiry_id));
        let withheld = expect["withheld"] == true;
        // An answer, or a ticket's acknowledgement (none for a follow-up in a thread told
        // before, or a mail handed to a person).
        let replied = match outcome {
            "answered" => !withheld,
            "routed" => record.reply.is_some(),
            _ => false,
        };
        assert_eq!(reply.exists(), replied, "{name}");
        acknowledged += u64::from(outcome == "routed" && replied);
        if outcome == "automatic" {
            assert!(
                record.reason.as_ref().is_some_and(|r| !r.is_empty()),
                "{name}"
            );
            assert!(
                record.ticket_id.is_none() && record.client_id.is_none(),
                "{name}"
            );
        }
        if withheld {
            let reason = record.reason.as_deref().unwrap_or_default();
            assert!(reason.starts_with("reply withheld"), "{name}: {reason}");
            assert!(record.reply.is_none(), "{name}");
        }
        if let Some(queue) = expect["queue"].as_str() {
            assert_eq!(record.queue.as_deref(), Some(queue), "{name}: {record:?}");
            assert!(record.ticket_id.is_some_and(|id| id > 0), "{name}");
        }
        if let Some(client) = expect["client"].as_str() {
            assert_eq!(record.client_id.as_deref(), Some(client), "{name}");
        }
        if let Some(reason) = expect["reason"].as_str() {
            let got = record.reason.as_deref().unwrap_or_default();
            assert!(got.contains(reason), "{name}: {got:?}");
        }
        if let Some(thread) = expect["thread"].as_str() {
            assert_eq!(record.thread_id.as_deref(), Some(thread), "{name}");
        }
        if expect["raw_id"] == true {
            assert!(record.inquiry_id.starts_with("raw-"), "{name}");
        }
        assert_eq!(record.truncated, expect["truncated"] == true, "{name}");
    }
    assert_eq!(summary.answered, counts["answered"]);
    assert_eq!(summary.routed, counts["routed"]);
    assert!(acknowledged > 0, "new tickets are acknowledged");
    assert_eq!(summary.acknowledged, acknowledged);
    assert_eq!(summary.quarantined, counts["quarantined"]);
    assert_eq!(summary.automatic, counts["automatic"]);
    assert_eq!(summary.duplicates, counts["duplicate"]);
    let withheld = expected.values().filter(|e| e["withheld"] == true).count() as u64;
    assert_eq!(summary.withheld, withheld);

    // Permanent bounces pause automatic mail to their addresses; transient ones do not.
    let paused = SuppressionList::open(
        &Spool::under(&root).journal.with_file_name("bounced.json"),
        0,
    )
    .unwrap();
    let bounced = expected.values().filter_map(|e| e["bounce"].as_object());
    for (address, permanent) in bounced.flatten() {
        let pause = paused.active(address, records["bounced-address-asks.eml"].handled_ms);
        assert_eq!(pause.is_some(), permanent == true, "{address}");
    }
    assert_eq!(summary.processed, expected.len() as u64);
    assert_eq!(records["attachment.eml"].attachments, ["brief.pdf"]);

    // Folders: new/ empty, cur/ has the decided mails seen, the quarantine has reasons.
    assert!(names_in(&root.join("new")).is_empty());
    let cur = names_in(&root.join("cur"));
    assert_eq!(cur.len() as u64, summary.processed - summary.quarantined);
    assert!(cur.iter().all(|name| name.ends_with(":2,S")), "{cur:?}");
    let mut quarantined: Vec<String> = expected
        .iter()
        .filter(|(_, expect)| expect["outcome"] == "quarantined")
        .flat_map(|(name, _)| [name.clone(), format!("{name}.reason")])
        .collect();
    quarantined.sort();
    assert_eq!(names_in(&root.join("quarantine")), quarantined);
    let reason = std::fs::read_to_string(root.join("quarantine/empty.eml.reason")).unwrap();
    assert!(reason.contains("no text"), "{reason}");

    // One reply per answered mail and one acknowledgement per new ticket, threaded under it.
    let outbox = names_in(&root.join("outbox"));
    assert_eq!(
        outbox.len() as u64,
        summary.answered + summary.acknowledged - summary.withheld,
        "{outbox:?}"
    );
    let reply = std::fs::read(root.join("outbox/plain-1@acme.example.eml")).unwrap();
    let reply = mail_parser::MessageParser::default().parse(&reply).unwrap();
    assert_eq!(reply.subject(), Some("Re: Invoice question"));
    assert_eq!(reply.in_reply_to().as_text(), Some("plain-1@acme.example"));
    assert_eq!(
        reply
            .to()
            .and_then(|to| to.first())
            .and_then(|a| a.address()),
        Some("ops@acme.example")
    );
    assert_eq!(
        reply
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("helpdesk@agency.example")
    );
    assert!(reply.body_text(0).unwrap().contains("INV-1042"));
    for (header, value) in [
        ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"),
    ] {
        assert_eq!(reply.header_raw(header).map(str::trim), Some(value));
    }
    let thread_reply = std::fs::read(root.join("outbox/zh-reply-1@acme.example.eml")).unwrap();
    let thread_reply = mail_parser::MessageParser::default()
        .parse(&thread_reply)
        .unwrap();
    assert_eq!(thread_reply.subject(), Some("Re: 会议"));

    // Delivered again: moved as a duplicate with its own record, no second ticket.
    std::fs::copy(
        fixtures().join("unknown-sender.eml"),
        root.join("new/redelivered.eml"),
    )
    .unwrap();
    let again = worker
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((again.processed, again.duplicates), (1, 1));
    let after = records_by_file(&root);
    assert_eq!(after.len(), records.len() + 1);
    let copy = &after["redelivered.eml"];
    assert_eq!(copy.outcome, MailOutcome::Duplicate);
    assert_eq!(
        copy.duplicate_of.as_ref(),
        Some(&records["unknown-sender.eml"].inquiry_id)
    );
    let queues = server
        .specialist()
        .await
        .list_queues(triage::proto::v1::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    let tickets: u64 = queues.iter().map(|queue| queue.ready).sum();
    // A reply decided after its thread's first mail is attached to that mail's ticket.
    let opened: std::collections::BTreeSet<u64> =
        records.values().filter_map(|r| r.ticket_id).collect();
    assert_eq!(tickets, opened.len() as u64);
    server.stop().await;
}

/// Files named on the command line (an mbox of two mails, an .eml) are read in place and
/// recorded; a second run finds them all done and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mbox_and_eml_files_are_read_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let state = dir.path().join("state");
    let files = [
        fixtures().join("thread.mbox"),
        fixtures().join("unknown-sender.eml"),
    ];
    let mut worker = worker(&server, &state);
    let first = worker.run(Incoming::files(&files, 1 << 20)).await.unwrap();
    assert_eq!(
        (first.processed, first.answered, first.routed),
        (3, 1, 2),
        "{first:?}"
    );
    let records = Journal::open(&Spool::under(&state).journal).unwrap();
    let sources: Vec<&str> = records.records().map(|r| r.source.as_str()).collect();
    assert!(
        sources.iter().any(|s| s.ends_with("thread.mbox:1")),
        "{sources:?}"
    );
    let second = worker.run(Incoming::files(&files, 1 << 20)).await.unwrap();
    assert_eq!((second.processed, second.duplicates), (3, 3));
    assert!(fixtures().join("thread.mbox").exists());
    server.stop().await;
}

/// Watch mode picks up mail delivered after it started, and stops when told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_mode_picks_up_new_mail() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let mut worker = worker(&server, &root);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watching = tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        worker
            .run_maildir(&maildir, Some(Duration::from_millis(20)), stopped)
            .await
            .unwrap()
    });
    std::fs::copy(
        fixtures().join("plain-direct.eml"),
        root.join("tmp/late.eml"),
    )
    .unwrap();
    std::fs::rename(root.join("tmp/late.eml"), root.join("new/late.eml")).unwrap();
    let started = Instant::now();
    while names_in(&root.join("cur")) != ["late.eml:2,S"] {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the mail was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    let summary = watching.await.unwrap();
    assert_eq!((summary.processed, summary.answered), (1, 1));
    server.stop().await;
}

/// A worker the server does not accept stops with the reason and leaves the mail in new/; a
/// client-restricted token gets the other clients' mail quarantined, not the worker stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_stop_the_worker_or_quarantine_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(&dir.path().join("var"));
    let mut token = triage::config::TokenConfig::new(
        "acme-mail",
        "acme-mail-secret-0123456789",
        triage::config::Role::Submitter,
    );
    token.clients = vec!["acme".into()];
    config.tokens = vec![token];
    let server = TestServer::start(config).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    for name in ["plain-direct.eml", "domain-sender.eml"] {
        std::fs::copy(fixtures().join(name), root.join("new").join(name)).unwrap();
    }
    let error = worker(&server, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the server refused the worker"),
        "{error}"
    );
    assert_eq!(names_in(&root.join("new")).len(), 2);

    let mut worker = worker_with_token(&server, &root, Some("acme-mail-secret-0123456789"));
    let summary = worker
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((summary.answered, summary.quarantined), (1, 1));
    let reason = records_by_file(&root)["domain-sender.eml"].reason.clone();
    assert!(
        reason
            .as_deref()
            .unwrap_or_default()
            .contains("may not submit"),
        "{reason:?}"
    );
    server.stop().await;
}

/// A mail over --max-mail-bytes is not read: it goes to the quarantine with a reason naming
/// the limit, and the mails beside it are handled as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mails_are_quarantined_unread() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let small = common::ingest::mail(
        Some("small@acme.example"),
        "ops@acme.example",
        "Invoice",
        "Is invoice 1042 paid?",
    );
    let big = common::ingest::mail(
        Some("big@acme.example"),
        "ops@acme.example",
        "Logs",
        &"our checkout page throws a 500 error\n".repeat(200),
    );
    common::ingest::deliver(&root, "1.small", &small);
    common::ingest::deliver(&root, "2.big", &big);
    let mut options = options(server.addr);
    options.max_mail_bytes = 4096;
    let summary = common::ingest::worker(options, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((summary.answered, summary.quarantined), (1, 1));
    assert_eq!(
        names_in(&root.join("quarantine")),
        ["2.big", "2.big.reason"]
    );
    let reason = std::fs::read_to_string(root.join("quarantine/2.big.reason")).unwrap();
    assert_eq!(
        reason.trim(),
        format!(
            "the mail is {} bytes, over the limit of 4096 bytes",
            big.len()
        )
    );
    server.stop().await;
}

/// A specialist who claims the ticket of an unknown sender's mail sees who wrote it, why a
/// person answers, and the names of the attached files, which are not part of the text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sender_tickets_show_the_sender_and_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let attachment = std::fs::read_to_string(fixtures().join("attachment.eml")).unwrap();
    let from_a_stranger = attachment
        .replace(
            "From: ops@acme.example",
            "From: Stranger <stranger@nowhere.example>",
        )
        .replace("attach-1@acme.example", "stranger-2@nowhere.example");
    common::ingest::deliver(&root, "1.stranger", &from_a_stranger);
    let summary = worker(&server, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!(summary.routed, 1);

    let addr = format!("http://{}", server.addr);
    let output = common::triage(
        &root,
        &["queue", "--addr", &addr, "claim", "account_management"],
    );
    let claimed = common::stdout_of_success(&output);
    for line in [
        "no known client, from stranger@nowhere.example: Integration Can you integrate our \
         HubSpot forms with the new website? The brief is attached.",
        "attachments: brief.pdf",
        "why a human: unknown sender stranger@nowhere.example",
    ] {
        assert!(
            claimed.contains(&format!("{line}\n")),
            "{line:?} not in\n{claimed}"
        );
    }
    server.stop().await;
}
