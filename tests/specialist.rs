//! The specialist workflow over gRPC, with the server's clock stepped by hand: claim with a
//! lease, extend, expiry and redelivery, dead-lettering, resolve, release and reroute, and
//! what operators do with dead letters.

mod common;

use common::{TestServer, agency_config, inquiry, with_token};
use tonic::Code;
use triage::config::{Role, TokenConfig};
use triage::proto::v1 as pb;

fn lease(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

async fn claim(
    client: &mut pb::specialist_service_client::SpecialistServiceClient<tonic::transport::Channel>,
    queue: &str,
) -> Option<pb::ClaimedTicket> {
    client
        .claim(pb::ClaimRequest {
            queue: queue.to_owned(),
            lease: lease(60),
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
}

/// A ticket is leased to one specialist at a time, comes back when the lease expires, goes to
/// the dead-letter queue after too many deliveries, and is resolved with an audit record.
#[tokio::test]
async fn lease_expiry_redelivery_dead_letter_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.max_deliveries = 2;
    let server = TestServer::start(config).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    triage
        .submit(inquiry(
            "t1",
            "acme",
            "why did our google rankings drop after the migration?",
        ))
        .await
        .unwrap();
    triage
        .submit(inquiry(
            "t2",
            "kettle",
            "which search terms should our new blog pages rank for?",
        ))
        .await
        .unwrap();

    // Priority: acme (gold) before kettle (standard).
    let first = claim(&mut specialist, "seo").await.unwrap();
    assert_eq!(first.inquiry.as_ref().unwrap().inquiry_id, "t1");
    assert_eq!(first.deliveries, 1);
    let decision = first.decision.as_ref().unwrap();
    assert_eq!(decision.intent, "seo_strategy");
    assert!(!decision.explanation.as_ref().unwrap().terms.is_empty());
    let second = claim(&mut specialist, "seo").await.unwrap();
    assert_eq!(second.inquiry.as_ref().unwrap().inquiry_id, "t2");
    assert!(
        claim(&mut specialist, "seo").await.is_none(),
        "both are leased"
    );

    // Extending keeps t1; t2's lease runs out and it is delivered again.
    server.clock.advance(50_000);
    let t1 = first.ticket.as_ref().unwrap().ticket_id;
    specialist
        .extend(pb::ExtendRequest {
            ticket_id: t1,
            lease_token: first.lease_token,
            lease: lease(60),
        })
        .await
        .unwrap();
    server.clock.advance(20_000);
    let again = claim(&mut specialist, "seo").await.unwrap();
    assert_eq!(again.inquiry.as_ref().unwrap().inquiry_id, "t2");
    assert_eq!(again.deliveries, 2);
    // The old lease token no longer works.
    let stale = specialist
        .resolve(pb::ResolveRequest {
            ticket_id: again.ticket.as_ref().unwrap().ticket_id,
            lease_token: second.lease_token,
            outcome: "late".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);

    // 61 s later both leases have run out: t2, at its second delivery, is dead-lettered; t1
    // (extended to 110 s, now 131 s) comes back for its second delivery.
    server.clock.advance(61_000);
    let t1_again = claim(&mut specialist, "seo").await.unwrap();
    assert_eq!(t1_again.inquiry.as_ref().unwrap().inquiry_id, "t1");
    assert_eq!(t1_again.deliveries, 2);
    let stats = specialist
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    let seo = stats.iter().find(|q| q.queue == "seo").unwrap();
    assert_eq!((seo.dead_letters, seo.ready, seo.leased), (1, 0, 1));

    let (ticket_id, token) = (t1, t1_again.lease_token);
    specialist
        .resolve(pb::ResolveRequest {
            ticket_id,
            lease_token: token.clone(),
            outcome: "advised a content audit".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let audit = server.app.helpdesk.audit(ticket_id).await.unwrap().unwrap();
    assert_eq!(audit.outcome, "advised a content audit");
    assert_eq!(audit.holder, "local");
    let gone = specialist
        .resolve(pb::ResolveRequest {
            ticket_id,
            lease_token: token,
            outcome: "twice".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    server.stop().await;
}

/// Release hands a ticket back; reroute moves it to another queue as a correction.
#[tokio::test]
async fn release_and_reroute() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    triage
        .submit(inquiry(
            "r1",
            "lumen",
            "what tone should our newsletter series take?",
        ))
        .await
        .unwrap();
    let claimed = claim(&mut specialist, "content").await.unwrap();
    let ticket_id = claimed.ticket.unwrap().ticket_id;
    specialist
        .release(pb::ReleaseRequest {
            ticket_id,
            lease_token: claimed.lease_token,
            reason: "out today".into(),
        })
        .await
        .unwrap();
    let reclaimed = claim(&mut specialist, "content").await.unwrap();
    assert_eq!(reclaimed.deliveries, 2);
    let wrong_queue = specialist
        .reroute(pb::RerouteRequest {
            ticket_id,
            lease_token: reclaimed.lease_token.clone(),
            to_queue: "nowhere".into(),
            reason: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_queue.code(), Code::NotFound);
    specialist
        .reroute(pb::RerouteRequest {
            ticket_id,
            lease_token: reclaimed.lease_token,
            to_queue: "seo".into(),
            reason: "about search, not tone".into(),
        })
        .await
        .unwrap();
    assert!(claim(&mut specialist, "content").await.is_none());
    let moved = claim(&mut specialist, "seo").await.unwrap();
    assert_eq!(moved.ticket.unwrap().ticket_id, ticket_id);
    let corrections = server.app.helpdesk.corrections().await.unwrap();
    assert_eq!(
        (
            corrections[0].from_queue.as_str(),
            corrections[0].to_queue.as_str()
        ),
        ("content", "seo")
    );
    assert_eq!(corrections[0].reason, "about search, not tone");
    server.stop().await;
}

/// A claim hands out a lease token of 32 lowercase hex digits; a token not in that form is
/// INVALID_ARGUMENT naming `lease_token` on every call that takes one, and a well-formed token
/// that is not the lease's is FAILED_PRECONDITION.
#[tokio::test]
async fn lease_tokens_are_random_hex_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    for (id, text) in [
        (
            "k1",
            "why did our google rankings drop after the migration?",
        ),
        (
            "k2",
            "which search terms should our new blog pages rank for?",
        ),
    ] {
        triage.submit(inquiry(id, "acme", text)).await.unwrap();
    }
    let first = claim(&mut specialist, "seo").await.unwrap();
    let second = claim(&mut specialist, "seo").await.unwrap();
    for token in [&first.lease_token, &second.lease_token] {
        assert_eq!(token.len(), 32, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{token}"
        );
    }
    assert_ne!(first.lease_token, second.lease_token);
    let ticket_id = first.ticket.as_ref().unwrap().ticket_id;

    for malformed in [
        "",
        "1",
        &first.lease_token.to_uppercase(),
        &first.lease_token[1..],
    ] {
        let token = malformed.to_owned();
        let refusals = [
            specialist
                .extend(pb::ExtendRequest {
                    ticket_id,
                    lease_token: token.clone(),
                    lease: lease(60),
                })
                .await
                .map(|_| ()),
            specialist
                .resolve(pb::ResolveRequest {
                    ticket_id,
                    lease_token: token.clone(),
                    outcome: "done".into(),
                    reply: "Thank you for waiting: here is our answer.".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            specialist
                .release(pb::ReleaseRequest {
                    ticket_id,
                    lease_token: token.clone(),
                    reason: "busy".into(),
                })
                .await
                .map(|_| ()),
            specialist
                .reroute(pb::RerouteRequest {
                    ticket_id,
                    lease_token: token.clone(),
                    to_queue: "content".into(),
                    reason: "wrong queue".into(),
                })
                .await
                .map(|_| ()),
        ];
        for refusal in refusals {
            let status = refusal.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{malformed:?}");
            assert_eq!(
                status.message(),
                "lease_token: must be 32 lowercase hexadecimal digits"
            );
        }
    }

    // The other ticket's token is well formed but not this lease's.
    let stale = specialist
        .resolve(pb::ResolveRequest {
            ticket_id,
            lease_token: second.lease_token.clone(),
            outcome: "done".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert!(!stale.message().contains(&second.lease_token), "{stale:?}");
    specialist
        .resolve(pb::ResolveRequest {
            ticket_id,
            lease_token: first.lease_token.clone(),
            outcome: "done".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    server.stop().await;
}

/// A token of `role` named `name` for `queues`; its secret is `<name>-secret-0123456789`.
fn token(name: &str, role: Role, queues: &[&str]) -> TokenConfig {
    let mut token = TokenConfig::new(name, &format!("{name}-secret-0123456789"), role);
    token.queues = queues.iter().map(|q| q.to_string()).collect();
    token
}

/// Over gRPC, a dead letter is listed with its inquiry, reason, time and deliveries, to the
/// queue's specialist and not to another queue's (PERMISSION_DENIED, as for redrive and
/// discard); redriven to its own queue it is claimable again under its id; a second redrive is
/// NOT_FOUND and a discard without a reason INVALID_ARGUMENT, each naming the field.
#[tokio::test]
async fn dead_letters_are_listed_and_redriven_by_their_queues_specialists() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.max_deliveries = 1;
    config.tokens = vec![
        token("ops", Role::Admin, &[]),
        token("alice", Role::Specialist, &["seo"]),
        token("bob", Role::Specialist, &["billing"]),
    ];
    let server = TestServer::start(config).await;
    let (ops, alice, bob) = (
        "ops-secret-0123456789",
        "alice-secret-0123456789",
        "bob-secret-0123456789",
    );
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    let question = "why did our google rankings drop after the migration?";
    triage
        .submit(with_token(ops, inquiry("dl-1", "acme", question)))
        .await
        .unwrap();
    let claimed = specialist
        .claim(with_token(
            alice,
            pb::ClaimRequest {
                queue: "seo".into(),
                lease: lease(60),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let ticket_id = claimed.ticket.unwrap().ticket_id;
    specialist
        .release(with_token(
            alice,
            pb::ReleaseRequest {
                ticket_id,
                lease_token: claimed.lease_token,
                reason: "needs the client's analytics".into(),
            },
        ))
        .await
        .unwrap();

    let list = |token: &str| {
        with_token(
            token,
            pb::ListDeadLettersRequest {
                queue: "seo".into(),
            },
        )
    };
    let redrive = |token: &str| {
        with_token(
            token,
            pb::RedriveDeadLetterRequest {
                ticket_id,
                to_queue: String::new(),
                reason: "the analytics arrived".into(),
            },
        )
    };
    let denied = [
        specialist.list_dead_letters(list(bob)).await.map(|_| ()),
        specialist
            .redrive_dead_letter(redrive(bob))
            .await
            .map(|_| ()),
        specialist
            .discard_dead_letter(with_token(
                bob,
                pb::DiscardDeadLetterRequest {
                    ticket_id,
                    reason: "not ours".into(),
                },
            ))
            .await
            .map(|_| ()),
    ];
    for refusal in denied {
        assert_eq!(refusal.unwrap_err().code(), Code::PermissionDenied);
    }

    let letters = specialist
        .list_dead_letters(list(alice))
        .await
        .unwrap()
        .into_inner()
        .dead_letters;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.ticket.as_ref().unwrap().ticket_id, ticket_id);
    assert_eq!(letter.inquiry.as_ref().unwrap().body, question);
    assert_eq!(
        letter.reason,
        "released by alice after 1 deliveries (needs the client's analytics)"
    );
    assert_eq!(letter.deliveries, 1);
    assert_eq!(
        letter.dead_at.as_ref().map(|at| at.seconds),
        Some(common::TEST_NOW_MS / 1000)
    );

    let redriven = specialist
        .redrive_dead_letter(redrive(alice))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(redriven.queue, "seo");
    let again = specialist
        .claim(with_token(
            alice,
            pb::ClaimRequest {
                queue: "seo".into(),
                lease: lease(60),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(again.ticket.unwrap().ticket_id, ticket_id);
    assert_eq!(again.deliveries, 1);
    let twice = specialist
        .redrive_dead_letter(redrive(ops))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::NotFound);
    assert!(twice.message().starts_with("ticket_id: "), "{twice:?}");
    let no_reason = specialist
        .discard_dead_letter(with_token(
            ops,
            pb::DiscardDeadLetterRequest {
                ticket_id,
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (no_reason.code(), no_reason.message()),
        (Code::InvalidArgument, "reason: is empty")
    );
    server.stop().await;
}
