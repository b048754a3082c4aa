//! Tests of recording decisions: idempotency (also within a batch and across reopen),
//! group commit, flush, stats and argument checks.

use super::*;

/// Recording the same inquiry twice keeps the first decision and queues one ticket.
#[tokio::test]
async fn record_is_idempotent_by_inquiry() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let again = f
        .queue
        .record_decision(
            "i1",
            &r#"{"other":1}"#.into(),
            NewTicket::sample("i1", "tech", 0, 1),
        )
        .await;
    let expected = Recorded::Existing(stored("{}", Some(id)).unwrap());
    assert_eq!(again, Ok(expected));
    assert_eq!(f.queue.decision("i1").await, Ok(stored("{}", Some(id))));
    let stats = f.queue.stats(&[]).await.expect("stats");
    assert_eq!(stats.iter().map(|s| s.ready).sum::<u64>(), 1);
}

/// Idempotency, ticket state and id counters survive dropping and reopening the queue.
#[tokio::test]
async fn state_survives_reopen() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let direct = f.queue.record_answer("i2", &"answer".into()).await;
    assert_eq!(direct, Ok(()));
    let f = f.reopen();
    let ticket = NewTicket::sample("i1", "billing", 0, 100);
    let again = f.queue.record_decision("i1", &"{}".into(), ticket).await;
    assert_eq!(
        again,
        Ok(Recorded::Existing(stored("{}", Some(id)).unwrap()))
    );
    assert_eq!(f.queue.decision("i2").await, Ok(stored("answer", None)));
    assert!(f.add("i3", "billing", 0, 100).await > id);
    assert_eq!(f.claim("billing", "alice").await.map(|t| t.id), Some(id));
}

/// Many identical requests at once (most share a batch) record one decision and one ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_record_once() {
    let f = Fixture::new();
    let calls = (0..50).map(|n| {
        let queue = f.queue.clone();
        let ticket = NewTicket::sample("dup", "billing", 0, 100);
        tokio::spawn(async move { queue.record_decision("dup", &format!("{n}"), ticket).await })
    });
    let mut recorded = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.expect("task") {
            Ok(Recorded::New { .. }) => recorded += 1,
            Ok(Recorded::Existing(_)) => {}
            Err(err) => panic!("record failed: {err}"),
        }
    }
    assert_eq!(recorded, 1);
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(stats[0].ready, 1);
}

/// 2,000 concurrent durable records all succeed in far fewer commits, and survive reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_durable_writes() {
    const CALLS: usize = 2_000;
    let f = Fixture::new();
    let start = Arc::new(tokio::sync::Barrier::new(CALLS));
    let tasks: Vec<_> = (0..CALLS)
        .map(|n| {
            let (queue, start) = (f.queue.clone(), start.clone());
            let inquiry = format!("inq-{n}");
            let ticket = NewTicket::sample(&inquiry, "billing", (n % 3) as u8, n as i64);
            tokio::spawn(async move {
                start.wait().await;
                queue.record_decision(&inquiry, &"{}".into(), ticket).await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.expect("task");
        assert!(matches!(outcome, Ok(Recorded::New { .. })));
    }
    let commits = f.queue.commits();
    assert!(
        commits * 4 < CALLS as u64,
        "{commits} commits for {CALLS} requests"
    );
    let f = f.reopen();
    for n in (0..CALLS).step_by(97).chain([CALLS - 1]) {
        let found = f.queue.decision(&format!("inq-{n}")).await.expect("read");
        assert!(found.is_some(), "inq-{n} lost after reopen");
    }
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(stats[0].ready, CALLS as u64);
}

/// A background record commits without an fsync; the flusher follows it with an fsync'd commit
/// of its own within the flush interval, and an idle queue then makes no more commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_record_is_fsynced_within_the_flush_interval() {
    let interval = std::time::Duration::from_millis(20);
    let f = Fixture::with(QueueSettings {
        flush_interval: interval,
        ..QueueSettings::default()
    });
    f.queue
        .record_answer("b1", &"answer".into())
        .await
        .expect("queued");
    tokio::time::timeout(HANG_GUARD, async {
        while f.queue.commits() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the record's commit and the flusher's fsync'd one");
    tokio::time::sleep(interval * 5).await;
    assert_eq!(f.queue.commits(), 2, "an idle queue is not fsync'd again");
}

/// Flush makes earlier background records durable, in one commit; they read back after
/// reopen.
#[tokio::test]
async fn flush_persists_background_records() {
    let f = Fixture::with(lingering_for_an_hour(512));
    for n in 0..10 {
        let outcome = f
            .queue
            .record_answer(&format!("d{n}"), &"answer".into())
            .await;
        assert!(outcome.is_ok());
    }
    assert_eq!(f.queue.flush().await, Ok(()));
    assert_eq!(f.queue.commits(), 1);
    let f = f.reopen();
    assert_eq!(f.queue.decision("d9").await, Ok(stored("answer", None)));
}

/// Stats list named queues (even empty), then others; count ready, leased, dead and SLA.
#[tokio::test]
async fn stats_cover_named_and_other_queues() {
    let f = Fixture::new();
    f.add("i1", "billing", 0, 5_000).await;
    f.add("i2", "billing", 1, 50_000).await;
    f.add("i3", "tech", 0, 50_000).await;
    f.claim_some("billing", "alice").await;
    let stats = f
        .queue
        .stats(&["empty".into(), "billing".into()])
        .await
        .expect("stats");
    let names: Vec<_> = stats.iter().map(|s| s.queue.as_str()).collect();
    assert_eq!(names, vec!["empty", "billing", "tech"]);
    assert_eq!(
        stats[0],
        QueueStats {
            queue: "empty".into(),
            ..QueueStats::default()
        }
    );
    let billing = &stats[1];
    assert_eq!(
        (billing.ready, billing.leased, billing.sla_breaches),
        (1, 1, 1)
    );
    assert_eq!(billing.oldest_ready_age_ms, Some(1_000));
}

/// Bad arguments are refused before anything is queued.
#[tokio::test]
async fn invalid_arguments_are_refused() {
    let f = Fixture::new();
    let q = &f.queue;
    assert!(matches!(
        q.claim("", "alice", LEASE_MS).await,
        Err(RouteError::InvalidArgument(_))
    ));
    assert!(matches!(
        q.claim("billing", "alice", 0).await,
        Err(RouteError::InvalidArgument(_))
    ));
    let decision = "{}".to_owned();
    let mismatch = q.record_decision("i1", &decision, NewTicket::sample("i2", "billing", 0, 1));
    assert!(matches!(
        mismatch.await,
        Err(RouteError::InvalidArgument(_))
    ));
    assert!(matches!(
        q.record_decision(" ", &"{}".into(), NewTicket::sample(" ", "billing", 0, 1))
            .await,
        Err(RouteError::InvalidArgument(_))
    ));
    assert!(matches!(
        q.record_answer(" ", &"{}".into()).await,
        Err(RouteError::InvalidArgument(_))
    ));
    let bad = QueueSettings {
        max_deliveries: 0,
        ..QueueSettings::default()
    };
    let opened = EmbeddedQueue::<String>::open(&f.dir.path().join("other"), bad, f.clock.clone());
    assert!(matches!(
        opened.map(|_| ()),
        Err(RouteError::InvalidArgument(_))
    ));
}

/// A background record commits with a later batch, keeps an earlier decision, and survives a
/// reopen once flushed.
#[tokio::test]
async fn background_records_commit_later_and_stay_idempotent() {
    let f = Fixture::new();
    f.queue
        .record_answer("b1", &"first".into())
        .await
        .expect("queued");
    f.queue.flush().await.expect("flush");
    f.queue
        .record_answer("b1", &"second".into())
        .await
        .expect("queued");
    f.queue
        .record_answer("b2", &"answer".into())
        .await
        .expect("queued");
    f.queue.flush().await.expect("flush");
    assert_eq!(f.queue.decision("b1").await, Ok(stored("first", None)));
    let f = f.reopen();
    assert_eq!(f.queue.decision("b2").await, Ok(stored("answer", None)));
    assert!(f.queue.record_answer("", &"x".into()).await.is_err());
}

/// Long enough that a test which waits it out fails by its hang guard instead: only a wake
/// ends a linger this long.
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long a test waits for what must happen at once before calling it a hang; a guard
/// against a stuck writer, not a timing check.
const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until the writer thread has taken every record sent to it: one it took without a
/// request someone waits on is one it lingers over.
async fn writer_took_everything(f: &Fixture) {
    tokio::time::timeout(HANG_GUARD, async {
        while f.queue.writer_backlog() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the writer thread takes what is sent to it");
}

fn lingering_for_an_hour(max_batch: usize) -> QueueSettings {
    QueueSettings {
        max_batch,
        background_linger: HOUR,
        ..QueueSettings::default()
    }
}

/// A queue whose writer lingers, for an hour, over the background record of inquiry `b1`.
async fn lingering_over_b1() -> Fixture {
    let f = Fixture::with(lingering_for_an_hour(512));
    f.queue
        .record_answer("b1", &"answer".into())
        .await
        .expect("queued");
    writer_took_everything(&f).await;
    f
}

/// A request someone waits on wakes the writer lingering over a background record: both
/// commit at once, in one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waited_request_ends_the_background_linger() {
    let f = lingering_over_b1().await;
    let ticket = NewTicket::sample("t1", "billing", 0, 1);
    let waited = tokio::time::timeout(
        HANG_GUARD,
        f.queue.record_decision("t1", &"{}".into(), ticket),
    )
    .await;
    assert!(matches!(waited, Ok(Ok(Recorded::New { .. }))), "{waited:?}");
    assert_eq!(f.queue.decision("b1").await, Ok(stored("answer", None)));
    assert_eq!(f.queue.commits(), 1);
}

/// Background records alone wake the lingering writer once a batch's worth waits: the first
/// of them commits without the linger running out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_background_records_ends_the_linger() {
    let max_batch = 4;
    let f = Fixture::with(lingering_for_an_hour(max_batch));
    let answer = "answer".to_owned();
    let record = |i: usize| {
        let inquiry = format!("b{i}");
        let queue = f.queue.clone();
        let answer = answer.clone();
        async move { queue.record_answer(&inquiry, &answer).await }
    };
    record(0).await.expect("queued");
    writer_took_everything(&f).await;
    // The writer lingers over b0; a batch's worth more waiting in its channel wakes it.
    for i in 1..=max_batch {
        record(i).await.expect("queued");
    }
    let first_committed = tokio::time::timeout(HANG_GUARD, async {
        while f.queue.decision("b0").await != Ok(stored("answer", None)) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(first_committed.is_ok(), "b0 still waits for the linger");
    assert!(f.queue.commits() >= 1);
}

/// Closing the queue while its writer lingers commits the lingering record and returns at
/// once, without waiting the linger out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_ends_the_linger_and_keeps_the_record() {
    let f = lingering_over_b1().await;
    let reopened = tokio::time::timeout(HANG_GUARD, tokio::task::spawn_blocking(|| f.reopen()))
        .await
        .expect("closing waited out the linger")
        .expect("reopen");
    assert_eq!(
        reopened.queue.decision("b1").await,
        Ok(stored("answer", None))
    );
}

/// Answers recorded in one write batch fill several shared rows; a repeat finds the first
/// answer whether its row is stored or still being filled, a ticket for an answered inquiry is
/// refused with the answer, and every answer reads back after a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_share_rows_and_stay_idempotent() {
    let f = Fixture::with(lingering_for_an_hour(512));
    let answers = 2 * crate::route::embedded::rows::MAX_DECISIONS_PER_ROW + 22;
    for i in 0..answers {
        f.queue
            .record_answer(&format!("a{i}"), &format!("answer {i}"))
            .await
            .expect("queued");
    }
    let (stored_row, filling_row) = (5, answers - 3);
    for i in [stored_row, filling_row] {
        f.queue
            .record_answer(&format!("a{i}"), &"a second answer".into())
            .await
            .expect("queued");
    }
    // Waited on, so it ends the linger: everything above commits with it, in one batch.
    let ticket = NewTicket::sample("a70", "billing", 0, 1);
    let again = tokio::time::timeout(
        HANG_GUARD,
        f.queue.record_decision("a70", &"{}".into(), ticket),
    )
    .await;
    let existing = Recorded::Existing(stored("answer 70", None).unwrap());
    assert_eq!(again.ok(), Some(Ok(existing)));
    assert_eq!(f.queue.commits(), 1);
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(stats[0].ready, 0, "no ticket for an answered inquiry");
    let f = f.reopen();
    for i in 0..answers {
        let expected = stored(&format!("answer {i}"), None);
        assert_eq!(f.queue.decision(&format!("a{i}")).await, Ok(expected));
    }
    assert_eq!(f.queue.decision(&format!("a{answers}")).await, Ok(None));
}

/// Decisions with a ticket, recorded at once (so many share a batch and its decision rows),
/// each read back after a reopen with the ticket it queued, and a repeat of any returns it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_decisions_share_rows_and_keep_their_tickets() {
    let f = Fixture::new();
    let decisions = 3 * crate::route::embedded::rows::MAX_DECISIONS_PER_ROW;
    let calls = (0..decisions).map(|n| {
        let queue = f.queue.clone();
        let inquiry = format!("t{n}");
        let ticket = NewTicket::sample(&inquiry, "billing", 0, 100);
        tokio::spawn(async move {
            queue
                .record_decision(&inquiry, &format!("decision {n}"), ticket)
                .await
        })
    });
    let mut tickets = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        match call.await.expect("joined") {
            Ok(Recorded::New { ticket_id }) => tickets.push(ticket_id),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert!(
        f.queue.commits() < decisions as u64,
        "writes shared batches"
    );
    let f = f.reopen();
    for (n, id) in tickets.iter().enumerate() {
        let expected = stored(&format!("decision {n}"), Some(*id));
        assert_eq!(f.queue.decision(&format!("t{n}")).await, Ok(expected));
    }
    let ticket = NewTicket::sample("t7", "billing", 0, 100);
    let again = f.queue.record_decision("t7", &"{}".into(), ticket).await;
    let existing = Recorded::Existing(stored("decision 7", Some(tickets[7])).unwrap());
    assert_eq!(again, Ok(existing));
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(stats[0].ready, decisions as u64);
}

/// A panic inside the store (a damaged page can make redb panic) fails the request it hit with
/// a storage error and turns the queue unhealthy; the writer lives on and later calls are
/// served.
#[tokio::test]
async fn a_panic_in_the_store_fails_one_request_not_the_writer() -> Result<(), RouteError> {
    let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
    let queue: EmbeddedQueue<String> =
        EmbeddedQueue::open(dir.path(), QueueSettings::default(), Arc::new(SystemClock))?;
    assert!(queue.healthy().await.is_ok());
    let crashed = queue
        .inner
        .writer
        .submit(true, |_| -> Result<(), RouteError> {
            panic!("simulated store panic")
        })
        .await;
    assert!(
        matches!(&crashed, Err(RouteError::Storage(message)) if message.contains("simulated store panic")),
        "{crashed:?}"
    );
    let not_ready = queue
        .healthy()
        .await
        .expect_err("a panic in the store leaves it healthy");
    let dir_shown = format!("embedded queue in {}: ", dir.path().display());
    assert!(not_ready.to_string().starts_with(&dir_shown), "{not_ready}");
    let after = queue
        .record_decision("i1", &"{}".into(), NewTicket::sample("i1", "billing", 0, 1))
        .await;
    assert!(matches!(after, Ok(Recorded::New { .. })), "{after:?}");
    assert_eq!(queue.flush().await, Ok(()));
    assert!(queue.decision("i1").await?.is_some());
    Ok(())
}

/// A panic while reading (a damaged page met by a query) fails that read with a storage error
/// that says to check the store, and turns the queue unhealthy; the process lives on.
#[tokio::test]
async fn a_panic_in_a_read_fails_it_and_marks_the_store() -> Result<(), RouteError> {
    let dir = tempfile::tempdir().map_err(|e| RouteError::storage("tempdir", e))?;
    let queue: EmbeddedQueue<String> =
        EmbeddedQueue::open(dir.path(), QueueSettings::default(), Arc::new(SystemClock))?;
    let read = queue
        .read(|_, _| -> Result<(), RouteError> { panic!("simulated damaged page") })
        .await;
    assert!(
        matches!(&read, Err(RouteError::Storage(message))
            if message.contains("simulated damaged page") && message.contains("triage store check")),
        "{read:?}"
    );
    assert!(queue.healthy().await.is_err());
    assert_eq!(queue.stats(&["billing".into()]).await?[0].ready, 0);
    Ok(())
}
