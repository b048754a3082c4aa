//! The email worker against hostile mail: one mail, whatever it does (a header of megabytes,
//! a refusal, MIME that does not decode), is quarantined with its reason while the rest of its
//! batch is handled; no move replaces another mail's file; mails sharing a Message-ID each get
//! their own record and outcome; and mutated fixture mails never make the reader panic.

mod common;

use std::path::Path;

use common::ingest::{deliver, fixtures, names_in, no_guard, options, records_by_file};
use common::{TestServer, agency_config};
use triage::mail::{MailOutcome, Maildir, Worker};

/// The token of a worker that may submit acme's mail only: another client's mail is refused.
const ACME_TOKEN: &str = "acme-mail-secret-0123456789";

/// A server whose only token submits for acme.
async fn acme_only_server(dir: &Path) -> TestServer {
    let mut config = agency_config(&dir.join("var"));
    let mut token = triage::config::TokenConfig::new(
        "acme-mail",
        ACME_TOKEN,
        triage::config::Role::Submitter,
    );
    token.clients = vec!["acme".into()];
    config.tokens = vec![token];
    TestServer::start(config).await
}

/// A worker with the acme token and the reply guard off (several mails ask one question).
fn acme_worker(server: &TestServer, root: &Path) -> Worker {
    let mut options = options(server.addr);
    options.authorization = Some(format!("Bearer {ACME_TOKEN}").parse().unwrap());
    options.guard = no_guard();
    common::ingest::worker(options, root)
}

/// Copies the fixture mail `name` into `new/` of the Maildir at `root`.
fn deliver_fixture(root: &Path, name: &str) {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    deliver(root, name, &text);
}

/// A mail with a From header of 2 MiB, one whose sender is over the server's 254 bytes, one the
/// server refuses (another client's, for an acme-only token) and one whose base64 does not
/// decode, among good mails: each hostile one is quarantined with its own reason, every good
/// one is answered or ticketed in the same run, and the run ends with `new/` empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hostile_mail_never_holds_back_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let server = acme_only_server(dir.path()).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let good = [
        "plain-direct.eml",
        "attachment.eml",
        "alternative.eml",
        "html-only.eml",
    ];
    for name in good {
        deliver_fixture(&root, name);
    }
    let question = |id: &str, from: &str| {
        common::ingest::mail(Some(id), from, "Invoice", "Is invoice 1042 paid?")
    };
    let huge = format!("{}@acme.example", "a".repeat(2 << 20));
    deliver(&root, "huge-from", &question("huge@acme.example", &huge));
    let long = format!("{}@acme.example", "b".repeat(1000));
    deliver(&root, "long-from", &question("long@acme.example", &long));
    deliver_fixture(&root, "domain-sender.eml");
    deliver_fixture(&root, "mime-bad-base64.eml");

    let summary = acme_worker(&server, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();

    let records = records_by_file(&root);
    for name in good {
        let outcome = records[name].outcome;
        assert!(
            matches!(outcome, MailOutcome::Answered | MailOutcome::Routed),
            "{name}: {:?}",
            records[name]
        );
    }
    let hostile = [
        ("huge-from", "inquiry.sender: is 2097165 bytes, over 254"),
        ("long-from", "inquiry.sender: is 1013 bytes, over 254"),
        ("domain-sender.eml", "may not submit"),
        ("mime-bad-base64.eml", "base64 does not decode"),
    ];
    for (name, reason) in hostile {
        let record = &records[name];
        assert_eq!(record.outcome, MailOutcome::Quarantined, "{name}");
        let got = record.reason.as_deref().unwrap_or_default();
        assert!(got.contains(reason), "{name}: {got}");
        let file = std::fs::read_to_string(root.join(format!("quarantine/{name}.reason")));
        assert!(file.unwrap().contains(reason), "{name}");
    }
    assert_eq!((summary.processed, summary.quarantined), (8, 4));
    assert!(names_in(&root.join("new")).is_empty());
    server.stop().await;
}

/// Mails sharing one Message-ID each get their own record and outcome: the first is answered
/// under it, a copy from another file (same sender, same content) is recorded as a duplicate
/// of it, and another client's mail or the same sender's other question reusing it is an
/// inquiry of its own under a derived id, with its own reply; so is another client's mail
/// reusing it in a later run (not quarantined as "already submitted by another client").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_sharing_a_message_id_each_get_their_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    const SHARED: &str = "shared@acme.example";
    let first = common::ingest::mail(
        Some(SHARED),
        "ops@acme.example",
        "Invoice",
        "Is invoice 1042 paid?",
    );
    deliver(&root, "1.first", &first);
    deliver(&root, "2.copy", &first);
    let other_client = common::ingest::mail(
        Some(SHARED),
        "marketing@lumenlegal.example",
        "Report",
        "When will the final report be ready?",
    );
    deliver(&root, "3.other-client", &other_client);
    let other_question = common::ingest::mail(
        Some(SHARED),
        "ops@acme.example",
        "Report",
        "When will the final report be ready?",
    );
    deliver(&root, "4.other-question", &other_question);
    let mut options = options(server.addr);
    options.guard = no_guard();
    let mut worker = common::ingest::worker(options, &root);
    let summary = worker
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((summary.processed, summary.duplicates), (4, 1));

    let later = common::ingest::mail(
        Some(SHARED),
        "j.okonkwo@lumenlegal.example",
        "Invoice",
        "Is invoice 1042 paid?",
    );
    deliver(&root, "5.later", &later);
    let again = worker
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((again.processed, again.quarantined), (1, 0));

    let records = records_by_file(&root);
    assert_eq!(records.len(), 5, "{records:?}");
    assert_eq!(records["1.first"].inquiry_id, SHARED);
    assert_eq!(records["1.first"].outcome, MailOutcome::Answered);
    let copy = &records["2.copy"];
    assert_eq!(copy.outcome, MailOutcome::Duplicate);
    assert_eq!(copy.duplicate_of.as_deref(), Some(SHARED));
    let mut ids = std::collections::BTreeSet::new();
    for (name, client) in [
        ("3.other-client", "lumen"),
        ("4.other-question", "acme"),
        ("5.later", "lumen"),
    ] {
        let record = &records[name];
        assert!(record.inquiry_id.starts_with("reused-"), "{name}: {record:?}");
        assert_eq!(record.message_id.as_deref(), Some(SHARED), "{name}");
        assert_eq!(record.client_id.as_deref(), Some(client), "{name}");
        assert!(
            matches!(record.outcome, MailOutcome::Answered | MailOutcome::Routed),
            "{name}: {record:?}"
        );
        if let Some(reply) = &record.reply {
            assert!(root.join("outbox").join(reply).exists(), "{name}");
        }
        ids.insert(record.inquiry_id.clone());
    }
    assert_eq!(ids.len(), 3);
    assert!(names_in(&root.join("new")).is_empty());
    assert!(names_in(&root.join("quarantine")).is_empty());
    assert_eq!(names_in(&root.join("cur")).len(), 5);
    server.stop().await;
}
