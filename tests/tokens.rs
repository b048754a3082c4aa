//! Tokens and what they are held to: `triage token new`, revocation by SIGHUP in a running
//! `triage serve`, per-token rates (a unary call refused with a retry hint while another token
//! is served, a stream's items held back instead), and authentication failures counted by
//! source.

mod common;

use std::time::{Duration, Instant};

use common::process::{start_server, terminate, write_config};
use common::{TestServer, agency_config, inquiry, triage, with_token};
use tonic::Code;
use tonic_types::StatusExt;
use triage::config::{Config, Rate, Role, RoleLimits, TokenConfig, TokenDigest};
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// How long a test waits for a signal's effect before calling it a hang.
const SIGNAL_GUARD: Duration = Duration::from_secs(60);

/// The calls a test makes at most to exceed a rate of one per second.
const CALLS_TO_EXCEED_A_RATE: usize = 50;

/// A token made by `triage token new`: the token, and the table it printed.
fn new_token(cwd: &std::path::Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["token", "new"];
    all.extend_from_slice(args);
    let output = triage(cwd, &all);
    let table = common::stdout_of_success(&output);
    let stderr = String::from_utf8(output.stderr).unwrap();
    let token = stderr
        .lines()
        .find(|line| line.len() == 64 && line.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no token in {stderr}"))
        .to_owned();
    (token, table)
}

/// Pings with `token`: the status code.
async fn ping(client: &mut TriageServiceClient<tonic::transport::Channel>, token: &str) -> Code {
    match client.ping(with_token(token, pb::PingRequest {})).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// `triage token new` shows a 256-bit token once and prints a table that keeps only its
/// digest, which the server accepts; a specialist without queues is refused.
#[test]
fn token_new_prints_the_table_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let (token, table) = new_token(
        dir.path(),
        &[
            "--name",
            "alice",
            "--role",
            "specialist",
            "--queues",
            "seo,content",
        ],
    );
    assert!(!table.contains(&token), "the table holds the token itself");
    let config = Config::parse(&table).unwrap();
    let entry = &config.tokens[0];
    assert_eq!(
        (entry.name.as_str(), entry.role),
        ("alice", Role::Specialist)
    );
    assert_eq!(entry.queues, ["seo", "content"]);
    assert_eq!(entry.digest, TokenDigest::of(&token));
    let (other, _) = new_token(dir.path(), &["--name", "bob", "--role", "admin"]);
    assert_ne!(token, other);

    let refused = triage(
        dir.path(),
        &["token", "new", "--name", "carol", "--role", "specialist"],
    );
    let error = common::stderr_of_failure(&refused);
    assert!(error.contains("needs queues"), "{error}");
}

/// A token removed from the tokens file stops working after SIGHUP, in a running
/// `triage serve`; the token that stays goes on working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_working_after_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (kept, kept_table) = new_token(dir.path(), &["--name", "web", "--role", "submitter"]);
    let (revoked, revoked_table) =
        new_token(dir.path(), &["--name", "old-worker", "--role", "submitter"]);
    let tokens_file = dir.path().join("tokens.toml");
    std::fs::write(&tokens_file, format!("{kept_table}{revoked_table}")).unwrap();
    let config = write_config(
        dir.path(),
        "triage.toml",
        0,
        &format!("tokens_file = {tokens_file:?}\n"),
    );
    let (child, addr) = start_server(&config);
    let mut client = TriageServiceClient::new(connect_with_token(&addr, &kept).await);
    assert_eq!(ping(&mut client, &revoked).await, Code::Ok);

    std::fs::write(&tokens_file, &kept_table).unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    while ping(&mut client, &revoked).await == Code::Ok {
        assert!(
            started.elapsed() < SIGNAL_GUARD,
            "the token was never revoked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ping(&mut client, &revoked).await, Code::Unauthenticated);
    assert_eq!(ping(&mut client, &kept).await, Code::Ok);
    assert!(terminate(child).success());
}

/// A channel to the process at `addr` once it answers `token`'s Ping (it needs a moment to
/// load the model).
async fn connect_with_token(addr: &str, token: &str) -> tonic::transport::Channel {
    let started = Instant::now();
    loop {
        let endpoint = tonic::transport::Endpoint::from_shared(addr.to_owned()).unwrap();
        if let Ok(channel) = endpoint.connect().await
            && ping(&mut TriageServiceClient::new(channel.clone()), token).await == Code::Ok
        {
            return channel;
        }
        assert!(
            started.elapsed() < SIGNAL_GUARD,
            "the server never took {token}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A configuration with two submitter tokens, `noisy` and `quiet`, each held to `limits`.
fn two_submitters(dir: &std::path::Path, limits: RoleLimits) -> Config {
    let mut config = agency_config(dir);
    config.tokens = vec![
        TokenConfig::new("noisy", "noisy-0123456789abcdef", Role::Submitter),
        TokenConfig::new("quiet", "quiet-0123456789abcdef", Role::Submitter),
    ];
    config.limits.submitter = limits;
    config
}

/// A token over its rate gets RESOURCE_EXHAUSTED with a retry hint, while another token of the
/// same role is served.
#[tokio::test]
async fn a_token_over_its_rate_is_refused_while_another_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let limits = RoleLimits {
        requests_per_second: Some(1),
        burst: Some(2),
        in_flight: None,
    };
    let config = two_submitters(dir.path(), limits);
    assert_eq!(
        config.token_limits(Role::Submitter).rate,
        Some(Rate {
            per_second: 1,
            burst: 2
        })
    );
    let server = TestServer::start(config).await;
    let mut client = server.triage().await;
    let refusal = {
        let mut refusal = None;
        for _ in 0..CALLS_TO_EXCEED_A_RATE {
            if let Err(status) = client
                .ping(with_token("noisy-0123456789abcdef", pb::PingRequest {}))
                .await
            {
                refusal = Some(status);
                break;
            }
        }
        refusal.expect("a token at one request per second was never refused")
    };
    assert_eq!(refusal.code(), Code::ResourceExhausted, "{refusal:?}");
    assert!(refusal.message().contains("noisy"), "{refusal:?}");
    let retry = refusal.get_details_retry_info().expect("RetryInfo");
    let delay = retry.retry_delay.expect("a retry delay");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(1),
        "{delay:?}"
    );
    assert_eq!(refusal.metadata().get("retry-after").unwrap(), "1");
    assert_eq!(ping(&mut client, "quiet-0123456789abcdef").await, Code::Ok);
    let text = server.app.metrics.render();
    assert!(
        text.contains("triage_limited_total{limit=\"rate\",token=\"noisy\"} 1"),
        "{text}"
    );
    server.stop().await;
}

/// SubmitStream items count against their token's rate: they wait for it instead of being
/// refused, so a stream of more items than the burst is answered whole, no faster than the
/// rate allows.
#[tokio::test]
async fn stream_items_wait_for_their_tokens_rate() {
    let dir = tempfile::tempdir().unwrap();
    let limits = RoleLimits {
        requests_per_second: Some(5),
        burst: Some(1),
        in_flight: None,
    };
    let server = TestServer::start(two_submitters(dir.path(), limits)).await;
    let mut client = server.triage().await;
    let items: Vec<pb::SubmitRequest> = (0..6)
        .map(|n| {
            inquiry(
                &format!("paced-{n}"),
                "acme",
                "when will the final report be ready?",
            )
        })
        .collect();
    let started = Instant::now();
    let mut responses = client
        .submit_stream(with_token(
            "noisy-0123456789abcdef",
            tokio_stream::iter(items),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut answered = 0;
    while let Some(response) = responses.message().await.unwrap() {
        match response.result {
            Some(pb::submit_stream_response::Result::Response(_)) => answered += 1,
            other => panic!("an item was not answered: {other:?}"),
        }
    }
    assert_eq!(answered, 6);
    // One item at once, then five at five per second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    server.stop().await;
}

/// Authentication failures are counted by source and reason.
#[tokio::test]
async fn authentication_failures_are_counted_by_source() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(two_submitters(dir.path(), RoleLimits::default())).await;
    let mut client = server.triage().await;
    assert_eq!(
        ping(&mut client, "not-a-token-0123456789").await,
        Code::Unauthenticated
    );
    let missing = client.ping(pb::PingRequest {}).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    let text = server.app.metrics.render();
    for line in [
        "triage_auth_failures_total{reason=\"unknown\",source=\"127.0.0.1\"} 1",
        "triage_auth_failures_total{reason=\"missing\",source=\"127.0.0.1\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    server.stop().await;
}
