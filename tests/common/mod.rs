//! Shared helpers of the integration tests: the tiny fixture pack and running the binary.

#![allow(dead_code)]

pub mod certs;
pub mod engines;
pub mod ingest;
pub mod load;
pub mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The four-intent fixture pack (English and Chinese rows, out-of-scope test rows).
pub fn tiny_pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

/// A copy of the tiny pack in a temporary folder, to be changed by a test.
pub fn tiny_pack_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for entry in std::fs::read_dir(tiny_pack()).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
    }
    dir
}

/// Runs the `triage` binary with `args` in `cwd`.
pub fn triage(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the triage binary runs")
}

/// The standard output of a run that must succeed.
pub fn stdout_of_success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "triage failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

/// The standard error of a run that must fail.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "triage should have failed");
    String::from_utf8(output.stderr.clone()).expect("utf-8 output")
}

/// A running in-process server for the tests: its address, its clock, and how to stop it.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub clock: std::sync::Arc<triage::route::ManualClock>,
    pub data_dir: PathBuf,
    /// The service state, to look at the store behind the server.
    pub app: std::sync::Arc<triage::grpc::App>,
    /// The server's TLS, when the config has `[tls]`.
    pub tls: Option<std::sync::Arc<triage::tls::ServerTls>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), triage::server::ServerError>>>,
}

/// The agency pack's default configuration with a fresh data folder (or `data_dir`).
pub fn agency_config(data_dir: &Path) -> triage::config::Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    triage::config::Config {
        pack: root.join("data/agency"),
        model: Some(root.join("models/agency")),
        backend: triage::config::Backend::embedded(data_dir),
        metrics_listen: None,
        ..Default::default()
    }
}

/// A fixed start time for the tests' manual clock: 2026-11-20T09:00:00Z, the agency data's as-of.
pub const TEST_NOW_MS: i64 = 1_795_165_200_000;

impl TestServer {
    /// Binds 127.0.0.1:0 first (so no sleeps), then serves `config` in this runtime, over TLS
    /// when it has `[tls]`.
    pub async fn start(config: triage::config::Config) -> Self {
        let clock = std::sync::Arc::new(triage::route::ManualClock::new(TEST_NOW_MS));
        let metrics = std::sync::Arc::new(triage::telemetry::Metrics::new());
        let app = triage::server::build_with_clock(&config, metrics, clock.clone())
            .await
            .expect("the server builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let tls = config
            .tls
            .as_ref()
            .map(|settings| triage::tls::ServerTls::load(settings).expect("the TLS files load"));
        let options = triage::server::ServeOptions {
            tls: tls.clone(),
            ..triage::server::ServeOptions::new(&config)
        };
        let handle = tokio::spawn(triage::server::run(
            listener,
            app.clone(),
            options,
            async move {
                let _ = stop.await;
            },
        ));
        Self {
            addr,
            clock,
            data_dir: config
                .backend
                .data_dir()
                .unwrap_or(Path::new(""))
                .to_path_buf(),
            app,
            tls,
            shutdown: Some(shutdown),
            handle: Some(handle),
        }
    }

    /// A channel to the server.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    /// A triage client.
    pub async fn triage(
        &self,
    ) -> triage::proto::v1::triage_service_client::TriageServiceClient<tonic::transport::Channel>
    {
        triage::proto::v1::triage_service_client::TriageServiceClient::new(self.channel().await)
    }

    /// A specialist client.
    pub async fn specialist(
        &self,
    ) -> triage::proto::v1::specialist_service_client::SpecialistServiceClient<
        tonic::transport::Channel,
    > {
        triage::proto::v1::specialist_service_client::SpecialistServiceClient::new(
            self.channel().await,
        )
    }

    /// Claims the next ticket of `queue` without a token (a loopback admin); `None` when the
    /// queue has none ready.
    pub async fn claim(&self, queue: &str) -> Option<triage::proto::v1::ClaimedTicket> {
        let request = triage::proto::v1::ClaimRequest {
            queue: queue.into(),
            lease: None,
        };
        let response = self.specialist().await.claim(request).await.expect("claim");
        response.into_inner().ticket
    }

    /// Every queue's statistics.
    pub async fn queues(&self) -> Vec<triage::proto::v1::QueueStats> {
        let request = triage::proto::v1::ListQueuesRequest {};
        let response = self
            .specialist()
            .await
            .list_queues(request)
            .await
            .expect("list queues");
        response.into_inner().queues
    }

    /// Signals shutdown and waits for the server to finish it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

/// An inquiry with a body.
pub fn inquiry(id: &str, client: &str, body: &str) -> triage::proto::v1::SubmitRequest {
    triage::proto::v1::SubmitRequest {
        inquiry: Some(triage::proto::v1::Inquiry {
            inquiry_id: id.to_owned(),
            client_id: client.to_owned(),
            channel: triage::proto::v1::Channel::Web.into(),
            body: body.to_owned(),
            ..Default::default()
        }),
    }
}

/// `request` with a bearer token.
pub fn with_token<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    request
}
