//! Tests of retention: the sweep removes exactly the audit records and decisions older than
//! the retention (exporting the audit records first), keeps the decisions of open tickets,
//! works in chunks, and compaction then gives the space back.

use std::time::Duration;

use super::*;

const DAY_MS: i64 = 86_400_000;
const KEEP_DAYS: u64 = 30;

fn retention(f: &Fixture) -> Retention {
    Retention::new(Duration::from_secs(KEEP_DAYS * 86_400), f.dir.path())
}

/// Claims the ticket of `queue` and resolves it; returns the audit record.
async fn resolve_next(f: &Fixture, queue: &str) -> AuditRecord {
    let (ticket, lease) = f.claim_some(queue, "alice").await;
    f.queue
        .resolve(ticket.id, lease.token, "alice", "answered by phone".into())
        .await
        .expect("resolve")
}

/// Every line of every archive file, parsed.
fn archived(retention: &Retention) -> Vec<AuditRecord> {
    let mut files: Vec<_> = std::fs::read_dir(&retention.archive_dir)
        .expect("archive folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).expect("archive file");
            text.lines()
                .map(|line| serde_json::from_str(line).expect("a JSON audit record"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Audit records and decisions older than the retention go, younger ones stay; the
/// decisions of open tickets (ready, dead-lettered) stay whatever their age; the removed
/// audit records are in the archive, in the file of the month they were resolved.
#[tokio::test]
async fn the_sweep_removes_exactly_what_is_older_than_the_retention() {
    let f = Fixture::with(QueueSettings {
        max_deliveries: 1,
        ..QueueSettings::default()
    });
    let retention = retention(&f);
    f.add("old-resolved", "billing", 0, 100).await;
    let old_audit = resolve_next(&f, "billing").await;
    f.add("old-open", "billing", 0, 100).await;
    f.add("old-dead", "seo", 0, 100).await;
    let (dead, lease) = f.claim_some("seo", "alice").await;
    f.queue
        .release(dead.id, lease.token, "alice", "cannot help")
        .await
        .expect("released to the dead letters");
    f.queue
        .record_answer("old-answer", &"answer".into())
        .await
        .expect("answer");
    f.queue.flush().await.expect("flush");

    f.clock.advance(10 * DAY_MS);
    f.add("young-resolved", "tech", 0, 100).await;
    let young_audit = resolve_next(&f, "tech").await;
    f.queue
        .record_answer("young-answer", &"answer".into())
        .await
        .expect("answer");
    f.queue.flush().await.expect("flush");

    // The old records are now a millisecond past the retention, the young ones 10 days short.
    f.clock.advance(KEEP_DAYS as i64 * DAY_MS - 10 * DAY_MS + 1);
    let report = f.queue.sweep(&retention).await.expect("sweep");
    assert_eq!(
        (report.audit_removed, report.decisions_removed),
        (1, 2),
        "{report:?}"
    );
    assert_eq!(f.queue.audit(old_audit.ticket_id).await, Ok(None));
    assert_eq!(
        f.queue.audit(young_audit.ticket_id).await,
        Ok(Some(young_audit.clone()))
    );
    for gone in ["old-resolved", "old-answer"] {
        assert_eq!(f.queue.decision(gone).await, Ok(None), "{gone}");
    }
    for kept in ["old-open", "old-dead", "young-resolved", "young-answer"] {
        assert!(
            f.queue.decision(kept).await.expect("read").is_some(),
            "{kept}"
        );
    }
    assert_eq!(archived(&retention), vec![old_audit]);
    let files: Vec<_> = std::fs::read_dir(&retention.archive_dir)
        .expect("archive")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(files, ["audit-1970-01.jsonl"]);

    let again = f.queue.sweep(&retention).await.expect("sweep");
    assert_eq!((again.audit_removed, again.decisions_removed), (0, 0));
    assert_eq!(archived(&retention).len(), 1, "nothing exported twice");
}

/// Once its decision is past the retention, a resubmitted inquiry is decided afresh: a new
/// decision and a new ticket, not the first ones.
#[tokio::test]
async fn a_resubmission_after_the_retention_is_decided_afresh() {
    let f = Fixture::new();
    let first = f.add("again", "billing", 0, 100).await;
    resolve_next(&f, "billing").await;
    f.clock.advance(KEEP_DAYS as i64 * DAY_MS + 1);
    f.queue.sweep(&retention(&f)).await.expect("sweep");
    let ticket = NewTicket::sample("again", "billing", 0, 100);
    let recorded = f
        .queue
        .record_decision("again", &"second".into(), ticket)
        .await
        .expect("record");
    let Recorded::New { ticket_id } = recorded else {
        panic!("the first decision was replayed: {recorded:?}");
    };
    assert!(ticket_id > first);
    assert_eq!(
        f.queue.decision("again").await,
        Ok(stored("second", Some(ticket_id)))
    );
}

/// A sweep over more records than one chunk removes them all, over several writer batches.
#[tokio::test]
async fn the_sweep_removes_more_than_a_chunk_in_several_batches() {
    const CHUNK: usize = 5;
    let f = Fixture::new();
    let mut resolved = Vec::new();
    for n in 0..12 {
        f.add(&format!("t-{n}"), "billing", 0, 100).await;
        resolved.push(resolve_next(&f, "billing").await);
    }
    for n in 0..23 {
        f.queue
            .record_answer(&format!("a-{n}"), &"answer".into())
            .await
            .expect("answer");
    }
    f.queue.flush().await.expect("flush");
    f.clock.advance(KEEP_DAYS as i64 * DAY_MS + 1);
    let retention = Retention {
        chunk: CHUNK,
        ..retention(&f)
    };
    let commits = f.queue.commits();
    let report = f.queue.sweep(&retention).await.expect("sweep");
    assert_eq!((report.audit_removed, report.decisions_removed), (12, 35));
    // Audit records: 5 + 5 + 2; decisions: at least 35 / 5 rounded up, less the records
    // that share a row.
    assert!(report.batches >= 3 + 2, "{report:?}");
    assert!(f.queue.commits() - commits >= report.batches);
    for record in &resolved {
        assert_eq!(f.queue.audit(record.ticket_id).await, Ok(None));
    }
    for n in 0..12 {
        assert_eq!(f.queue.decision(&format!("t-{n}")).await, Ok(None));
    }
    for n in 0..23 {
        assert_eq!(f.queue.decision(&format!("a-{n}")).await, Ok(None));
    }
    assert_eq!(archived(&retention), resolved);
}

/// A chunk of zero is refused rather than sweeping forever.
#[tokio::test]
async fn a_chunk_of_zero_is_refused() {
    let f = Fixture::new();
    let retention = Retention {
        chunk: 0,
        ..retention(&f)
    };
    let refused = f.queue.sweep(&retention).await;
    assert!(
        matches!(refused, Err(RouteError::InvalidArgument(_))),
        "{refused:?}"
    );
}

/// Text that does not compress: `len` bytes of a seeded sequence.
fn noise(seed: u64, len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

/// After a sweep has freed most of the file, compaction shrinks it, and the queue opens
/// again with what it kept.
#[tokio::test]
async fn compaction_shrinks_the_file_after_a_sweep() {
    let f = Fixture::new();
    for n in 0..2_000 {
        let decision = noise(n, 2_000);
        f.queue
            .record_answer(&format!("a-{n}"), &decision)
            .await
            .expect("answer");
    }
    f.queue.flush().await.expect("flush");
    f.clock.advance(KEEP_DAYS as i64 * DAY_MS + 1);
    f.queue
        .record_answer("kept", &"young".into())
        .await
        .expect("answer");
    let report = f.queue.sweep(&retention(&f)).await.expect("sweep");
    assert_eq!(report.decisions_removed, 2_000);
    let Fixture { dir, clock, queue } = f;
    drop(queue);
    let compaction = compact_store(dir.path()).expect("compact");
    assert!(
        compaction.bytes_after * 4 < compaction.bytes_before,
        "{compaction:?}"
    );
    let size = std::fs::metadata(dir.path().join("route.redb"))
        .expect("file")
        .len();
    assert_eq!(size, compaction.bytes_after);
    let queue = open(dir.path(), QueueSettings::default(), &clock);
    let f = Fixture { dir, clock, queue };
    assert_eq!(f.queue.decision("kept").await, Ok(stored("young", None)));
    assert_eq!(f.queue.decision("a-1").await, Ok(None));
}

/// The periodic sweep removes what has aged past the retention, and holds the queue only
/// while it sweeps: once the queue is dropped its file opens again, and the sweeping ends.
#[tokio::test(start_paused = true)]
async fn the_periodic_sweep_runs_and_lets_the_queue_close() {
    let f = Fixture::new();
    f.add("old", "billing", 0, 100).await;
    resolve_next(&f, "billing").await;
    f.clock.advance(KEEP_DAYS as i64 * DAY_MS + 1);
    let (sender, mut reports) = tokio::sync::mpsc::unbounded_channel();
    f.queue
        .keep_sweeping(retention(&f), Duration::from_secs(3_600), move |report| {
            let _ = sender.send(*report);
        });
    let report = reports.recv().await.expect("a sweep");
    assert_eq!((report.audit_removed, report.decisions_removed), (1, 1));
    let Fixture { dir, clock, queue } = f;
    drop(queue);
    let reopened = EmbeddedQueue::<String>::open(dir.path(), QueueSettings::default(), clock);
    assert!(reopened.is_ok(), "the sweeper kept the file open");
    drop(reopened);
    assert_eq!(reports.recv().await, None, "the sweeper ended");
}
