//! Inquiries that are not one plain question, over a real gRPC connection: a closing remark gets
//! no reply and no ticket, an inquiry the pack cannot support reaches a human with the reason,
//! and an inquiry holding questions of both tiers goes whole to the specialist with the direct
//! answer prepared, never half-answered.

mod common;

use common::{TestServer, agency_config, inquiry};
use triage::proto::v1 as pb;

fn decision_of(response: &pb::SubmitResponse) -> &pb::Decision {
    response.decision.as_ref().expect("a decision")
}

/// "thanks, all good!" needs no reply: no answer, no ticket, nothing on any queue; a thanks with
/// a question is still handled.
#[tokio::test]
async fn a_closing_remark_gets_no_ticket_and_a_question_with_thanks_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    for (id, text) in [
        ("c-1", "thanks, all good!"),
        ("c-2", "ok got it"),
        ("c-3", "спасибо, всё понятно"),
        ("c-4", "Danke!"),
    ] {
        let response = client
            .submit(inquiry(id, "acme", text))
            .await
            .unwrap()
            .into_inner();
        match &decision_of(&response).outcome {
            Some(pb::decision::Outcome::NoReply(no_reply)) => {
                assert_eq!(no_reply.kind, "closing_remark", "{text}");
            }
            other => panic!("{text}: expected no reply, got {other:?}"),
        }
    }
    // Nothing reached a person: the escalation queue has no ticket to claim.
    let mut specialist = server.specialist().await;
    let claimed = specialist
        .claim(pb::ClaimRequest {
            queue: "account_management".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(claimed.ticket.is_none(), "{claimed:?}");
    let question = client
        .submit(inquiry("c-5", "acme", "thanks, is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    match &decision_of(&question).outcome {
        Some(pb::decision::Outcome::Answer(answer)) => {
            assert_eq!(answer.entity_id, "INV-1042");
        }
        other => panic!("expected the invoice answered, got {other:?}"),
    }
    // A replay of a closing remark gives the same decision and still no ticket.
    let again = client
        .submit(inquiry("c-1", "acme", "thanks, all good!"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert!(matches!(
        decision_of(&again).outcome,
        Some(pb::decision::Outcome::NoReply(_))
    ));
    server.stop().await;
}

/// An invoice question and a design question in one inquiry: the whole inquiry goes to the
/// design queue, the invoice's answer prepared on the ticket for the specialist, both clauses
/// listed; nothing is answered to the client alone.
#[tokio::test]
async fn a_mixed_tier_inquiry_is_not_half_answered() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let response = client
        .submit(inquiry(
            "m-1",
            "acme",
            "is invoice 1045 paid, and what do you think about redesigning our logo?",
        ))
        .await
        .unwrap()
        .into_inner();
    let decision = decision_of(&response);
    let Some(pb::decision::Outcome::Ticket(ticket)) = &decision.outcome else {
        panic!("expected a ticket, got {:?}", decision.outcome);
    };
    assert_eq!(ticket.queue, "design");
    assert_eq!(decision.escalation_reason, "");
    let tiers: Vec<(String, i32)> = decision
        .parts
        .iter()
        .map(|p| (p.intent.clone(), p.tier))
        .collect();
    assert_eq!(
        tiers,
        vec![
            ("invoice_status".to_owned(), pb::Tier::Direct as i32),
            ("design_direction".to_owned(), pb::Tier::Expert as i32)
        ]
    );
    assert_eq!(ticket.prepared_answers.len(), 1, "{ticket:?}");
    assert_eq!(ticket.prepared_answers[0].entity_id, "INV-1045");

    // The specialist who claims it sees the prepared answer with the ticket.
    let mut specialist = server.specialist().await;
    let claimed = specialist
        .claim(pb::ClaimRequest {
            queue: "design".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let claimed = claimed.ticket.expect("the design ticket");
    assert_eq!(claimed.inquiry.unwrap().inquiry_id, "m-1");
    let prepared = &claimed.ticket.unwrap().prepared_answers;
    assert_eq!(prepared.len(), 1);
    assert!(
        prepared[0].text.contains("INV-1045"),
        "{}",
        prepared[0].text
    );
    server.stop().await;
}

/// An inquiry in a language the pack has no training rows in, one like the pack's out-of-scope
/// examples, and one unlike any of its intents are each escalated with their reason, never
/// answered or routed as if understood.
#[tokio::test]
async fn unsupported_inquiries_reach_a_human_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let cases = [
        (
            "Πότε θα είναι έτοιμη η αναφορά;",
            "language_not_covered",
            "language not covered by this pack: ell",
        ),
        (
            "what's the weather in Paris tomorrow",
            "out_of_scope",
            "like what this pack does not serve",
        ),
        (
            "frumious bandersnatch gyre gimble wabe",
            "unlike_any_intent",
            "unlike any intent of this pack",
        ),
    ];
    for (n, (text, kind, reason)) in cases.into_iter().enumerate() {
        let response = client
            .submit(inquiry(&format!("u-{n}"), "acme", text))
            .await
            .unwrap()
            .into_inner();
        let decision = decision_of(&response);
        assert!(
            matches!(&decision.outcome, Some(pb::decision::Outcome::Ticket(t)) if t.queue == "account_management"),
            "{text}: {decision:?}"
        );
        assert_eq!(decision.escalation_kind, kind, "{text}");
        assert!(
            decision.escalation_reason.starts_with(reason),
            "{text}: {}",
            decision.escalation_reason
        );
    }
    server.stop().await;
}
