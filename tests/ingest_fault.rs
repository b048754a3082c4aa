//! Nothing dropped, nothing doubled: the ingest worker and the server run as their own
//! processes over a seeded Maildir of 2,000 mails; the server is SIGKILLed and restarted on the
//! same data folder mid-run, then the worker is SIGKILLed and restarted. At the end every mail
//! is answered, routed or quarantined exactly once: one journal record each, one reply per
//! answered mail, one ticket per routed mail, and `new/` is empty.

mod common;

use common::load::claim_all;
use common::process::free_port;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use triage::answer::StatusStore;
use triage::mail::{MailOutcome, MailRecord, sample};
use triage::pack::Pack;

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

/// The journal's complete lines, parsed (a line being written is not counted).
fn journal(maildir: &Path) -> Vec<MailRecord> {
    let text = std::fs::read_to_string(maildir.join(".triage/journal.jsonl")).unwrap_or_default();
    let complete = text.rfind('\n').map_or(0, |end| end + 1);
    text[..complete]
        .lines()
        .map(|line| serde_json::from_str(line).expect("a journal line"))
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Every mail handled exactly once across a server SIGKILL and a worker SIGKILL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_of_server_and_worker_drop_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pack = Pack::load(&root.join("data/agency")).unwrap();
    let status = StatusStore::for_pack(&pack).unwrap().snapshot();
    let maildir: PathBuf = dir.path().join("Maildir");
    assert_eq!(
        sample::write_maildir(&pack, &status, &maildir, MAILS, 7).unwrap(),
        MAILS
    );

    let port = free_port();
    let config = dir.path().join("triage.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:0\"\npack = {:?}\nmodel = {:?}\ndata_dir = {:?}\n",
            root.join("data/agency"),
            root.join("models/agency"),
            dir.path().join("var"),
        ),
    )
    .unwrap();
    let serve = ["serve", "--config", config.to_str().unwrap()];
    let addr = format!("http://127.0.0.1:{port}");
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
    // The worker starts first and waits for the server with its backoff.
    let mut worker = triage(&ingest);
    let mut server = triage(&serve);
    wait_for("the first 300 mails", || journal(&maildir).len() >= 300);
    kill(&mut server);
    let mut server = triage(&serve);
    let before = journal(&maildir).len();
    wait_for("300 more mails after the server's restart", || {
        journal(&maildir).len() >= before + 300
    });
    kill(&mut worker);
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
    let routed: BTreeSet<&str> = of(MailOutcome::Routed)
        .map(|r| r.inquiry_id.as_str())
        .collect();
    let quarantined = of(MailOutcome::Quarantined).count();
    assert!(answered > 0 && !routed.is_empty() && quarantined > 0);
    assert_eq!(answered + routed.len() + quarantined, MAILS);

    // The folders agree with the journal.
    assert_eq!(count(&maildir.join("new")), 0, "new/ is not empty");
    assert_eq!(count(&maildir.join("cur")), answered + routed.len());
    assert_eq!(count(&maildir.join("quarantine")), 2 * quarantined);
    let outbox: BTreeSet<String> = std::fs::read_dir(maildir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(outbox.len(), answered, "one reply per answered mail");
    for record in of(MailOutcome::Answered) {
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
    kill(&mut server);
}
