//! NATS restarted during a run: the replica answers UNAVAILABLE (never hangs) for expert
//! inquiries while NATS is down, reports NOT_SERVING, recovers by itself when NATS returns,
//! and no acknowledged ticket is lost. The test runs its own `nats-server` (JetStream, a store
//! folder of its own) so it can kill it with SIGKILL and start it again on the same port.

// Needs real PostgreSQL and NATS servers: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::engines::{Namespace, start_nats};
use common::inquiry;
use common::load::{EXPERT_TEXTS, assert_all_kept, check_replays, claim_all};
use common::process::{connect, kill, start_server, wait_for_health, write_config};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use triage::proto::v1 as pb;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// What the submitter saw: acknowledged tickets and failures by code.
#[derive(Default)]
struct Seen {
    acknowledged: BTreeMap<String, u64>,
    failures: HashMap<Code, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restart_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("jetstream");
    let (nats, nats_port) = start_nats(None, &store);

    let namespace = Namespace::new("restart");
    namespace.import_agency();
    let scale_out = namespace.config_toml_with_nats(&format!("nats://127.0.0.1:{nats_port}"));
    let config = write_config(dir.path(), "replica.toml", 0, &scale_out);
    let (replica, addr) = start_server(&config);
    let channel = connect(&addr).await;

    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (seen, stop, channel) = (seen.clone(), stop.clone(), channel.clone());
        tokio::spawn(async move {
            let mut client = TriageServiceClient::new(channel);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = format!("restart-acme-{i}");
                let mut request =
                    tonic::Request::new(inquiry(&id, "acme", EXPERT_TEXTS[i % EXPERT_TEXTS.len()]));
                request.set_timeout(Duration::from_secs(10));
                match client.submit(request).await {
                    Ok(response) => {
                        if let Some(pb::decision::Outcome::Ticket(ticket)) =
                            response.into_inner().decision.and_then(|d| d.outcome)
                        {
                            seen.lock()
                                .unwrap()
                                .acknowledged
                                .insert(id, ticket.ticket_id);
                        }
                    }
                    Err(status) => {
                        *seen
                            .lock()
                            .unwrap()
                            .failures
                            .entry(status.code())
                            .or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        })
    };
    let acknowledged = || seen.lock().unwrap().acknowledged.len();
    let unavailable = || {
        seen.lock()
            .unwrap()
            .failures
            .get(&Code::Unavailable)
            .copied()
            .unwrap_or(0)
    };
    let wait = |what: &'static str, done: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !done() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "waited too long for {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };

    wait("the first tickets", &|| acknowledged() >= 100);
    kill(nats);
    wait("UNAVAILABLE while NATS is down", &|| unavailable() >= 5);
    wait_for_health(&channel, ServingStatus::NotServing).await;

    // On the port it had: the replica's client reconnects to the address it knows.
    let (nats, _) = start_nats(Some(nats_port), &store);
    let before = acknowledged();
    wait("tickets after NATS returned", &|| {
        acknowledged() >= before + 100
    });
    wait_for_health(&channel, ServingStatus::Serving).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let codes: Vec<Code> = seen.failures.keys().copied().collect();
    assert_eq!(codes, vec![Code::Unavailable], "{:?}", seen.failures);
    check_replays(channel.clone(), &seen.acknowledged).await;
    let claimed = claim_all(channel).await;
    assert_all_kept(&seen.acknowledged, &claimed);
    kill(replica);
    kill(nats);
    namespace.remove().await;
}
