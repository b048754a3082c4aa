//! The loop closed end to end against a real server: the specialist's answer reaches the client
//! through the inquiry's channel. By email (a real Maildir and the worker): mail in → expert
//! ticket → the acknowledgement in the outbox → claim → resolve with a reply → the reply in the
//! outbox, threaded to the client's mail → an ask for a rating → the client's answer to the
//! reply → the same ticket reopened, no new one, no second acknowledgement → a second reply,
//! threaded to that answer, and no second ask → the client's one-digit rating recorded once, a
//! second one refused. Over gRPC: a watcher of the inquiry receives each change and the reply as
//! it happens, without polling.

mod common;

use std::path::Path;
use std::time::Duration;

use common::ingest::{fixtures, options, records_by_file};
use common::{TestServer, agency_config, inquiry};
use tokio_stream::StreamExt;
use triage::mail::{MailOutcome, Maildir, Worker, WorkerOptions};
use triage::proto::v1 as pb;

/// A worker that asks for a rating as soon as an answer is out.
fn worker(server: &TestServer, root: &Path) -> Worker {
    let options = WorkerOptions {
        rating_ask_delay: Some(Duration::ZERO),
        ..options(server.addr)
    };
    common::ingest::worker(options, root)
}

fn parsed(eml: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(eml).unwrap()
}

/// The ratings the server holds for the queue `queue`: how many, and their mean CSAT.
async fn ratings_of(server: &TestServer, queue: &str) -> (u64, f64) {
    let summary = server
        .triage()
        .await
        .feedback_summary(pb::FeedbackSummaryRequest {})
        .await
        .unwrap()
        .into_inner();
    summary
        .by_queue
        .iter()
        .find(|group| group.key == queue)
        .map_or((0, 0.0), |group| (group.count, group.mean_csat))
}

/// A client's mail replying to the mail `parent` in the thread `root`.
fn client_reply(id: &str, parent: &str, root_references: &str, body: &str) -> String {
    format!(
        "From: digital@brightwave-health.example\r\n\
         To: helpdesk@agency.example\r\n\
         Subject: Re: HubSpot forms\r\n\
         Message-ID: <{id}>\r\n\
         In-Reply-To: <{parent}>\r\n\
         References: {root_references} <{parent}>\r\n\r\n\
         {body}\r\n"
    )
}

/// One pass of the worker over the Maildir: new mail in, replies out.
async fn pass(server: &TestServer, root: &Path) -> triage::mail::Summary {
    let maildir = Maildir::open(root).unwrap();
    worker(server, root)
        .run_maildir(&maildir, None, std::future::pending())
        .await
        .unwrap()
}

/// Resolves `claimed` with `reply`.
async fn resolve_with(server: &TestServer, claimed: &pb::ClaimedTicket, reply: &str) {
    server
        .specialist()
        .await
        .resolve(pb::ResolveRequest {
            ticket_id: claimed.ticket.as_ref().unwrap().ticket_id,
            lease_token: claimed.lease_token.clone(),
            reply: reply.into(),
            internal_note: "checked with the web team".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// The outbox mails whose file name starts with `prefix`, parsed, by name.
fn outbox_mails(root: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut mails: Vec<(String, Vec<u8>)> = std::fs::read_dir(root.join("outbox"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect();
    mails.sort();
    mails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_inquiry_gets_the_specialists_replies_in_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(&dir.path().join("var"))).await;
    let root = dir.path().join("Maildir");
    Maildir::open(&root).unwrap();
    std::fs::copy(
        fixtures().join("thread-closed-root.eml"),
        root.join("new/root.eml"),
    )
    .unwrap();
    let first = pass(&server, &root).await;
    assert_eq!(
        (first.routed, first.acknowledged, first.replies_delivered),
        (1, 1, 0),
        "{first:?}"
    );
    let record = &records_by_file(&root)["root.eml"];
    assert_eq!(record.outcome, MailOutcome::Routed);
    let ticket_id = record.ticket_id.unwrap();
    // The client is told at once, by an automatic reply in the thread, who has it.
    let acks = outbox_mails(&root, "closed-root@");
    let [(_, ack)] = acks.as_slice() else {
        panic!("one acknowledgement in the outbox: {acks:?}")
    };
    let ack = parsed(ack);
    assert_eq!(
        ack.in_reply_to().as_text(),
        Some("closed-root@brightwave-health.example")
    );
    assert_eq!(
        ack.header("Auto-Submitted").and_then(|h| h.as_text()),
        Some("auto-replied")
    );
    let told = ack.body_text(0).unwrap().into_owned();
    assert!(told.contains(&format!("ticket {ticket_id}")), "{told}");

    let claimed = server.claim("webdev").await.expect("the mail's ticket");
    assert_eq!(claimed.ticket.as_ref().unwrap().ticket_id, ticket_id);
    let answer = "Yes: the HubSpot forms can be embedded in the new site. We need two days.";
    resolve_with(&server, &claimed, answer).await;

    let second = pass(&server, &root).await;
    assert_eq!(
        (
            second.processed,
            second.replies_delivered,
            second.ratings_asked
        ),
        (0, 1, 1),
        "{second:?}"
    );
    let replies = outbox_mails(&root, &format!("ticket-{ticket_id}-reply-"));
    let [(_, eml)] = replies.as_slice() else {
        panic!("one reply in the outbox: {replies:?}")
    };
    let reply = mail_parser::MessageParser::default().parse(eml).unwrap();
    let reply_id = reply.message_id().unwrap().to_owned();
    assert_eq!(
        reply
            .to()
            .and_then(|to| to.first())
            .and_then(|a| a.address()),
        Some("digital@brightwave-health.example")
    );
    assert_eq!(reply.subject(), Some("Re: HubSpot forms"));
    assert_eq!(
        reply.in_reply_to().as_text(),
        Some("closed-root@brightwave-health.example")
    );
    assert_eq!(reply.body_text(0).as_deref().map(str::trim), Some(answer));
    assert!(reply.header("Auto-Submitted").is_none());
    // The client is asked to rate the answer, in the same thread.
    let asks = outbox_mails(&root, "rating-");
    let [(_, ask)] = asks.as_slice() else {
        panic!("one ask for a rating in the outbox: {asks:?}")
    };
    let ask = parsed(ask);
    let ask_id = ask.message_id().unwrap().to_owned();
    assert_eq!(ask.in_reply_to().as_text(), Some(reply_id.as_str()));
    let ask_text = ask.body_text(0).unwrap().into_owned();
    assert!(ask_text.contains("one digit"), "{ask_text}");
    assert!(ask_text.contains("/feedback/"), "{ask_text}");
    // A second pass sends nothing twice.
    let again = pass(&server, &root).await;
    assert_eq!((again.replies_delivered, again.ratings_asked), (0, 0));

    let follow_up = format!(
        "From: digital@brightwave-health.example\r\n\
         To: helpdesk@agency.example\r\n\
         Subject: Re: HubSpot forms\r\n\
         Message-ID: <client-answer@brightwave-health.example>\r\n\
         In-Reply-To: <{reply_id}>\r\n\
         References: <closed-root@brightwave-health.example> <{reply_id}>\r\n\r\n\
         Thanks. Could the forms also feed our newsletter list?\r\n"
    );
    std::fs::write(root.join("new/follow-up.eml"), follow_up).unwrap();
    let third = pass(&server, &root).await;
    assert_eq!((third.routed, third.acknowledged), (1, 0), "{third:?}");
    let record = &records_by_file(&root)["follow-up.eml"];
    assert_eq!(
        (record.outcome, record.ticket_id),
        (MailOutcome::Routed, Some(ticket_id)),
        "the same ticket, reopened: {record:?}"
    );
    let again = server.claim("webdev").await.expect("the reopened ticket");
    assert_eq!(again.ticket.as_ref().unwrap().ticket_id, ticket_id);
    let bodies: Vec<&str> = again
        .follow_ups
        .iter()
        .map(|f| f.inquiry.as_ref().unwrap().body.as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Thanks. Could the forms also feed our newsletter list?"]
    );
    let second_answer = "They can: new sign-ups will go to your newsletter list too.";
    resolve_with(&server, &again, second_answer).await;

    let fourth = pass(&server, &root).await;
    assert_eq!(
        (fourth.replies_delivered, fourth.ratings_asked),
        (1, 0),
        "the inquiry was asked about once: {fourth:?}"
    );
    let replies = outbox_mails(&root, &format!("ticket-{ticket_id}-reply-"));
    assert_eq!(replies.len(), 2, "{replies:?}");
    let latest = replies
        .iter()
        .map(|(_, eml)| mail_parser::MessageParser::default().parse(eml).unwrap())
        .find(|mail| {
            mail.in_reply_to().as_text() == Some("client-answer@brightwave-health.example")
        })
        .expect("the second reply answers the client's answer");
    assert_eq!(
        latest.body_text(0).as_deref().map(str::trim),
        Some(second_answer)
    );
    let references = latest.references().as_text_list().unwrap_or_default();
    assert_eq!(
        references,
        [
            "closed-root@brightwave-health.example",
            "client-answer@brightwave-health.example"
        ]
    );

    // The client rates the answer with one digit, replying to the ask: recorded.
    let thread = format!("<closed-root@brightwave-health.example> <{reply_id}>");
    let rating = client_reply("rating-1@brightwave-health.example", &ask_id, &thread, "4");
    std::fs::write(root.join("new/rating-1.eml"), rating).unwrap();
    let fifth = pass(&server, &root).await;
    assert_eq!(
        (fifth.ratings, fifth.routed, fifth.answered),
        (1, 0, 0),
        "{fifth:?}"
    );
    assert_eq!(
        records_by_file(&root)["rating-1.eml"].outcome,
        MailOutcome::Rated
    );
    assert_eq!(ratings_of(&server, "webdev").await, (1, 4.0));
    // A second digit is no second rating: the server refuses it and keeps the first.
    let again = client_reply("rating-2@brightwave-health.example", &ask_id, &thread, "1");
    std::fs::write(root.join("new/rating-2.eml"), again).unwrap();
    assert_eq!(pass(&server, &root).await.ratings, 1);
    assert_eq!(ratings_of(&server, "webdev").await, (1, 4.0));
    let ledger = std::fs::read_to_string(root.join(".triage/ratings.jsonl")).unwrap();
    assert!(
        ledger
            .contains("\"mail_id\":\"rating-2@brightwave-health.example\",\"verdict\":\"refused\""),
        "{ledger}"
    );
    server.stop().await;
}

/// A watcher gets the inquiry's state at once, then each change as it happens: claimed by a
/// specialist, then resolved with the reply. Another client's token learns nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_receives_the_reply_without_polling() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let question = "What content approach fits our new email series for clinics?";
    let submitted = server
        .triage()
        .await
        .submit(inquiry("watch-1", "brightwave", question))
        .await
        .unwrap()
        .into_inner();
    let ticket = match submitted.decision.unwrap().outcome {
        Some(pb::decision::Outcome::Ticket(ticket)) => ticket,
        other => panic!("an expert ticket: {other:?}"),
    };
    // The client is told who has it and when it is due; with no answers on that queue yet, no
    // expected wait is promised.
    let told = submitted.acknowledgement.expect("an acknowledgement");
    assert!(!told.team.is_empty());
    assert_eq!(told.sla_due, ticket.sla_due);
    assert_eq!((told.expected_wait.as_str(), told.expected_by), ("", None));
    let mut watch = server
        .triage()
        .await
        .watch_inquiry(pb::GetInquiryRequest {
            inquiry_id: "watch-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let now = watch.next().await.unwrap().unwrap();
    assert_eq!(now.status(), pb::InquiryStatus::Queued);
    assert_eq!(now.queue, ticket.queue);

    let claimed = server.claim(&ticket.queue).await.expect("the ticket");
    let state = watch.next().await.unwrap().unwrap();
    assert_eq!(state.status(), pb::InquiryStatus::Claimed);
    assert!(state.lease_expires.is_some());

    let answer = "A four-part series: one clinic story per mail, then an offer.";
    resolve_with(&server, &claimed, answer).await;
    let state = watch.next().await.unwrap().unwrap();
    assert_eq!(state.status(), pb::InquiryStatus::Resolved);
    let replies: Vec<&str> = state.replies.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(replies, [answer]);
    assert_eq!(state.replies[0].in_reply_to, "watch-1");

    let got = server
        .triage()
        .await
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: "watch-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, state);
    let unknown = server
        .triage()
        .await
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: "no-such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.stop().await;
}
