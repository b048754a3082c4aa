//! Readiness of a scaled-out replica as probes see it: the server as a whole (`""`, what
//! grpc_health_probe and Kubernetes ask by default) follows its engines, NOT_SERVING while one
//! is not ready and SERVING again once it is, with the reason in the log; a replica over an
//! empty status store is not ready until `triage import` fills it, without a restart.

// Needs real PostgreSQL and NATS servers: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use common::engines::{Namespace, start_nats};
use common::process::{
    closed_port, connect, kill, server_log, start_server, wait_for_health, write_config,
};
use tonic_health::pb::health_check_response::ServingStatus;
use triage::answer::{ClientDirectory, PgStatus};
use triage::postgres::Postgres;

/// A status store whose PostgreSQL does not answer says so, naming the address and schema.
#[tokio::test]
async fn a_status_store_that_does_not_answer_names_its_address() {
    let (_refusing, port) = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let status = PgStatus::new(Postgres::open(&url, Some("helpdesk"), 1).unwrap());
    let reason = status
        .healthy()
        .await
        .expect_err("nothing answers")
        .to_string();
    assert!(
        reason.starts_with(&format!(
            "postgres at 127.0.0.1:{port}/test (schema \"helpdesk\"): not answering ("
        )),
        "{reason}"
    );
    assert!(reason.contains("refused"), "{reason}");
}

/// nats-server killed: `""` turns NOT_SERVING (the watcher checks every half second) and the
/// log names NATS and its address; restarted on its port: SERVING again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overall_health_follows_nats() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("jetstream");
    let (nats, nats_port) = start_nats(None, &store);
    let namespace = Namespace::new("overall");
    namespace.import_agency();
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let config = write_config(
        dir.path(),
        "replica.toml",
        0,
        &namespace.config_toml_with_nats(&nats_url),
    );
    let (replica, addr) = start_server(&config);
    let channel = connect(&addr).await;
    wait_for_health(&channel, ServingStatus::Serving).await;

    kill(nats);
    let delay = wait_for_health(&channel, ServingStatus::NotServing).await;
    println!(
        "NOT_SERVING {} ms after nats-server was killed",
        delay.as_millis()
    );
    let log = server_log(&config);
    assert!(
        log.contains("not serving: an engine is not ready")
            && log.contains(&format!("nats at {nats_url}")),
        "{log}"
    );

    let (nats, _) = start_nats(Some(nats_port), &store);
    let delay = wait_for_health(&channel, ServingStatus::Serving).await;
    println!(
        "SERVING {} ms after nats-server was restarted",
        delay.as_millis()
    );
    kill(replica);
    kill(nats);
    namespace.remove().await;
}

/// A replica started before `triage import` warns, and reports NOT_SERVING with the reason
/// (not "clients=6" from the pack folder while every Submit gets NOT_FOUND); once the data is
/// imported it serves, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_status_store_is_not_ready_until_imported() {
    let dir = tempfile::tempdir().unwrap();
    let namespace = Namespace::new("empty");
    let config = write_config(dir.path(), "replica.toml", 0, &namespace.config_toml(true));
    let (replica, addr) = start_server(&config);
    let channel = connect(&addr).await;
    wait_for_health(&channel, ServingStatus::NotServing).await;
    let log = server_log(&config);
    let reason = format!(
        "no client status data in postgres schema \"{}\" at ",
        namespace.name
    );
    assert!(log.contains(&reason), "{log}");
    assert!(
        log.contains(&format!("--schema {}`", namespace.name)),
        "{log}"
    );

    namespace.import_agency();
    wait_for_health(&channel, ServingStatus::Serving).await;
    kill(replica);
    namespace.remove().await;
}
