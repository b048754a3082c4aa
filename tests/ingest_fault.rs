//! Nothing dropped, nothing doubled: the ingest worker and the server run as their own
//! processes over a seeded Maildir of 2,000 mails; the server is SIGKILLed and restarted on the
//! same data folder mid-run, then the worker is SIGKILLed and restarted. At the end every mail
//! is answered, routed or quarantined exactly once: one journal record each, one reply per
//! answered mail, one ticket per routed mail (a mail the reply guard handed to a person has its
//! ticket under the hand-off's id), and `new/` is empty.

mod common;

use common::load::claim_all;
use common::process::{kill, start_server, write_config};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use triage::mail::{MailOutcome, MailRecord};

const MAILS: usize = 2000;
const TIMEOUT: Duration = Duration::from_secs(120);

fn triage(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the triage binary starts")
}

/// The journal's records of handled mails (a line being written is not counted, nor the
/// lines of submissions).
fn journal(maildir: &Path) -> Vec<MailRecord> {
    let text = std::fs::read_to_string(maildir.join(".triage/journal.jsonl")).unwrap_or_default();
    let complete = text.rfind('\n').map_or(0, |end| end + 1);
    text[..complete]
        .lines()
        .filter(|line| !line.starts_with("{\"submitted\""))
        .map(|line| serde_json::from_str(line).expect("a journal record"))
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Every mail handled exactly once across a server SIGKILL and a worker SIGKILL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_of_server_and_worker_drop_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let maildir: PathBuf = dir.path().join("Maildir");
    let mails = MAILS.to_string();
    let args = [
        "sample-maildir",
        "--out",
        maildir.to_str().unwrap(),
        "--count",
        &mails,
        "--seed",
        "7",
    ];
    let written = common::stdout_of_success(&common::triage(root, &args));
    assert!(written.starts_with(&format!("{MAILS} mails")), "{written}");

    let config = write_config(dir.path(), "triage.toml", 0, "");
    let (server, addr) = start_server(&config);
    let ingest = [
        "ingest",
        "--maildir",
        maildir.to_str().unwrap(),
        "--server",
        &addr,
        "--batch",
        "32",
        "--max-backoff",
        "1",
        "--from-address",
        "helpdesk@agency.example",
    ];
    let worker = triage(&ingest);
    wait_for("the first 300 mails", || journal(&maildir).len() >= 300);
    kill(server);
    // Started again on the same data and the port the worker knows; the worker waits for it
    // with its backoff.
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let (server, _) = start_server(&write_config(dir.path(), "triage.toml", port, ""));
    let before = journal(&maildir).len();
    wait_for("300 more mails after the server's restart", || {
        journal(&maildir).len() >= before + 300
    });
    kill(worker);
    let handled_when_killed = journal(&maildir).len();
    assert!(handled_when_killed < MAILS, "the worker was done too soon");
    eprintln!("server killed at {before} mails handled, worker at {handled_when_killed}");
    let mut worker = triage(&ingest);
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = worker.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < TIMEOUT, "the worker did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "the worker failed: {exit}");

    // One record per mail, no inquiry twice.
    let records = journal(&maildir);
    let ids: BTreeSet<&str> = records.iter().map(|r| r.inquiry_id.as_str()).collect();
    assert_eq!(records.len(), MAILS, "records");
    assert_eq!(ids.len(), MAILS, "distinct inquiry ids");
    let of = |outcome: MailOutcome| records.iter().filter(move |r| r.outcome == outcome);
    let answered = of(MailOutcome::Answered).count();
    // A ticket carries the id its mail was submitted under.
    let routed: BTreeSet<&str> = of(MailOutcome::Routed)
        .map(|r| r.submitted_as.as_deref().unwrap_or(&r.inquiry_id))
        .collect();
    let quarantined = of(MailOutcome::Quarantined).count();
    let handed_off = of(MailOutcome::Routed).filter(|r| r.held.is_some()).count();
    assert!(answered > 0 && !routed.is_empty() && quarantined > 0 && handed_off > 0);
    assert_eq!(answered + routed.len() + quarantined, MAILS);

    // The folders agree with the journal.
    assert_eq!(count(&maildir.join("new")), 0, "new/ is not empty");
    assert_eq!(count(&maildir.join("cur")), answered + routed.len());
    assert_eq!(count(&maildir.join("quarantine")), 2 * quarantined);
    let outbox: BTreeSet<String> = std::fs::read_dir(maildir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // One reply per answered mail, and one acknowledgement per new ticket told (at most one a
    // thread: none for a mail handed to a person or a follow-up).
    let acknowledged = of(MailOutcome::Routed)
        .filter(|r| r.reply.is_some())
        .count();
    assert!(
        of(MailOutcome::Routed)
            .filter(|r| r.held.is_some())
            .all(|r| r.reply.is_none())
    );
    assert_eq!(
        outbox.len(),
        answered + acknowledged,
        "one reply per answered mail"
    );
    for record in
        of(MailOutcome::Answered).chain(of(MailOutcome::Routed).filter(|r| r.reply.is_some()))
    {
        assert!(
            outbox.contains(record.reply.as_deref().unwrap()),
            "{record:?}"
        );
    }

    // The server holds exactly one ticket per routed mail.
    let channel = tonic::transport::Endpoint::from_shared(addr.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let ticketed = claim_all(channel).await;
    let routed: BTreeSet<String> = routed.into_iter().map(str::to_owned).collect();
    assert_eq!(ticketed, routed, "tickets against routed mails");
    kill(server);
}
