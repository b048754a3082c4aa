//! TLS on the server's listeners, with certificates made at test time: which CA a client must
//! trust, mutual TLS, plaintext at a TLS port, a certificate replaced on disk, the metrics port,
//! the CLI's TLS flags, and the refusal of plaintext off loopback.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::certs::{Leaf, TestCa, write};
use common::{TestServer, agency_config, triage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use triage::config::TlsConfig;
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// How long a test waits for a reload before calling it a hang.
const RELOAD_GUARD: Duration = Duration::from_secs(60);

/// A server over TLS with `leaf` as its certificate, and mutual TLS when `client_ca` is given.
async fn tls_server(dir: &Path, leaf: &Leaf, client_ca: Option<&TestCa>) -> TestServer {
    let mut config = agency_config(&dir.join("var"));
    config.tls = Some(TlsConfig {
        cert: write(dir, "server.pem", &leaf.cert),
        key: write(dir, "server.key", &leaf.key),
        client_ca: client_ca.map(|ca| write(dir, "clients-ca.pem", &ca.pem())),
        reload_seconds: 10,
    });
    TestServer::start(config).await
}

/// A channel to `server` trusting `ca`, presenting `identity` if given.
async fn channel(
    server: &TestServer,
    ca: &TestCa,
    identity: Option<&Leaf>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem()));
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    Endpoint::from_shared(format!("https://{}", server.addr))?
        .tls_config(tls)?
        .connect()
        .await
}

/// Pings `server` over TLS: the handshake's or the call's error, with its causes.
async fn ping(server: &TestServer, ca: &TestCa, identity: Option<&Leaf>) -> Result<(), String> {
    let channel = channel(server, ca, identity)
        .await
        .map_err(|error| format!("{error:?}"))?;
    TriageServiceClient::new(channel)
        .ping(pb::PingRequest {})
        .await
        .map(drop)
        .map_err(|status| format!("{status:?}"))
}

/// A client that trusts the server's CA is served; one that trusts another CA refuses the
/// server's certificate.
#[tokio::test]
async fn a_tls_call_needs_the_servers_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("server CA");
    let server = tls_server(dir.path(), &ca.server(), None).await;
    ping(&server, &ca, None).await.expect("served over TLS");
    let error = ping(&server, &TestCa::new("another CA"), None)
        .await
        .unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
    server.stop().await;
}

/// With a client CA, a caller without a certificate, or with one of another CA, is refused;
/// one with a certificate of the client CA is served.
#[tokio::test]
async fn mutual_tls_refuses_callers_without_a_good_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("server CA");
    let clients = TestCa::new("clients CA");
    let server = tls_server(dir.path(), &ca.server(), Some(&clients)).await;
    ping(&server, &ca, Some(&clients.client("mail worker")))
        .await
        .expect("a client of the client CA is served");
    assert!(
        ping(&server, &ca, None).await.is_err(),
        "served without a client certificate"
    );
    let stranger = TestCa::new("another CA").client("stranger");
    assert!(
        ping(&server, &ca, Some(&stranger)).await.is_err(),
        "served with a certificate of another CA"
    );
    server.stop().await;
}

/// A plaintext client at the TLS port gets an error at once, and the server goes on serving
/// TLS clients.
#[tokio::test]
async fn plaintext_to_the_tls_port_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("server CA");
    let server = tls_server(dir.path(), &ca.server(), None).await;
    let plaintext = async {
        let channel = Endpoint::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .map_err(|error| format!("{error:?}"))?;
        TriageServiceClient::new(channel)
            .ping(pb::PingRequest {})
            .await
            .map_err(|status| format!("{status:?}"))
    };
    assert!(plaintext.await.is_err(), "plaintext was served");
    let mut raw = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = raw.read_to_end(&mut answer).await;
    assert!(
        !answer.windows(4).any(|w| w == b"HTTP"),
        "the server answered plaintext in plaintext: {answer:?}"
    );
    ping(&server, &ca, None)
        .await
        .expect("TLS clients are still served");
    server.stop().await;
}

/// A certificate replaced on disk (here by one of another CA) is served to new connections
/// without a restart.
#[tokio::test]
async fn a_replaced_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("old CA"), TestCa::new("new CA"));
    let server = tls_server(dir.path(), &old_ca.server(), None).await;
    let reloading = server
        .tls
        .as_ref()
        .expect("TLS")
        .keep_reloading(Duration::from_millis(50));
    ping(&server, &old_ca, None)
        .await
        .expect("the old certificate");
    let kept = channel(&server, &old_ca, None).await.unwrap();

    let renewed = new_ca.server();
    write(dir.path(), "server.key", &renewed.key);
    write(dir.path(), "server.pem", &renewed.cert);
    let started = Instant::now();
    while ping(&server, &new_ca, None).await.is_err() {
        assert!(
            started.elapsed() < RELOAD_GUARD,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = ping(&server, &old_ca, None).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
    TriageServiceClient::new(kept)
        .ping(pb::PingRequest {})
        .await
        .expect("a connection made before the reload keeps working");
    reloading.abort();
    server.stop().await;
}

/// The metrics endpoint is served over the same TLS.
#[tokio::test]
async fn metrics_are_served_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("server CA");
    let leaf = ca.server();
    let tls = triage::tls::ServerTls::load(&TlsConfig {
        cert: write(dir.path(), "server.pem", &leaf.cert),
        key: write(dir.path(), "server.key", &leaf.key),
        client_ca: None,
        reload_seconds: 10,
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let metrics = Arc::new(triage::telemetry::Metrics::new());
    metrics.observe_escalation("ambiguous");
    let serving = tokio::spawn(triage::telemetry::serve_metrics(
        listener,
        Some(tls),
        metrics,
    ));

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    let ca_der =
        tokio_rustls::rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes());
    roots.add(ca_der.unwrap()).unwrap();
    let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .expect("the metrics port speaks TLS");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("triage_escalations_total{reason=\"ambiguous\"} 1"),
        "{response}"
    );
    serving.abort();
}

/// `triage ask` takes --ca, --cert and --key; without a certificate a mutual-TLS server
/// refuses it, and an http:// address with --ca is a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_connects_with_its_tls_flags() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("server CA");
    let clients = TestCa::new("clients CA");
    let server = tls_server(dir.path(), &ca.server(), Some(&clients)).await;
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let me = clients.client("ops");
    let cert = write(dir.path(), "me.pem", &me.cert);
    let key = write(dir.path(), "me.key", &me.key);
    let https = format!("https://{}", server.addr);
    let run = |args: Vec<String>| {
        let cwd = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            triage(&cwd, &args)
        })
    };
    let ask = |extra: &[&Path]| {
        let mut args: Vec<String> = ["ask", "--addr", &https, "--client", "acme"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (flag, path) in ["--ca", "--cert", "--key"].iter().zip(extra) {
            args.push(flag.to_string());
            args.push(path.display().to_string());
        }
        args.push("when will the final report be ready?".into());
        args
    };
    let served = run(ask(&[&ca_file, &cert, &key])).await.unwrap();
    let stdout = common::stdout_of_success(&served);
    assert!(stdout.contains("deliverable_eta"), "{stdout}");
    let refused = run(ask(&[&ca_file])).await.unwrap();
    assert!(
        !refused.status.success(),
        "served without a client certificate"
    );
    let plain = run(vec![
        "ask".into(),
        "--addr".into(),
        format!("http://{}", server.addr),
        "--ca".into(),
        ca_file.display().to_string(),
        "--client".into(),
        "acme".into(),
        "hello".into(),
    ])
    .await
    .unwrap();
    let error = common::stderr_of_failure(&plain);
    assert!(error.contains("give the address as https://"), "{error}");
    server.stop().await;
}

/// `triage serve` refuses a non-loopback address without TLS, saying what to do.
#[test]
fn plaintext_off_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let token = triage::config::TokenConfig::new(
        "web",
        "web-0123456789abcdef",
        triage::config::Role::Submitter,
    );
    let config = common::process::write_config(dir.path(), "open.toml", 0, &token.to_toml())
        .display()
        .to_string();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:0", "0.0.0.0:0");
    std::fs::write(&config, text).unwrap();
    let output = triage(dir.path(), &["serve", "--config", &config]);
    let error = common::stderr_of_failure(&output);
    assert!(
        error.contains("[tls] is not set") && error.contains("insecure = true"),
        "{error}"
    );
}
