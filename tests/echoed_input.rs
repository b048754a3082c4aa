//! What a caller sends that a message could echo or a timestamp could carry past its range:
//! a 17 KB queue name in Claim and Reroute, and receive times of year 0 and 10^15 seconds with
//! a queue of the longest service-level target, over a real tonic client.

mod common;

use std::path::Path;

use common::{TestServer, agency_config, inquiry};
use tonic::Code;
use triage::proto::v1 as pb;

/// The range of seconds a protobuf Timestamp may hold (0001-01-01 to 9999-12-31), which strict
/// clients check when they decode one.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// Asserts that `time`, the field `what` of a response, is a Timestamp strict clients decode.
fn assert_decodes(what: &str, time: Option<&prost_types::Timestamp>) {
    let time = time.unwrap_or_else(|| panic!("{what} is missing"));
    assert!(
        TIMESTAMP_SECONDS.contains(&time.seconds) && (0..1_000_000_000).contains(&time.nanos),
        "{what} is out of the Timestamp range: {time:?}"
    );
}

/// A queue name far over the 16 KiB of metadata a client accepts: echoed whole, the status
/// would not reach the client.
fn huge_queue_name() -> String {
    "q".repeat(17 * 1024)
}

/// Asserts that `status` is NOT_FOUND about `field` with a short message.
fn assert_short_not_found(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().starts_with(field), "{}", status.message());
    assert!(
        status.message().len() < 200,
        "a {} byte message",
        status.message().len()
    );
}

/// Claim and Reroute with a 17 KB queue name are NOT_FOUND with a short message that quotes
/// the start of the name, not RESOURCE_EXHAUSTED "Stream removed".
#[tokio::test]
async fn a_huge_queue_name_is_not_found_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;

    let claim = specialist
        .claim(pb::ClaimRequest {
            queue: huge_queue_name(),
            lease: None,
        })
        .await
        .unwrap_err();
    assert_short_not_found(&claim, "queue: \"qqq");

    triage
        .submit(inquiry(
            "huge-1",
            "lumen",
            "what tone should our newsletter series take?",
        ))
        .await
        .unwrap();
    let claimed = specialist
        .claim(pb::ClaimRequest {
            queue: "content".into(),
            lease: None,
        })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .expect("the content ticket");
    let reroute = specialist
        .reroute(pb::RerouteRequest {
            ticket_id: claimed.ticket.as_ref().unwrap().ticket_id,
            lease_token: claimed.lease_token,
            to_queue: huge_queue_name(),
            reason: "elsewhere".into(),
        })
        .await
        .unwrap_err();
    assert_short_not_found(&reroute, "to_queue: \"qqq");
    server.stop().await;
}

/// A copy of the agency pack whose `content` queue has the longest target a pack may give.
fn agency_with_the_longest_sla(dir: &Path) {
    let agency = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/agency");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(&agency).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let queues = std::fs::read_to_string(dir.join("queues.csv")).unwrap();
    // The content queue has no per-tier targets: its `sla_hours` is every tier's.
    let longest = format!(",{},,,,\n", triage::pack::MAX_SLA_HOURS);
    let changed = queues.replacen(",24,,,,\n", &longest, 1);
    assert!(changed.contains("\ncontent,") && changed.contains(&longest));
    std::fs::write(dir.join("queues.csv"), changed).unwrap();
}

/// Receive times of year 0, of 10^15 seconds and of the latest taken as given, on a queue with
/// the longest target: every Timestamp of the Submit and Claim responses decodes.
#[tokio::test]
async fn every_timestamp_written_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    agency_with_the_longest_sla(&pack);
    let mut config = agency_config(&dir.path().join("data"));
    config.pack = pack;
    let server = TestServer::start(config).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    let day_ahead_s = common::TEST_NOW_MS / 1000 + 24 * 3600;
    for (id, seconds) in [
        ("year-0", -62_167_219_200),
        ("far-future", 1_000_000_000_000_000),
        ("a-day-ahead", day_ahead_s),
    ] {
        let mut request = inquiry(id, "lumen", "what tone should our newsletter series take?");
        request.inquiry.as_mut().unwrap().received_at =
            Some(prost_types::Timestamp { seconds, nanos: 0 });
        let decision = triage
            .submit(request)
            .await
            .unwrap()
            .into_inner()
            .decision
            .expect("a decision");
        assert_decodes("decided_at", decision.decided_at.as_ref());
        let Some(pb::decision::Outcome::Ticket(ticket)) = &decision.outcome else {
            panic!("{id} was not queued: {decision:?}");
        };
        assert_decodes("ticket.sla_due", ticket.sla_due.as_ref());

        let claimed = specialist
            .claim(pb::ClaimRequest {
                queue: ticket.queue.clone(),
                lease: None,
            })
            .await
            .unwrap()
            .into_inner()
            .ticket
            .expect("the ticket");
        assert_decodes("lease_expires", claimed.lease_expires.as_ref());
        let inquiry = claimed.inquiry.as_ref().expect("the inquiry");
        assert_decodes("inquiry.received_at", inquiry.received_at.as_ref());
        assert_decodes(
            "claimed decision.decided_at",
            claimed.decision.as_ref().unwrap().decided_at.as_ref(),
        );
        assert_decodes(
            "claimed ticket.sla_due",
            claimed.ticket.as_ref().unwrap().sla_due.as_ref(),
        );
    }
    server.stop().await;
}
