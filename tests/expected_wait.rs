//! The expected wait over gRPC: told in Submit's acknowledgement once the queue has answers,
//! and scored in FeedbackSummary when the ticket is answered within it, or not.

mod common;

use common::{TestServer, agency_config, inquiry};
use triage::proto::v1 as pb;

const MINUTE_MS: i64 = 60_000;

/// Submits the expert question `id` of brightwave; its ticket's queue and what it was told.
async fn submit(server: &TestServer, id: &str) -> (String, pb::Acknowledgement) {
    let question = "What content approach fits our new email series for clinics?";
    let submitted = server
        .triage()
        .await
        .submit(inquiry(id, "brightwave", question))
        .await
        .unwrap()
        .into_inner();
    let queue = match submitted.decision.unwrap().outcome {
        Some(pb::decision::Outcome::Ticket(ticket)) => ticket.queue,
        other => panic!("an expert ticket: {other:?}"),
    };
    (
        queue,
        submitted.acknowledgement.expect("an acknowledgement"),
    )
}

/// Claims the next ticket of `queue` and resolves it with a reply.
async fn answer_next(server: &TestServer, queue: &str) {
    let claimed = server.claim(queue).await.expect("a ticket to answer");
    server
        .specialist()
        .await
        .resolve(pb::ResolveRequest {
            ticket_id: claimed.ticket.as_ref().unwrap().ticket_id,
            lease_token: claimed.lease_token.clone(),
            reply: "Here is our proposal.".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// How the waits were kept, as FeedbackSummary tells an admin.
async fn waits(server: &TestServer) -> Vec<pb::WaitCalibration> {
    let summary = server
        .triage()
        .await
        .feedback_summary(pb::FeedbackSummaryRequest {})
        .await
        .unwrap()
        .into_inner();
    summary.waits
}

/// Twelve answers after 40 minutes each make the queue's expected wait "within 1 hour"; of two
/// tickets told so, the one answered in time is kept and the other, open past the hour, is
/// overdue, then answered late: FeedbackSummary scores them by queue and bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_and_broken_promises_show_in_the_feedback_summary() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut queue = String::new();
    for n in 0..12 {
        let (routed, told) = submit(&server, &format!("early-{n}")).await;
        assert_eq!(told.expected_wait, "", "no answers on the queue yet");
        queue = routed;
    }
    server.clock.advance(40 * MINUTE_MS);
    for _ in 0..12 {
        answer_next(&server, &queue).await;
    }
    assert_eq!(waits(&server).await, Vec::new(), "nothing told yet");
    for id in ["kept", "broken"] {
        let (_, told) = submit(&server, id).await;
        assert_eq!(
            (
                told.expected_wait.as_str(),
                told.expected_wait_kind.as_str()
            ),
            ("within 1 hour", "within_1h")
        );
    }
    server.clock.advance(30 * MINUTE_MS);
    answer_next(&server, &queue).await;
    server.clock.advance(40 * MINUTE_MS);
    let score = |answered, overdue, kept_share| pb::WaitScore {
        told: 2,
        answered,
        kept: 1,
        overdue,
        kept_share,
    };
    let calibration = |score: pb::WaitScore| {
        vec![pb::WaitCalibration {
            queue: queue.clone(),
            score: Some(score),
            by_bucket: vec![pb::WaitBucketScore {
                bucket: "within_1h".into(),
                score: Some(score),
            }],
        }]
    };
    assert_eq!(waits(&server).await, calibration(score(1, 1, 0.5)));
    answer_next(&server, &queue).await;
    assert_eq!(waits(&server).await, calibration(score(2, 0, 0.5)));
    server.stop().await;
}
