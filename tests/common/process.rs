//! The server as a separate process: starting `triage serve` with a config file on a port the
//! system picks, learning the address it bound from its stdout, and connecting once it serves
//! (it needs a moment to load the model).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// How long a test waits for a process to come up before calling it a hang.
const START_GUARD: Duration = Duration::from_secs(120);

/// A port that refuses connections while the returned socket lives: bound, never listening,
/// so nothing else can take it meanwhile.
pub fn closed_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().unwrap())
        .expect("bind a port");
    let port = socket.local_addr().expect("its address").port();
    (socket, port)
}

/// `triage serve --config <config>` as a child process, and the `http://` address it serves
/// on, read from the line it prints once bound (the config may say port 0). Its log (warnings
/// and errors) goes to [`server_log`].
pub fn start_server(config: &Path) -> (Child, String) {
    let log = std::fs::File::create(log_path(config)).expect("create the server's log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--config", config.to_str().expect("utf-8 path")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (bound, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("serving gRPC on ") {
                let _ = bound.send(addr.to_owned());
                break;
            }
        }
        // Keep reading, so that the server never writes into a closed pipe.
        lines.for_each(drop);
    });
    match address.recv_timeout(START_GUARD) {
        Ok(addr) => (child, format!("http://{addr}")),
        Err(error) => {
            kill(child);
            panic!("the server did not say where it listens: {error}");
        }
    }
}

fn log_path(config: &Path) -> std::path::PathBuf {
    config.with_extension("log")
}

/// What the server started with `config` has logged so far.
pub fn server_log(config: &Path) -> String {
    std::fs::read_to_string(log_path(config)).unwrap_or_default()
}

/// A config file in `dir` serving the agency pack on `port` (0: one the system picks), with
/// `extra` TOML appended.
pub fn write_config(dir: &Path, name: &str, port: u16, extra: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:0\"\nhttp_listen = \"127.0.0.1:0\"\npack = {:?}\n\
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
            started.elapsed() < START_GUARD,
            "the server at {addr} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `child` SIGTERM and waits for it to exit; kills it and fails if it hangs.
pub fn terminate(mut child: Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "SIGTERM was not sent");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the server") {
            return status;
        }
        if started.elapsed() > START_GUARD {
            kill(child);
            panic!("the server did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills `child` with SIGKILL and reaps it.
pub fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// What the server's health service says of `service` (`""`: the server as a whole).
pub async fn service_health(channel: &tonic::transport::Channel, service: &str) -> ServingStatus {
    let response = HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("the health service answers");
    response.into_inner().status()
}

/// What the server's health service says of the triage service.
pub async fn health(channel: &tonic::transport::Channel) -> ServingStatus {
    service_health(channel, "triage.v1.TriageService").await
}

/// Waits until the health service says `wanted` of the server as a whole (`""`, what probes
/// ask by default) and of the triage service; returns how long that took.
pub async fn wait_for_health(
    channel: &tonic::transport::Channel,
    wanted: ServingStatus,
) -> Duration {
    let started = Instant::now();
    while service_health(channel, "").await != wanted || health(channel).await != wanted {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "health never became {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}
