//! The real engines the scale-out tests run against: PostgreSQL and NATS JetStream, at the
//! addresses in `TRIAGE_TEST_POSTGRES` / `TRIAGE_TEST_NATS` (the machine's local servers by
//! default). A test fails, never skips, when they cannot be reached. Each test works in its
//! own namespace (a PostgreSQL schema, a JetStream stream and subject prefix) and removes it.
//! A test that must stop NATS starts a `nats-server` of its own.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::process::kill;

/// The PostgreSQL the tests use.
pub fn postgres_url() -> String {
    std::env::var("TRIAGE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The NATS server (with JetStream) the tests use.
pub fn nats_url() -> String {
    std::env::var("TRIAGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// The nats-server binary: `TRIAGE_TEST_NATS_SERVER`, else the one on PATH, else Debian's.
fn nats_server_binary() -> String {
    if let Ok(path) = std::env::var("TRIAGE_TEST_NATS_SERVER") {
        return path;
    }
    let on_path = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if on_path {
        "nats-server".into()
    } else {
        "/usr/sbin/nats-server".into()
    }
}

/// A `nats-server` with JetStream storing in `store`, on `port` (None: one the system picks),
/// and the port it listens on, read from its log once it does.
pub fn start_nats(port: Option<u16>, store: &Path) -> (Child, u16) {
    let port_arg = port.map_or("-1".to_owned(), |port| port.to_string());
    let mut child = Command::new(nats_server_binary())
        .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nats-server must be installed (see .ci/run)");
    let log = child.stderr.take().expect("piped stderr");
    let (listening, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(log).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some((_, addr)) = line.split_once("Listening for client connections on ") {
                let _ = listening.send(addr.rsplit(':').next().unwrap_or_default().parse());
                break;
            }
        }
        // Keep reading, so that the server never writes into a closed pipe.
        lines.for_each(drop);
    });
    match announced.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(bound)) => (child, bound),
        other => {
            kill(child);
            panic!("nats-server did not say where it listens: {other:?}");
        }
    }
}

/// A name no other test (or earlier run) uses: a schema, stream and subject prefix.
pub struct Namespace {
    pub name: String,
}

impl Namespace {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "t_{label}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self { name }
    }

    /// The JetStream stream name.
    pub fn stream(&self) -> String {
        self.name.to_uppercase()
    }

    /// The scale-out part of a server config (TOML) for this namespace, with the tests'
    /// NATS when `with_nats`.
    pub fn config_toml(&self, with_nats: bool) -> String {
        if with_nats {
            self.config_toml_with_nats(&nats_url())
        } else {
            self.postgres_toml()
        }
    }

    /// The scale-out part of a server config (TOML) with the NATS server at `url`.
    pub fn config_toml_with_nats(&self, url: &str) -> String {
        self.postgres_toml()
            + &format!(
                "[nats]\nurl = {url:?}\nstream = {:?}\nsubject_prefix = {:?}\ntimeout_ms = 1000\n",
                self.stream(),
                self.name
            )
    }

    fn postgres_toml(&self) -> String {
        format!(
            "[postgres]\nurl = {:?}\nschema = {:?}\npool_size = 8\n",
            postgres_url(),
            self.name
        )
    }

    /// Connects to PostgreSQL in this namespace (migrated).
    pub async fn postgres(&self) -> triage::postgres::Postgres {
        triage::postgres::Postgres::connect(&postgres_url(), Some(&self.name), 4)
            .await
            .unwrap_or_else(|err| panic!("postgres at {} must be running: {err}", postgres_url()))
    }

    /// Loads the agency pack's status data into this namespace's schema with `triage import`;
    /// returns what it printed.
    pub fn import_agency(&self) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let args = [
            "import",
            "--pack",
            "data/agency",
            "--postgres",
            &postgres_url(),
            "--schema",
            &self.name,
        ];
        super::stdout_of_success(&super::triage(root, &args))
    }

    /// Drops the schema and the stream (without creating either first).
    pub async fn remove(&self) {
        triage::postgres::Postgres::open(&postgres_url(), Some(&self.name), 1)
            .expect("a valid postgres url")
            .drop_schema()
            .await
            .expect("drop the test schema");
        if let Ok(nats) = async_nats::connect(nats_url()).await {
            let _ = async_nats::jetstream::new(nats)
                .delete_stream(self.stream())
                .await;
        }
    }
}
