//! The email worker's test helpers: the fixture mails, a worker over a spool, mails delivered
//! into a Maildir, and the journal's records.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use triage::mail::{GuardLimits, Journal, MailRecord, Sink, Spool, Worker, WorkerOptions};

/// The fixture mails of `tests/fixtures/mail/`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
}

/// The worker's options for a server at `addr`: a window of 8, short waits.
pub fn options(addr: SocketAddr) -> WorkerOptions {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
    WorkerOptions {
        window: 8,
        from_address: "helpdesk@agency.example".into(),
        max_backoff: Duration::from_secs(1),
        ..WorkerOptions::new(endpoint)
    }
}

/// The reply guard's limits turned off: for tests about something else that send one address
/// the same question more than once.
pub fn no_guard() -> GuardLimits {
    GuardLimits {
        per_hour: 0,
        per_thread: 0,
        period_ms: 0,
    }
}

/// A worker with `options` keeping its state under `root`.
pub fn worker(options: WorkerOptions, root: &Path) -> Worker {
    Worker::new(options, Sink::open(Spool::under(root)).unwrap()).unwrap()
}

/// A plain-text mail from `from`; without a Message-ID when `message_id` is `None`.
pub fn mail(message_id: Option<&str>, from: &str, subject: &str, body: &str) -> String {
    let id = message_id.map_or_else(String::new, |id| format!("Message-ID: <{id}>\r\n"));
    format!(
        "From: {from}\r\nTo: helpdesk@agency.example\r\nSubject: {subject}\r\n{id}\
         Date: Fri, 20 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// Delivers `text` into the Maildir at `root` as `name`, through `tmp/` as a delivery agent does.
pub fn deliver(root: &Path, name: &str, text: &str) {
    for folder in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("tmp").join(name), text).unwrap();
    std::fs::rename(root.join("tmp").join(name), root.join("new").join(name)).unwrap();
}

/// The journal's records by the file name of their source.
pub fn records_by_file(root: &Path) -> BTreeMap<String, MailRecord> {
    let journal = Journal::open(&Spool::under(root).journal).unwrap();
    journal
        .records()
        .map(|record| {
            let name = Path::new(&record.source)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, record.clone())
        })
        .collect()
}

/// The file names in `dir`, sorted; none for a folder that does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
