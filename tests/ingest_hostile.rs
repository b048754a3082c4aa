//! The email worker against hostile mail: one mail, whatever it does (a header of megabytes,
//! a refusal, MIME that does not decode), is quarantined with its reason while the rest of its
//! batch is handled; no move replaces another mail's file; mails sharing a Message-ID each get
//! their own record and outcome; and mutated fixture mails never make the reader panic.

mod common;

use std::path::Path;

use common::ingest::{deliver, fixtures, names_in, no_guard, options, records_by_file};
use common::{TestServer, agency_config};
use triage::mail::parse::{MAX_TEXT_BYTES, parse_mail_to};
use triage::mail::{MailOutcome, Maildir, Worker, read_mail};

/// The token of a worker that may submit acme's mail only: another client's mail is refused.
const ACME_TOKEN: &str = "acme-mail-secret-0123456789";

/// A server whose only token submits for acme.
async fn acme_only_server(dir: &Path) -> TestServer {
    let mut config = agency_config(&dir.join("var"));
    let mut token =
        triage::config::TokenConfig::new("acme-mail", ACME_TOKEN, triage::config::Role::Submitter);
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
        assert!(
            record.inquiry_id.starts_with("reused-"),
            "{name}: {record:?}"
        );
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

/// Rounds of seeded mutations per fixture mail and kind of mutation.
const MUTATION_ROUNDS: usize = 6;

/// The kinds of mutation: byte flips, a cut, a header line repeated, a header of megabytes,
/// and flips after a repeated header.
const MUTATION_KINDS: usize = 5;

/// Where the header block of `raw` ends (its blank line), or its end.
fn header_end(raw: &[u8]) -> usize {
    let find = |needle: &[u8]| raw.windows(needle.len()).position(|w| w == needle);
    find(b"\r\n\r\n")
        .or_else(|| find(b"\n\n"))
        .unwrap_or(raw.len())
}

/// `raw` mutated by the `kind`-th mutation, with `rng` choosing where and how.
fn mutate(rng: &mut fastrand::Rng, raw: &[u8], kind: usize) -> Vec<u8> {
    let mut bytes = raw.to_vec();
    let flip = |rng: &mut fastrand::Rng, bytes: &mut Vec<u8>| {
        for _ in 0..rng.usize(1..=16) {
            if !bytes.is_empty() {
                let at = rng.usize(..bytes.len());
                bytes[at] = rng.u8(..);
            }
        }
    };
    let repeat_header = |rng: &mut fastrand::Rng, bytes: &mut Vec<u8>| {
        let head = &bytes[..header_end(bytes)];
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                head.iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .filter(|&start| start < head.len())
            .collect();
        let start = starts[rng.usize(..starts.len())];
        let end = head[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(head.len(), |n| start + n + 1);
        let line = head[start..end].to_vec();
        for _ in 0..rng.usize(1..=50) {
            bytes.splice(start..start, line.iter().copied());
        }
    };
    match kind {
        0 => flip(rng, &mut bytes),
        1 => bytes.truncate(rng.usize(..=bytes.len())),
        2 => repeat_header(rng, &mut bytes),
        3 => {
            let names = [
                "From",
                "Subject",
                "Message-ID",
                "References",
                "Content-Type",
                "To",
            ];
            let name = names[rng.usize(..names.len())];
            let size = rng.usize(256 << 10..=2 << 20);
            let fill = [b'a', b'@', b'<', b' ', b'=', 0xff][rng.usize(..6)];
            let mut header = format!("{name}: ").into_bytes();
            header.extend(std::iter::repeat_n(fill, size));
            header.extend_from_slice(b"\r\n");
            bytes.splice(0..0, header);
        }
        _ => {
            repeat_header(rng, &mut bytes);
            flip(rng, &mut bytes);
        }
    }
    bytes
}

/// Seeded mutations of every fixture mail (byte flips, cuts, a header line repeated up to 50
/// times, a From, Subject, Message-ID, References, Content-Type or To header of up to 2 MiB)
/// through the parser and `read_mail`: none panics, and each yields a mail (a usable id, a
/// sender address, subject and text within the server's limit) or a reason.
#[test]
fn mutated_fixture_mails_yield_a_mail_or_a_reason() {
    let mut corpus: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    corpus.sort();
    let mut rng = fastrand::Rng::with_seed(28);
    let (mut cases, mut mails) = (0, 0);
    for path in &corpus {
        let raw = std::fs::read(path).unwrap();
        for kind in 0..MUTATION_KINDS {
            for _ in 0..MUTATION_ROUNDS {
                let mutated = mutate(&mut rng, &raw, kind);
                let (inquiry_id, read) = read_mail(&mutated, "helpdesk@agency.example");
                let parsed = parse_mail_to(&mutated, "helpdesk@agency.example");
                let usable = |id: &str| id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic());
                assert!(!inquiry_id.is_empty() && usable(&inquiry_id), "{path:?}");
                match read {
                    Ok(mail) => {
                        assert_eq!(mail.inquiry_id, inquiry_id, "{path:?}");
                        assert!(mail.sender.contains('@'), "{path:?}");
                        assert!(mail.subject.len() + mail.body.len() <= MAX_TEXT_BYTES);
                        assert!(mail.thread_id.as_deref().is_none_or(usable), "{path:?}");
                        assert_eq!(parsed.as_ref().ok(), Some(&mail), "{path:?}");
                        mails += 1;
                    }
                    Err(reason) => {
                        assert!(!reason.to_string().is_empty(), "{path:?}");
                        assert_eq!(parsed.err(), Some(reason), "{path:?}");
                    }
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, corpus.len() * MUTATION_KINDS * MUTATION_ROUNDS);
    assert!(
        mails > 0 && mails < cases,
        "{mails} of {cases} read as mails"
    );
    println!("{cases} mutated mails, {mails} read as mails");
}

/// Through the worker, `mail1` and `mail1:2,S` both in `new/` (two mails) end in `cur/` as two
/// files with their own bytes, each journaled; a mail named `x.reason` and a quarantined `x`
/// keep their own files and reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_move_of_the_worker_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    let maildir = Maildir::open(&root).unwrap();
    let ask = |id: &str, question: &str| {
        common::ingest::mail(Some(id), "ops@acme.example", "Question", question)
    };
    let first = ask("m1@acme.example", "Is invoice 1042 paid?");
    let second = ask("m2@acme.example", "When will the final report be ready?");
    deliver(&root, "mail1", &first);
    deliver(&root, "mail1:2,S", &second);
    let empty = ask("x@acme.example", "");
    let empty = empty.replace("Subject: Question", "Subject: ");
    deliver(&root, "x", &empty);
    deliver(&root, "x.reason", &empty.replace("ops@acme", "jo@acme"));
    let mut options = options(server.addr);
    options.guard = no_guard();
    let summary = common::ingest::worker(options, &root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap();
    assert_eq!((summary.processed, summary.quarantined), (4, 2));
    assert_eq!(records_by_file(&root).len(), 4);
    let cur = root.join("cur");
    assert_eq!(names_in(&cur), ["mail1.1:2,S", "mail1:2,S"]);
    let mut kept: Vec<String> = names_in(&cur)
        .iter()
        .map(|name| std::fs::read_to_string(cur.join(name)).unwrap())
        .collect();
    kept.sort();
    let mut sent = vec![first, second];
    sent.sort();
    assert_eq!(kept, sent);
    let quarantine = root.join("quarantine");
    assert_eq!(
        names_in(&quarantine),
        ["x", "x.reason", "x.reason.1", "x.reason.1.reason"]
    );
    let reason = std::fs::read_to_string(quarantine.join("x.reason")).unwrap();
    assert!(reason.contains("no text"), "{reason}");
    let mail = std::fs::read_to_string(quarantine.join("x.reason.1")).unwrap();
    assert!(mail.contains("jo@acme.example"), "{mail}");
    server.stop().await;
}
