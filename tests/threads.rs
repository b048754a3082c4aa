//! Threads over gRPC with the agency pack: a follow-up joins its thread's open ticket (no
//! second ticket, the claim shows the whole thread), reopens the ticket once it was resolved,
//! never joins another client's thread, and replays like any decision; a
//! question with pasted data under it is classified on the question.

mod common;

use common::{TestServer, agency_config, inquiry};
use triage::proto::v1 as pb;

const SEO_QUESTION: &str =
    "What should the SEO report focus on next quarter? We want to rank for more local searches.";

/// The submission of `body` by `client` as inquiry `id`, replying to `in_reply_to`.
fn follow_up(id: &str, client: &str, body: &str, in_reply_to: &str) -> pb::SubmitRequest {
    let mut request = inquiry(id, client, body);
    request.inquiry.as_mut().unwrap().in_reply_to = in_reply_to.to_owned();
    request
}

async fn submit(server: &TestServer, request: pb::SubmitRequest) -> pb::SubmitResponse {
    server
        .triage()
        .await
        .submit(request)
        .await
        .unwrap()
        .into_inner()
}

/// Submits an inquiry that is answered and waits until its decision is stored: an answer is
/// recorded in the background, with the next batch of the queue's writer, and a client's reply
/// to it comes long after.
async fn submit_answered(server: &TestServer, request: pb::SubmitRequest) -> pb::SubmitResponse {
    let response = submit(server, request).await;
    server.app.helpdesk.flush().await.unwrap();
    response
}

/// Ready tickets on `queue`.
fn ready(queues: &[pb::QueueStats], queue: &str) -> u64 {
    queues.iter().find(|q| q.queue == queue).unwrap().ready
}

/// Submits acme's closing remark `id` in the thread of `root`, checked to need no reply.
async fn thanks_needing_no_reply(server: &TestServer, id: &str, root: &str) -> pb::SubmitResponse {
    let thanks = submit(server, follow_up(id, "acme", "Thanks, all good!", root)).await;
    assert!(
        matches!(
            decision(&thanks).outcome,
            Some(pb::decision::Outcome::NoReply(_))
        ),
        "{thanks:?}"
    );
    thanks
}

fn decision(response: &pb::SubmitResponse) -> &pb::Decision {
    response.decision.as_ref().unwrap()
}

fn ticket_of(response: &pb::SubmitResponse) -> &pb::Ticket {
    match &decision(response).outcome {
        Some(pb::decision::Outcome::Ticket(ticket)) => ticket,
        other => panic!("expected a ticket, got {other:?}"),
    }
}

fn answer_of(response: &pb::SubmitResponse) -> &pb::Answer {
    match &decision(response).outcome {
        Some(pb::decision::Outcome::Answer(answer)) => answer,
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// The thread id and role the decision names.
fn thread_of(response: &pb::SubmitResponse) -> (String, pb::ThreadRole) {
    let thread = decision(response).thread.as_ref().expect("a thread");
    (thread.thread_id.clone(), thread.role())
}

async fn resolve(server: &TestServer, claimed: &pb::ClaimedTicket) {
    let request = pb::ResolveRequest {
        ticket_id: claimed.ticket.as_ref().unwrap().ticket_id,
        lease_token: claimed.lease_token.clone(),
        outcome: "answered by mail".into(),
        reply: "Thank you for waiting: here is our answer.".into(),
        ..Default::default()
    };
    server.specialist().await.resolve(request).await.unwrap();
}

/// While the thread's ticket is open, follow-ups (also a follow-up to a follow-up) are attached
/// to it: no second ticket, decisions that say so and replay, and a claim that shows the whole
/// thread in order.
#[tokio::test]
async fn a_follow_up_in_an_open_thread_is_attached_to_its_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let root = submit(&server, inquiry("th-root", "acme", SEO_QUESTION)).await;
    let opened = ticket_of(&root).clone();
    assert_eq!((opened.queue.as_str(), opened.attached), ("seo", false));
    assert_eq!(
        thread_of(&root),
        ("th-root".to_owned(), pb::ThreadRole::Started)
    );

    let first = submit(
        &server,
        follow_up("th-f1", "acme", "When can we expect it?", "th-root"),
    )
    .await;
    let attached = ticket_of(&first);
    assert_eq!(
        (
            attached.ticket_id,
            attached.queue.as_str(),
            attached.attached
        ),
        (opened.ticket_id, "seo", true)
    );
    assert_eq!(
        thread_of(&first),
        ("th-root".to_owned(), pb::ThreadRole::Attached)
    );
    let second = submit(
        &server,
        follow_up(
            "th-f2",
            "acme",
            "Could you also look at the blog pages?",
            "th-f1",
        ),
    )
    .await;
    assert_eq!(ticket_of(&second).ticket_id, opened.ticket_id);
    assert_eq!(thread_of(&second).0, "th-root");
    assert_eq!(ready(&server.queues().await, "seo"), 1);

    let replayed = submit(
        &server,
        follow_up("th-f1", "acme", "When can we expect it?", "th-root"),
    )
    .await;
    assert!(replayed.replayed);
    assert_eq!(replayed.decision, first.decision);

    let claimed = server.claim("seo").await.expect("a ready ticket");
    assert_eq!(claimed.ticket.as_ref().unwrap().ticket_id, opened.ticket_id);
    assert_eq!(claimed.inquiry.as_ref().unwrap().body, SEO_QUESTION);
    let thread: Vec<(&str, &str)> = claimed
        .follow_ups
        .iter()
        .map(|f| {
            let inquiry = f.inquiry.as_ref().unwrap();
            (inquiry.inquiry_id.as_str(), inquiry.body.as_str())
        })
        .collect();
    assert_eq!(
        thread,
        [
            ("th-f1", "When can we expect it?"),
            ("th-f2", "Could you also look at the blog pages?")
        ]
    );
    // Leased, the ticket is still the thread's open ticket.
    let third = submit(&server, follow_up("th-f3", "acme", "Any news?", "th-root")).await;
    assert!(ticket_of(&third).attached);
    server.stop().await;
}

/// Once the thread's ticket is resolved, a follow-up reopens it, as a helpdesk reopens a solved
/// ticket when the client answers: "when can we expect it?" after an SEO question goes back to
/// the SEO specialists on the same ticket, where on its own it reads as a direct question, and
/// whoever claims it sees the whole thread. A closing remark reopens nothing and needs no reply.
#[tokio::test]
async fn a_follow_up_in_a_closed_thread_reopens_its_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let root = submit(&server, inquiry("cl-root", "acme", SEO_QUESTION)).await;
    let first_ticket = ticket_of(&root).ticket_id;
    resolve(&server, &server.claim("seo").await.expect("a ready ticket")).await;

    let alone = server
        .triage()
        .await
        .classify(pb::ClassifyRequest {
            text: "When can we expect it?".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(alone.tier(), pb::Tier::Direct, "{alone:?}");

    thanks_needing_no_reply(&server, "cl-thanks", "cl-root").await;
    let later = submit(
        &server,
        follow_up("cl-f1", "acme", "When can we expect it?", "cl-root"),
    )
    .await;
    let reopened = ticket_of(&later);
    assert_eq!(
        (
            reopened.queue.as_str(),
            reopened.ticket_id,
            reopened.attached,
            reopened.reopened
        ),
        ("seo", first_ticket, true, true)
    );
    let next = submit(&server, follow_up("cl-f2", "acme", "Any news?", "cl-root")).await;
    assert_eq!(ticket_of(&next).ticket_id, first_ticket);
    assert!(ticket_of(&next).attached && !ticket_of(&next).reopened);
    let claimed = server.claim("seo").await.expect("the reopened ticket");
    assert_eq!(claimed.ticket.as_ref().unwrap().ticket_id, first_ticket);
    let bodies: Vec<String> = claimed
        .follow_ups
        .iter()
        .map(|f| f.inquiry.as_ref().unwrap().body.clone())
        .collect();
    assert_eq!(bodies, ["When can we expect it?", "Any news?"]);

    let answered =
        submit_answered(&server, inquiry("an-root", "acme", "is invoice 1042 paid?")).await;
    assert_eq!(answer_of(&answered).entity_id, "INV-1042");
    let thanks = thanks_needing_no_reply(&server, "an-thanks", "an-root").await;
    assert_eq!(thread_of(&thanks).1, pb::ThreadRole::OnItsOwn);
    server.stop().await;
}

/// A follow-up to an automatic answer that asks about something else in the same thread is
/// answered; one that would get the same answer again goes to a person, whose ticket the
/// thread's next follow-up joins.
#[tokio::test]
async fn an_automatic_answer_is_not_sent_twice_in_a_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let root = submit_answered(&server, inquiry("rp-root", "acme", "is invoice 1042 paid?")).await;
    assert_eq!(answer_of(&root).entity_id, "INV-1042");
    let other = submit(
        &server,
        follow_up(
            "rp-other",
            "acme",
            "When will the final report be ready?",
            "rp-root",
        ),
    )
    .await;
    assert_eq!(answer_of(&other).entity_id, "D-114");
    let again = submit(
        &server,
        follow_up(
            "rp-again",
            "acme",
            "Is invoice 1042 paid by now?",
            "rp-root",
        ),
    )
    .await;
    assert_eq!(ticket_of(&again).queue, "account_management");
    assert_eq!(decision(&again).escalation_kind, "repeated_answer");
    let more = submit(
        &server,
        follow_up("rp-more", "acme", "Please check it again.", "rp-again"),
    )
    .await;
    assert_eq!(ticket_of(&more).ticket_id, ticket_of(&again).ticket_id);
    assert!(ticket_of(&more).attached);
    server.stop().await;
}

/// Another client's inquiry id, or a thread id another client's tickets use, is no thread: the
/// follow-up is decided on its own and opens its own ticket; the other client's ticket gains
/// nothing.
#[tokio::test]
async fn another_clients_thread_is_no_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let acme = submit(&server, inquiry("fx-root", "acme", SEO_QUESTION)).await;
    let acme_ticket = ticket_of(&acme).ticket_id;
    let by_mail = submit(
        &server,
        follow_up(
            "fx-acme-mail",
            "acme",
            SEO_QUESTION,
            "<agency-1@agency.example>",
        ),
    )
    .await;
    assert_eq!(thread_of(&by_mail).0, "<agency-1@agency.example>");

    for (id, named) in [
        ("fx-lumen-1", "fx-root"),
        ("fx-lumen-2", "<agency-1@agency.example>"),
    ] {
        let foreign = submit(
            &server,
            follow_up(id, "lumen", "Could you also look at the blog pages?", named),
        )
        .await;
        let ticket = ticket_of(&foreign);
        assert!(!ticket.attached, "{foreign:?}");
        assert_ne!(ticket.ticket_id, acme_ticket);
        assert_ne!(ticket.ticket_id, ticket_of(&by_mail).ticket_id);
        assert_eq!(decision(&foreign).client_id, "lumen");
    }
    let foreign = submit(
        &server,
        follow_up("fx-lumen-3", "lumen", "When can we expect it?", "fx-root"),
    )
    .await;
    assert_eq!(
        thread_of(&foreign),
        ("fx-lumen-3".to_owned(), pb::ThreadRole::Started)
    );
    let claimed = loop {
        let claimed = server.claim("seo").await.expect("a ready ticket");
        if claimed.ticket.as_ref().unwrap().ticket_id == acme_ticket {
            break claimed;
        }
    };
    assert!(claimed.follow_ups.is_empty(), "{:?}", claimed.follow_ups);
    server.stop().await;
}

/// A one-line question with some 16 KiB of pasted CSV under it gets the intent of the question
/// alone; the ticket keeps the whole text.
#[tokio::test]
async fn pasted_data_under_a_question_does_not_change_its_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let question = "Why did our conversion tracking stop recording purchases last week?";
    let mut csv = String::from("date,campaign,ad_group,clicks,impressions,cost,conversions\n");
    let mut row = 0;
    while question.len() + csv.len() < 16_000 {
        row += 1;
        csv.push_str(&format!(
            "2026-11-{:02},Black Friday Search,Brand Terms {},{},{},{}.{:02},{}\n",
            row % 28 + 1,
            row % 7,
            17 * row % 900,
            31 * row % 90_000,
            13 * row % 1_000,
            row % 100,
            row % 40
        ));
    }
    let alone = submit(&server, inquiry("csv-alone", "acme", question)).await;
    let with_data = submit(
        &server,
        inquiry("csv-pasted", "acme", &format!("{question}\n\n{csv}")),
    )
    .await;
    assert_eq!(decision(&alone).intent, "tracking_issue");
    assert_eq!(decision(&with_data).intent, decision(&alone).intent);
    assert_eq!(ticket_of(&with_data).queue, ticket_of(&alone).queue);
    let claimed = server
        .claim(&ticket_of(&alone).queue)
        .await
        .expect("a ready ticket");
    let claimed_again = server
        .claim(&ticket_of(&alone).queue)
        .await
        .expect("a ready ticket");
    let pasted = [claimed, claimed_again]
        .into_iter()
        .find(|c| c.inquiry.as_ref().unwrap().inquiry_id == "csv-pasted")
        .unwrap();
    assert!(pasted.inquiry.unwrap().body.ends_with(&csv));
    server.stop().await;
}
