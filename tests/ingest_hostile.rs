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
