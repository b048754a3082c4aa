//! Nothing lost: the server runs as its own process, takes expert inquiries from several
//! clients, is killed with SIGKILL mid-load and restarted on the same data folder; every ticket
//! whose Submit got a reply must be there exactly once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::inquiry;
use triage::proto::v1 as pb;
use triage::proto::v1::specialist_service_client::SpecialistServiceClient;
use triage::proto::v1::triage_service_client::TriageServiceClient;

const EXPERT_TEXTS: [&str; 4] = [
    "our checkout page throws a 500 error since this morning",
    "what should the SEO report focus on next quarter?",
    "we were charged twice for the October retainer, please refund",
    "can you integrate our HubSpot forms with the new website?",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts")
}

/// Connects once the child process serves (it needs a moment to load the model).
async fn connect(addr: &str) -> tonic::transport::Channel {
    let started = Instant::now();
    loop {
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(addr.to_owned())
            .unwrap()
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
            "the server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every acknowledged ticket survives a SIGKILL exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = free_port();
    let config = dir.path().join("triage.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:0\"\npack = {:?}\nmodel = {:?}\ndata_dir = {:?}\n",
            root.join("data/agency"),
            root.join("models/agency"),
            dir.path().join("var"),
        ),
    )
    .unwrap();
    let addr = format!("http://127.0.0.1:{port}");
    let mut child = start(&config);
    let channel = connect(&addr).await;

    // Four submitters, one per client, each recording the tickets it got a reply for.
    let acknowledged: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut submitters = Vec::new();
    for (n, client_id) in ["acme", "brightwave", "lumen", "harbour"]
        .into_iter()
        .enumerate()
    {
        let mut client = TriageServiceClient::new(channel.clone());
        let acknowledged = Arc::clone(&acknowledged);
        submitters.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("kill-{client_id}-{i}");
                let request = inquiry(&id, client_id, EXPERT_TEXTS[(n + i) % EXPERT_TEXTS.len()]);
                let Ok(response) = client.submit(request).await else {
                    break;
                };
                if let Some(pb::decision::Outcome::Ticket(ticket)) =
                    response.into_inner().decision.and_then(|d| d.outcome)
                {
                    acknowledged.lock().unwrap().insert(id, ticket.ticket_id);
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for submitter in submitters {
        submitter.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut child = start(&config);
    let channel = connect(&addr).await;
    let mut triage = TriageServiceClient::new(channel.clone());
    for (id, ticket_id) in &acknowledged {
        let client_id = id.split('-').nth(1).unwrap();
        let replay = triage
            .submit(inquiry(id, client_id, "resubmitted"))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.replayed, "{id} was acknowledged but not kept");
        match replay.decision.and_then(|d| d.outcome) {
            Some(pb::decision::Outcome::Ticket(ticket)) => {
                assert_eq!(ticket.ticket_id, *ticket_id, "{id}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    // Claim everything: each inquiry's ticket exactly once, every acknowledged one among them.
    let mut specialist = SpecialistServiceClient::new(channel);
    let queues = specialist
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    let mut seen = BTreeSet::new();
    for queue in queues {
        while let Some(claimed) = specialist
            .claim(pb::ClaimRequest {
                queue: queue.queue.clone(),
                lease: None,
            })
            .await
            .unwrap()
            .into_inner()
            .ticket
        {
            let id = claimed.inquiry.unwrap().inquiry_id;
            assert!(seen.insert(id.clone()), "{id} has two tickets");
        }
    }
    for id in acknowledged.keys() {
        assert!(seen.contains(id), "{id} has no ticket");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
