//! The server as a separate process: a free port, starting `triage serve` with a config file,
//! and connecting once it serves (it needs a moment to load the model).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// `triage serve --config <config>` as a child process.
pub fn start_server(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--config", config.to_str().expect("utf-8 path")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

/// A config file in `dir` serving the agency pack on `port`, with `extra` TOML appended.
pub fn write_config(dir: &Path, name: &str, port: u16, extra: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:0\"\npack = {:?}\n\
             model = {:?}\ndata_dir = {:?}\n{extra}",
            root.join("data/agency"),
            root.join("models/agency"),
            dir.join(format!("{name}.var")),
        ),
    )
    .expect("write the config");
    path
}

/// A channel to the server at `addr`, once it answers Ping.
pub async fn connect(addr: &str) -> tonic::transport::Channel {
    let started = Instant::now();
    loop {
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(addr.to_owned())
            .expect("endpoint")
            .connect()
            .await
        {
            let mut client = TriageServiceClient::new(channel.clone());
            if client.ping(pb::PingRequest {}).await.is_ok() {
                return channel;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server at {addr} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills `child` with SIGKILL and reaps it.
pub fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}
