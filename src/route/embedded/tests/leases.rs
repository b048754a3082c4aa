//! Tests of claiming and leases: claim order, lease expiry, dead letters, resolve,
//! release, reroute, extend and the lease errors.

use super::*;

/// Claims come out by priority, then SLA due time, then ticket id.
#[tokio::test]
async fn claims_follow_priority_then_sla_then_id() {
    let f = Fixture::new();
    let low = f.add("i1", "billing", 1, 100).await;
    let late = f.add("i2", "billing", 0, 500).await;
    let early_a = f.add("i3", "billing", 0, 200).await;
    let early_b = f.add("i4", "billing", 0, 200).await;
    let mut order = Vec::new();
    while let Some(ticket) = f.claim("billing", "alice").await {
        order.push(ticket.id);
    }
    assert_eq!(order, vec![early_a, early_b, late, low]);
}

/// A queue whose name is a prefix of another does not see the other's tickets.
#[tokio::test]
async fn queues_are_separate_even_with_shared_prefix() {
    let f = Fixture::new();
    f.add("i1", "billing", 0, 100).await;
    assert!(f.claim("bill", "alice").await.is_none());
    assert!(f.claim("billing", "alice").await.is_some());
}

/// A leased ticket is not handed to anyone else while its lease runs.
#[tokio::test]
async fn leased_ticket_is_not_claimed_again() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (ticket, lease) = f.claim_some("billing", "alice").await;
    assert_eq!(
        (ticket.id, ticket.deliveries, lease.holder.as_str()),
        (id, 1, "alice")
    );
    assert_eq!(lease.expires_ms, 10_000 + LEASE_MS);
    f.clock.advance(LEASE_MS - 1);
    assert!(f.claim("billing", "bob").await.is_none());
}

/// An expired lease returns the ticket to ready; the old holder loses it.
#[tokio::test]
async fn expired_lease_returns_ticket() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, first) = f.claim_some("billing", "alice").await;
    f.clock.advance(LEASE_MS);
    let (ticket, second) = f.claim_some("billing", "bob").await;
    assert_eq!((ticket.id, ticket.deliveries), (id, 2));
    assert_ne!(first.token, second.token);
    let late = f
        .queue
        .resolve(id, first.token, "alice", "done".into())
        .await;
    assert!(matches!(late, Err(RouteError::NotLeased { ticket_id, .. }) if ticket_id == id));
}

/// Queue stats count a ticket whose lease ran out as ready, not leased, before any claim
/// sweeps it back.
#[tokio::test]
async fn stats_count_an_expired_lease_as_ready() {
    let f = Fixture::new();
    f.add("i1", "billing", 0, 100).await;
    f.claim_some("billing", "alice").await;
    let counts = |stats: Vec<QueueStats>| (stats[0].ready, stats[0].leased);
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(counts(stats), (0, 1));
    f.clock.advance(LEASE_MS);
    let stats = f.queue.stats(&["billing".into()]).await.expect("stats");
    assert_eq!(counts(stats), (1, 0));
}

/// A lease that ran out is refused to its own holder and token for every operation alike,
/// before anyone claims the ticket again, and the refusals change nothing: the next claim
/// takes the ticket.
#[tokio::test]
async fn an_expired_lease_is_refused_for_every_operation() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    f.clock.advance(LEASE_MS);
    let q = &f.queue;
    let token = lease.token;
    let expired = Err(RouteError::LeaseExpired {
        ticket_id: id,
        expires_ms: lease.expires_ms,
    });
    let extend = q.extend(id, token, "alice", LEASE_MS).await;
    assert_eq!(extend.map(|_| ()), expired);
    let resolve = q.resolve(id, token, "alice", "done late".into()).await;
    assert_eq!(resolve.map(|_| ()), expired);
    let release = q.release(id, token, "alice", "too late").await;
    assert_eq!(release.map(|_| ()), expired);
    let reroute = q.reroute(id, token, "alice", "tech", "too late").await;
    assert_eq!(reroute.map(|_| ()), expired);
    assert_eq!(q.audit(id).await, Ok(None));
    let (again, _) = f.claim_some("billing", "bob").await;
    assert_eq!((again.id, again.deliveries), (id, 2));
}

/// After max_deliveries expired leases the ticket is dead-lettered, not made ready, with why,
/// and counted once for its queue.
#[tokio::test]
async fn repeated_expiry_dead_letters_the_ticket() {
    let f = Fixture::with(QueueSettings {
        max_deliveries: 2,
        ..QueueSettings::default()
    });
    let id = f.add("i1", "billing", 0, 100).await;
    for _ in 0..2 {
        f.claim_some("billing", "alice").await;
        f.clock.advance(LEASE_MS);
    }
    assert!(f.claim("billing", "alice").await.is_none());
    let dead = f.queue.dead_letters("billing").await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    let letter = &dead[0].ticket;
    assert_eq!(
        (letter.id, letter.deliveries, &letter.lease),
        (id, 2, &None)
    );
    assert_eq!(dead[0].reason, "lease of alice expired after 2 deliveries");
    assert_eq!(
        f.queue.dead_lettered_totals(),
        std::collections::BTreeMap::from([("billing".to_owned(), 1)])
    );
    assert_eq!(f.queue.ticket(id).await.expect("ticket"), None);
    assert!(
        f.queue
            .dead_letters("other")
            .await
            .expect("dead")
            .is_empty()
    );
}

/// Resolving removes the ticket and keeps who, when, how and how many deliveries.
#[tokio::test]
async fn resolve_removes_ticket_and_keeps_audit() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    f.clock.advance(50);
    let record = f
        .queue
        .resolve(id, lease.token, "alice", "refunded".into())
        .await;
    let expected = AuditRecord {
        ticket_id: id,
        inquiry_id: "i1".into(),
        queue: "billing".into(),
        holder: "alice".into(),
        outcome: "refunded".into(),
        resolved_ms: 10_050,
        deliveries: 1,
        note: None,
        queued_as: Some(QueuedAs {
            priority: 0,
            created_ms: 9_000,
        }),
    };
    assert_eq!(record, Ok(expected.clone()));
    assert_eq!(f.queue.ticket(id).await, Ok(None));
    assert_eq!(f.queue.audit(id).await, Ok(Some(expected)));
    let again = f
        .queue
        .resolve(id, lease.token, "alice", "refunded".into())
        .await;
    assert_eq!(again, Err(RouteError::NotFound(id)));
}

/// Wrong holder, wrong token and expired leases each get their own precondition error.
#[tokio::test]
async fn lease_checks_reject_wrong_holder_token_or_expiry() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    let q = &f.queue;
    let wrong_holder = q.release(id, lease.token, "bob", "busy").await;
    assert!(
        matches!(wrong_holder, Err(RouteError::NotLeased { ref holder, .. }) if holder == "bob")
    );
    let wrong_token = q.release(id, other_token(), "alice", "busy").await;
    assert!(matches!(wrong_token, Err(RouteError::StaleLease { .. })));
    let reroute = q
        .reroute(id, other_token(), "alice", "tech", "wrong queue")
        .await;
    assert!(matches!(reroute, Err(RouteError::StaleLease { .. })));
    let reroute = q
        .reroute(id, lease.token, "bob", "tech", "wrong queue")
        .await;
    assert!(matches!(reroute, Err(RouteError::NotLeased { .. })));
    let extend = q.extend(id, other_token(), "alice", LEASE_MS).await;
    assert!(matches!(extend, Err(RouteError::StaleLease { .. })));
    let extend = q.extend(id, lease.token, "bob", LEASE_MS).await;
    assert!(
        matches!(extend, Err(RouteError::NotLeased { .. })),
        "{extend:?}"
    );
    assert_eq!(
        q.extend(id + 1, lease.token, "alice", LEASE_MS).await,
        Err(RouteError::NotFound(id + 1))
    );
    f.clock.advance(LEASE_MS);
    let expired = q.extend(id, lease.token, "alice", LEASE_MS).await;
    assert!(matches!(expired, Err(RouteError::LeaseExpired { .. })));
    assert_eq!(
        expired.map(|_| ()).unwrap_err().kind(),
        ErrorKind::FailedPrecondition
    );
    // None of the refusals changed the ticket.
    let ticket = q.ticket(id).await.expect("read").expect("still live");
    assert_eq!(ticket.lease, Some(lease));
}

/// Extending moves the expiry to now + lease_ms, so the ticket stays with its holder.
#[tokio::test]
async fn extend_keeps_the_lease_alive() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    f.clock.advance(900);
    let ticket = f
        .queue
        .extend(id, lease.token, "alice", LEASE_MS)
        .await
        .expect("extend");
    assert_eq!(ticket.lease.map(|l| l.expires_ms), Some(10_900 + LEASE_MS));
    f.clock.advance(500);
    assert!(f.claim("billing", "bob").await.is_none());
    assert!(
        f.queue
            .resolve(id, lease.token, "alice", "ok".into())
            .await
            .is_ok()
    );
}

/// Releasing makes the ticket ready at once and keeps its delivery count.
#[tokio::test]
async fn release_returns_ticket_to_ready() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    let released = f
        .queue
        .release(id, lease.token, "alice", "shift over")
        .await;
    assert_eq!(released.map(|t| (t.deliveries, t.lease)), Ok((1, None)));
    let (again, _) = f.claim_some("billing", "bob").await;
    assert_eq!((again.id, again.deliveries), (id, 2));
}

/// Rerouting moves the ticket to the other queue as ready and records the correction.
#[tokio::test]
async fn reroute_moves_ticket_and_records_correction() {
    let f = Fixture::new();
    let id = f.add("i1", "billing", 0, 100).await;
    let (_, lease) = f.claim_some("billing", "alice").await;
    let same = f
        .queue
        .reroute(id, lease.token, "alice", "billing", "oops")
        .await;
    assert!(matches!(same, Err(RouteError::InvalidArgument(_))));
    f.clock.advance(5);
    let moved = f
        .queue
        .reroute(id, lease.token, "alice", "tech", "printer issue")
        .await;
    assert_eq!(moved.map(|t| (t.queue, t.lease)), Ok(("tech".into(), None)));
    assert!(f.claim("billing", "bob").await.is_none());
    assert_eq!(f.claim("tech", "bob").await.map(|t| t.id), Some(id));
    let corrections = f.queue.corrections().await.expect("corrections");
    let expected = Correction {
        id: 1,
        ticket_id: id,
        inquiry_id: "i1".into(),
        from_queue: "billing".into(),
        to_queue: "tech".into(),
        holder: "alice".into(),
        reason: "printer issue".into(),
        corrected_ms: 10_005,
    };
    assert_eq!(corrections, vec![expected]);
}
