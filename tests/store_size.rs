//! What a ticket costs on disk: 20,000 expert inquiries of the agency workload submitted to a
//! served agency pack (each a durable ticket), then every ticket claimed and resolved; after
//! each phase, with the server stopped, the size of `route.redb` and each table's bytes per
//! ticket are printed. Ignored by default (it takes a minute); run with
//! `cargo test --release --test store_size -- --ignored --nocapture`.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{TestServer, agency_config, inquiry};
use triage::proto::v1 as pb;

const TICKETS: usize = 20_000;
const WORKERS: usize = 64;

/// The agency expert workload's `(client_id, text)` rows.
fn workload() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workload/agency-expert.csv");
    csv::Reader::from_path(path)
        .expect("the expert workload")
        .deserialize()
        .map(|row| row.expect("a client_id,text row"))
        .collect()
}

/// Prints the file's size and each table's share per ticket.
fn report(phase: &str, dir: &Path, tickets: usize) {
    let file = std::fs::metadata(dir.join("route.redb"))
        .expect("route.redb")
        .len();
    println!(
        "{phase}: route.redb {file} bytes for {tickets} tickets: {:.0} bytes a ticket",
        file as f64 / tickets as f64
    );
    for table in triage::route::store_usage(dir).expect("usage") {
        let used = table.stored_bytes + table.metadata_bytes + table.fragmented_bytes;
        println!(
            "  {:<16} {:>7} entries, {:>10} bytes in use ({:>6.1} a ticket; stored {:.1}, \
             metadata {:.1}, fragmented {:.1})",
            table.table,
            table.entries,
            used,
            used as f64 / tickets as f64,
            table.stored_bytes as f64 / tickets as f64,
            table.metadata_bytes as f64 / tickets as f64,
            table.fragmented_bytes as f64 / tickets as f64,
        );
    }
}

/// Submits the workload `TICKETS` times over; returns how many became tickets.
async fn submit_all(server: &TestServer) -> usize {
    let rows = Arc::new(workload());
    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let rows = Arc::clone(&rows);
        let mut client = server.triage().await;
        tasks.push(tokio::spawn(async move {
            let mut queued = 0;
            for n in (worker..TICKETS).step_by(WORKERS) {
                let (client_id, text) = &rows[n % rows.len()];
                let response = client
                    .submit(inquiry(&format!("size-{n:06}"), client_id, text))
                    .await
                    .expect("submitted")
                    .into_inner();
                let outcome = response.decision.and_then(|decision| decision.outcome);
                queued += usize::from(matches!(outcome, Some(pb::decision::Outcome::Ticket(_))));
            }
            queued
        }));
    }
    let mut queued = 0;
    for task in tasks {
        queued += task.await.expect("worker");
    }
    queued
}

/// Claims and resolves every ready ticket of every queue; returns how many it resolved.
async fn resolve_all(server: &TestServer) -> usize {
    let mut specialist = server.specialist().await;
    let queues: Vec<String> = specialist
        .list_queues(pb::ListQueuesRequest {})
        .await
        .expect("queues")
        .into_inner()
        .queues
        .into_iter()
        .map(|queue| queue.queue)
        .collect();
    let queues = Arc::new(queues);
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let queues = Arc::clone(&queues);
        let mut client = server.specialist().await;
        tasks.push(tokio::spawn(async move {
            let mut resolved = 0;
            for queue in queues.iter() {
                loop {
                    let claimed = client
                        .claim(pb::ClaimRequest {
                            queue: queue.clone(),
                            lease: None,
                        })
                        .await
                        .expect("claim")
                        .into_inner()
                        .ticket;
                    let Some(claimed) = claimed else { break };
                    let ticket_id = claimed.ticket.expect("the ticket").ticket_id;
                    client
                        .resolve(pb::ResolveRequest {
                            ticket_id,
                            lease_token: claimed.lease_token,
                            outcome: "answered by phone, client satisfied".into(),
                            reply: "Thank you for waiting: here is our answer.".into(),
                            ..Default::default()
                        })
                        .await
                        .expect("resolve");
                    resolved += 1;
                }
            }
            resolved
        }));
    }
    let mut resolved = 0;
    for task in tasks {
        resolved += task.await.expect("worker");
    }
    resolved
}

/// Prints the bytes a ticket costs in `route.redb`, queued and then resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn bytes_per_ticket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(agency_config(dir.path())).await;
    let queued = submit_all(&server).await;
    server.stop().await;
    report("queued", dir.path(), queued);

    let server = TestServer::start(agency_config(dir.path())).await;
    let resolved = resolve_all(&server).await;
    server.stop().await;
    assert_eq!(resolved, queued, "every queued ticket is resolved");
    report("resolved", dir.path(), queued);
}
