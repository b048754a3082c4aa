//! Durable throughput of the embedded queue store: concurrent writers each record decisions
//! with a ticket (fsync'd before each call returns), one writer and then 256, side by side, so
//! the effect of group commit shows. Run with `cargo bench --bench queue`.
//!
//! Before reporting, every acknowledged record is read back: a fast store that drops writes
//! cannot pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use triage::route::{EmbeddedQueue, NewTicket, QueueSettings, SystemClock, TicketQueue};

const SECONDS: u64 = 3;

async fn run(writers: usize) -> (f64, u64, u64) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let queue: EmbeddedQueue<serde_json::Value> =
        EmbeddedQueue::open(dir.path(), QueueSettings::default(), Arc::new(SystemClock))
            .expect("open");
    let decision = serde_json::json!({"intent": "website_problem"});
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (queue, stop, decision) = (queue.clone(), Arc::clone(&stop), decision.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let inquiry = format!("bench-{writer}-{}", acknowledged.len());
                    let ticket = NewTicket {
                        inquiry_id: inquiry.clone(),
                        client_id: format!("client-{writer}"),
                        queue: ["seo", "billing", "webdev"][acknowledged.len() % 3].into(),
                        priority: (acknowledged.len() % 4) as u8,
                        sla_due_ms: 1_800_000_000_000,
                        created_ms: 1_795_000_000_000,
                        payload: r#"{"inquiry":{"body":"our checkout throws a 500 error"}}"#.into(),
                        // As the service queues them: each ticket opens its thread.
                        thread_id: Some(inquiry.clone()),
                    };
                    queue
                        .record_decision(&inquiry, &decision, ticket)
                        .await
                        .expect("durable record");
                    acknowledged.push(inquiry);
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut records = 0u64;
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("writer task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    for inquiry in &acknowledged {
        assert!(
            queue.decision(inquiry).await.expect("read").is_some(),
            "{inquiry} was lost"
        );
        records += 1;
    }
    (records as f64 / elapsed, records, queue.commits())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for writers in [1, 256] {
        let (per_second, records, commits) = runtime.block_on(run(writers));
        println!(
            "queue/durable record_decision, {writers:>3} writers: {per_second:>8.0} records/s \
             ({records} records in {commits} commits, {:.1} per commit)",
            records as f64 / commits.max(1) as f64
        );
    }
}
