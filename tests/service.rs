//! The triage service over a real gRPC connection: direct answers from the right client's data,
//! expert tickets, idempotency (also across a restart), access, bad input, overload, shutdown.

mod common;

use common::{TestServer, agency_config, inquiry, with_token};
use std::error::Error as _;

use tonic::Code;
use triage::config::{Role, TokenConfig};
use triage::proto::v1 as pb;

fn answer_of(response: &pb::SubmitResponse) -> &pb::Answer {
    match response.decision.as_ref().and_then(|d| d.outcome.as_ref()) {
        Some(pb::decision::Outcome::Answer(answer)) => answer,
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn ticket_of(response: &pb::SubmitResponse) -> &pb::Ticket {
    match response.decision.as_ref().and_then(|d| d.outcome.as_ref()) {
        Some(pb::decision::Outcome::Ticket(ticket)) => ticket,
        other => panic!("expected a ticket, got {other:?}"),
    }
}

/// A direct question is answered from the asking client's data and never another's.
#[tokio::test]
async fn direct_answers_use_only_the_clients_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let acme = client
        .submit(inquiry("q-acme", "acme", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    let answer = answer_of(&acme);
    assert!(answer.text.contains("INV-1042"), "{}", answer.text);
    assert_eq!(answer.entity_id, "INV-1042");
    assert!(
        answer.facts.iter().any(|f| f.value.contains("4,800")),
        "{:?}",
        answer.facts
    );
    assert!(answer.as_of.is_some());

    // Lumen has no invoice 1042: its own invoices are the candidates, acme's never appear.
    let lumen = client
        .submit(inquiry("q-lumen", "lumen", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    let decision = lumen.decision.as_ref().unwrap();
    let shown = format!("{:?}", decision.outcome);
    assert!(
        !shown.contains("October SEO retainer") && !shown.contains("4,800"),
        "{shown}"
    );

    // The same words on another channel give the same answer.
    let mut by_email = inquiry("q-acme-mail", "acme", "is invoice 1042 paid?");
    by_email.inquiry.as_mut().unwrap().channel = pb::Channel::Email.into();
    let again = client.submit(by_email).await.unwrap().into_inner();
    assert_eq!(answer_of(&again).text, answer.text);

    // "the final report": acme's is D-114; brightwave has two final reports, so a human decides.
    let report = client
        .submit(inquiry(
            "q-report",
            "acme",
            "when will the final report be ready?",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer_of(&report).entity_id, "D-114");
    let ambiguous = client
        .submit(inquiry(
            "q-report-bw",
            "brightwave",
            "when will the final report be ready?",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket_of(&ambiguous).queue, "account_management");
    assert!(
        ambiguous
            .decision
            .unwrap()
            .escalation_reason
            .contains("Final accessibility report")
    );
    server.stop().await;
}

/// Unix milliseconds of an RFC 3339 time, for the tests' manual clock.
fn ms(time: &str) -> i64 {
    time.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A copy of the agency pack whose data may be a month old before a person must answer.
fn agency_for_a_month() -> tempfile::TempDir {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/agency");
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let settings = copy.path().join("pack.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(
        text.trim_end().ends_with("shift_to_today = true"),
        "[status] comes last"
    );
    std::fs::write(&settings, format!("{text}max_age_hours = 720\n")).unwrap();
    copy
}

/// "Next" and "overdue" are read at the inquiry's receive time, not the data's date, and an
/// answer from day-old data says when the data is from.
#[tokio::test]
async fn answers_read_dates_at_the_receive_time() {
    let (dir, pack) = (tempfile::tempdir().unwrap(), agency_for_a_month());
    let mut config = agency_config(dir.path());
    config.pack = pack.path().to_owned();
    let server = TestServer::start(config).await;
    let mut client = server.triage().await;
    let next_meeting = "when's our next meeting?";

    server.clock.set(ms("2026-11-25T09:00:00Z"));
    let later = client
        .submit(inquiry("d-next", "acme", next_meeting))
        .await
        .unwrap()
        .into_inner();
    let answer = answer_of(&later);
    assert_eq!(answer.entity_id, "M-309");
    assert!(
        answer
            .text
            .starts_with("December SEO review is on Thursday 3 December 2026")
            && answer.text.ends_with(
                "This is what our records showed on Friday 20 November 2026 at 09:00 UTC."
            ),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.as_of.as_ref().map(|t| t.seconds),
        Some(ms("2026-11-20T09:00:00Z") / 1000)
    );

    // The inquiry's own receive time counts, not the moment it is decided.
    let mut earlier = inquiry("d-next-earlier", "acme", next_meeting);
    earlier.inquiry.as_mut().unwrap().received_at = Some(prost_types::Timestamp {
        seconds: ms("2026-11-21T08:00:00Z") / 1000,
        nanos: 0,
    });
    let earlier = client.submit(earlier).await.unwrap().into_inner();
    assert_eq!(answer_of(&earlier).entity_id, "M-305");

    // On 4 December the invoice due on 30 November is overdue, and the last meeting on record
    // is past: a person answers rather than naming it.
    server.clock.set(ms("2026-12-04T09:00:00Z"));
    let invoice = client
        .submit(inquiry("d-invoice", "acme", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        answer_of(&invoice)
            .text
            .contains("was due on Monday 30 November 2026 and is now overdue"),
        "{}",
        answer_of(&invoice).text
    );
    let meeting = client
        .submit(inquiry("d-next-late", "acme", next_meeting))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket_of(&meeting).queue, "account_management");
    assert_eq!(meeting.decision.unwrap().escalation_kind, "none_upcoming");
    server.stop().await;
}

/// Data older than the pack's maximum age goes to a person with the reason; reloaded on the
/// day, the sample data moves to it and is answered from again.
#[tokio::test]
async fn stale_status_data_goes_to_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    server.clock.set(ms("2026-12-04T09:00:00Z"));
    let stale = client
        .submit(inquiry("s-stale", "acme", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket_of(&stale).queue, "account_management");
    let decision = stale.decision.unwrap();
    assert_eq!(decision.escalation_kind, "stale_data");
    assert_eq!(
        decision.escalation_reason,
        "the status data is as of Friday 20 November 2026 at 09:00 UTC, 14 days before the \
         inquiry; answers may use data up to 7 days old"
    );

    server.app.helpdesk.reload_status().unwrap();
    let fresh = client
        .submit(inquiry("s-fresh", "acme", "is invoice 1042 paid?"))
        .await
        .unwrap()
        .into_inner();
    let answer = answer_of(&fresh);
    assert_eq!(
        answer.text,
        "Invoice INV-1042 (October SEO retainer) for 4,800.00 GBP was issued on Saturday 14 \
         November 2026 and is open; payment is due on Monday 14 December 2026."
    );
    assert_eq!(
        answer.as_of.as_ref().map(|t| t.seconds),
        Some(ms("2026-12-04T09:00:00Z") / 1000)
    );
    server.stop().await;
}

/// An expert inquiry becomes a ticket on its queue, with the explanation attached.
#[tokio::test]
async fn expert_inquiries_become_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let response = client
        .submit(inquiry(
            "q-seo",
            "brightwave",
            "what should the SEO report focus on this quarter?",
        ))
        .await
        .unwrap()
        .into_inner();
    let decision = response.decision.as_ref().unwrap();
    assert_eq!(decision.tier, pb::Tier::Expert as i32);
    assert_eq!(decision.intent, "seo_strategy");
    assert!(!decision.model_version.is_empty());
    assert!(!decision.explanation.as_ref().unwrap().terms.is_empty());
    let ticket = ticket_of(&response);
    assert_eq!(ticket.queue, "seo");
    assert_eq!(ticket.priority, 0, "brightwave is a platinum client");
    assert!(ticket.ticket_id > 0 && ticket.sla_due.is_some());
    server.stop().await;
}

/// The lead's activity report counts today's decisions by tier and channel, with the share
/// answered automatically; a start after them counts none, and an invalid one is refused.
#[tokio::test]
async fn the_activity_report_counts_todays_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    for (id, text) in [
        ("t1", "when will the final report be ready?"),
        ("t2", "what should the SEO report focus on this quarter?"),
    ] {
        client.submit(inquiry(id, "acme", text)).await.unwrap();
    }
    server.app.helpdesk.flush().await.unwrap();
    let today = client
        .activity(pb::ActivityRequest { since: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(today.decisions, 2);
    assert_eq!((today.answered, today.queued), (1, 1));
    assert_eq!(today.deflection, 0.5);
    let tiers: Vec<(&str, u64)> = today
        .by_tier
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(tiers, [("direct", 1), ("expert", 1)]);
    assert_eq!(today.by_channel[0].key, "web");
    // The test clock's day, 2026-11-20 (UTC, the agency pack's zone), from midnight.
    assert_eq!(
        today.since,
        Some(prost_types::Timestamp {
            seconds: (common::TEST_NOW_MS - 9 * 3_600_000) / 1000,
            nanos: 0,
        })
    );
    let later = prost_types::Timestamp {
        seconds: common::TEST_NOW_MS / 1000 + 60,
        nanos: 0,
    };
    let none = client
        .activity(pb::ActivityRequest { since: Some(later) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(none.decisions, 0);
    let invalid = prost_types::Timestamp {
        seconds: 0,
        nanos: -1,
    };
    let refused = client
        .activity(pb::ActivityRequest {
            since: Some(invalid),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    server.stop().await;
}

/// Without a client id the sender names the client (address, else domain); a sender of no
/// client is escalated to account management with the reason, not refused, and replays alike.
#[tokio::test]
async fn senders_name_the_client_and_unknown_ones_reach_a_human() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let by_sender = |id: &str, sender: &str, body: &str| {
        let mut request = inquiry(id, "", body);
        request.inquiry.as_mut().unwrap().sender = sender.to_owned();
        request
    };
    let known = client
        .submit(by_sender(
            "s-known",
            "Someone@ACME.example",
            "is invoice 1042 paid?",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(known.decision.as_ref().unwrap().client_id, "acme");
    assert!(answer_of(&known).text.contains("INV-1042"));

    let request = by_sender(
        "s-stranger",
        "stranger@nowhere.example",
        "is invoice 1042 paid?",
    );
    let unknown = client.submit(request.clone()).await.unwrap().into_inner();
    let decision = unknown.decision.as_ref().unwrap();
    assert_eq!(
        decision.escalation_reason,
        "unknown sender stranger@nowhere.example"
    );
    let ticket = ticket_of(&unknown);
    assert_eq!(
        (ticket.queue.as_str(), ticket.priority),
        ("account_management", 3)
    );
    let replay = client.submit(request).await.unwrap().into_inner();
    assert!(replay.replayed);
    assert_eq!(ticket_of(&replay).ticket_id, ticket.ticket_id);

    let claimed = server.claim("account_management").await.unwrap();
    assert_eq!(claimed.inquiry.unwrap().sender, "stranger@nowhere.example");
    server.stop().await;
}

/// Resubmitting an inquiry id returns the first decision and no second ticket, also after a
/// restart on the same data folder; another client cannot take over the id.
#[tokio::test]
async fn resubmission_is_idempotent_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let first = client
        .submit(inquiry(
            "same",
            "acme",
            "our checkout page throws a 500 error",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.replayed);
    let again = client
        .submit(inquiry(
            "same",
            "acme",
            "our checkout page throws a 500 error",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(ticket_of(&again).ticket_id, ticket_of(&first).ticket_id);
    let taken = client
        .submit(inquiry("same", "lumen", "hello"))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    server.stop().await;

    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let after = client
        .submit(inquiry(
            "same",
            "acme",
            "our checkout page throws a 500 error",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(after.replayed);
    assert_eq!(ticket_of(&after).ticket_id, ticket_of(&first).ticket_id);
    let queues = server.queues().await;
    let open: u64 = queues.iter().map(|q| q.ready + q.leased).sum();
    assert_eq!(open, 1, "{queues:?}");
    server.stop().await;
}

fn token(name: &str, role: Role, clients: &[&str], queues: &[&str]) -> TokenConfig {
    let mut token = TokenConfig::new(name, &format!("{name}-secret-0123456789"), role);
    token.clients = clients.iter().map(|c| c.to_string()).collect();
    token.queues = queues.iter().map(|q| q.to_string()).collect();
    token
}

/// Each access case gets its code: no token, unknown token, wrong role, client or queue.
#[tokio::test]
async fn access_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.tokens = vec![
        token("web", Role::Submitter, &["acme"], &[]),
        token("alice", Role::Specialist, &[], &["seo"]),
        token("ops", Role::Admin, &[], &[]),
    ];
    let server = TestServer::start(config).await;
    let mut triage = server.triage().await;
    let mut specialist = server.specialist().await;
    let submit =
        |id: &str, client: &str| inquiry(id, client, "when will the final report be ready?");

    let cases = [
        (None, "acme", Some(Code::Unauthenticated)),
        (
            Some("nope-0123456789abcdef"),
            "acme",
            Some(Code::Unauthenticated),
        ),
        (
            Some("web-secret-0123456789"),
            "lumen",
            Some(Code::PermissionDenied),
        ),
        (
            Some("alice-secret-0123456789"),
            "acme",
            Some(Code::PermissionDenied),
        ),
        (Some("web-secret-0123456789"), "acme", None),
        (Some("ops-secret-0123456789"), "lumen", None),
    ];
    for (n, (token, client_id, expected)) in cases.into_iter().enumerate() {
        let message = submit(&format!("a{n}"), client_id);
        let request = match token {
            Some(token) => with_token(token, message),
            None => tonic::Request::new(message),
        };
        let code = triage.submit(request).await.err().map(|s| s.code());
        assert_eq!(code, expected, "{token:?} for {client_id}");
    }

    let claim = |queue: &str| pb::ClaimRequest {
        queue: queue.to_owned(),
        lease: None,
    };
    let denied = specialist
        .claim(with_token("alice-secret-0123456789", claim("billing")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let intake = specialist
        .claim(with_token("web-secret-0123456789", claim("seo")))
        .await
        .unwrap_err();
    assert_eq!(intake.code(), Code::PermissionDenied);
    assert!(
        specialist
            .claim(with_token("alice-secret-0123456789", claim("seo")))
            .await
            .is_ok()
    );
    let listed = specialist
        .list_queues(with_token(
            "alice-secret-0123456789",
            pb::ListQueuesRequest {},
        ))
        .await
        .unwrap()
        .into_inner()
        .queues;
    assert_eq!(
        listed.iter().map(|q| q.queue.as_str()).collect::<Vec<_>>(),
        ["seo"]
    );

    // Metadata that is not visible ASCII is refused, not a panic.
    let mut binary = tonic::Request::new(submit("a7", "acme"));
    let value =
        tonic::metadata::AsciiMetadataValue::try_from(&b"Bearer web-secret-\xff\xfe"[..]).unwrap();
    binary.metadata_mut().insert("authorization", value);
    let status = triage.submit(binary).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status.message().contains("not visible ASCII"),
        "{}",
        status.message()
    );
    server.stop().await;
}

/// A table of bad inputs, each with its code and a message naming the field.
#[tokio::test]
async fn bad_inputs_get_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let mut specialist = server.specialist().await;
    let long_body = "a".repeat(16 * 1024 + 1);
    let cases: Vec<(pb::SubmitRequest, Code, &str)> = vec![
        (
            pb::SubmitRequest { inquiry: None },
            Code::InvalidArgument,
            "inquiry",
        ),
        (
            inquiry("", "acme", "hello"),
            Code::InvalidArgument,
            "inquiry.inquiry_id",
        ),
        (
            inquiry("has space", "acme", "hello"),
            Code::InvalidArgument,
            "inquiry.inquiry_id",
        ),
        (
            inquiry("b1", "", "hello"),
            Code::InvalidArgument,
            "inquiry.client_id",
        ),
        (
            inquiry("b2", "acme", "   \n\t "),
            Code::InvalidArgument,
            "inquiry.body",
        ),
        (
            inquiry("b3", "acme", "?!? ... ---"),
            Code::InvalidArgument,
            "inquiry.body",
        ),
        (
            inquiry("b4", "acme", &long_body),
            Code::InvalidArgument,
            "inquiry.body",
        ),
        (
            inquiry("b5", "nobody", "is invoice 1042 paid?"),
            Code::NotFound,
            "inquiry.client_id",
        ),
    ];
    for (request, code, field) in cases {
        let status = client.submit(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(
            status.message().contains(field),
            "{} !~ {field}",
            status.message()
        );
    }
    let mut channel = inquiry("b6", "acme", "hello");
    channel.inquiry.as_mut().unwrap().channel = 99;
    assert_eq!(
        client.submit(channel).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // Over the 1 MiB message limit.
    let huge = inquiry("b7", "acme", &"x".repeat(1024 * 1024 + 10));
    assert_eq!(
        client.submit(huge).await.unwrap_err().code(),
        Code::OutOfRange
    );
    // An already spent deadline: DEADLINE_EXCEEDED (not tonic's CANCELLED), and no decision is
    // taken (checked at the end: no ticket was left behind). A malformed one names the header.
    let spent_and_malformed = [
        ("1n", Code::DeadlineExceeded, "deadline"),
        ("soon", Code::InvalidArgument, "grpc-timeout"),
    ];
    for (timeout, code, named) in spent_and_malformed {
        // tonic's client enforces the same header: on a busy machine its own timer can fire
        // before the server's answer arrives ("Timeout expired", a transport error). That is
        // not the server speaking, so ask again, a bounded number of times.
        let mut answers = (0..50).map(|_| {
            let mut late = tonic::Request::new(inquiry(
                "b8",
                "acme",
                "what should the SEO report focus on?",
            ));
            late.metadata_mut()
                .insert("grpc-timeout", timeout.parse().unwrap());
            let mut client = client.clone();
            async move { client.submit(late).await.unwrap_err() }
        });
        let late = loop {
            let Some(attempt) = answers.next() else {
                panic!("{timeout}: the client's own timer fired first 50 times");
            };
            let status = attempt.await;
            let client_side = status.code() == Code::Cancelled
                && status.message() == "Timeout expired"
                && status.source().is_some();
            if !client_side {
                break status;
            }
        };
        assert_eq!(late.code(), code, "{timeout}: {late:?}");
        assert!(late.message().contains(named), "{timeout}: {late:?}");
    }
    // Specialist side: unknown queue, unknown ticket, empty reason, bad lease. The lease token
    // is well formed, so the checks after it are reached.
    const WELL_FORMED_TOKEN: &str = "0000000000000000000000000000000a";
    let unknown = specialist
        .claim(pb::ClaimRequest {
            queue: "nope".into(),
            lease: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (unknown.code(), unknown.message().contains("queue")),
        (Code::NotFound, true)
    );
    let missing = specialist
        .resolve(pb::ResolveRequest {
            ticket_id: 999,
            lease_token: WELL_FORMED_TOKEN.into(),
            outcome: "done".into(),
            reply: "Thank you for waiting: here is our answer.".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let reason = specialist
        .release(pb::ReleaseRequest {
            ticket_id: 1,
            lease_token: WELL_FORMED_TOKEN.into(),
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (reason.code(), reason.message().starts_with("reason")),
        (Code::InvalidArgument, true)
    );
    let outcome = specialist
        .resolve(pb::ResolveRequest {
            ticket_id: 1,
            lease_token: WELL_FORMED_TOKEN.into(),
            outcome: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (
            outcome.code(),
            outcome.message().starts_with("reply: is empty")
        ),
        (Code::InvalidArgument, true)
    );
    let reason = specialist
        .resolve(pb::ResolveRequest {
            ticket_id: 1,
            lease_token: WELL_FORMED_TOKEN.into(),
            no_reply_reason: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (reason.code(), reason.message()),
        (Code::InvalidArgument, "no_reply_reason: unknown reason 99")
    );
    let too_long = prost_types::Duration {
        seconds: 10 * 3600,
        nanos: 0,
    };
    let long_lease = specialist
        .claim(pb::ClaimRequest {
            queue: "seo".into(),
            lease: Some(too_long),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (long_lease.code(), long_lease.message().contains("maximum")),
        (Code::InvalidArgument, true)
    );
    let lease = prost_types::Duration {
        seconds: -5,
        nanos: 0,
    };
    let bad_lease = specialist
        .claim(pb::ClaimRequest {
            queue: "seo".into(),
            lease: Some(lease),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_lease.code(), Code::InvalidArgument);
    // Nothing above left a ticket behind.
    let queues = specialist
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    assert_eq!(queues.iter().map(|q| q.ready + q.leased).sum::<u64>(), 0);
    server.stop().await;
}

/// Beyond `max_in_flight` requests, the server sheds load with RESOURCE_EXHAUSTED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.max_in_flight = 1;
    let server = TestServer::start(config).await;
    let channel = server.channel().await;
    let mut calls = Vec::new();
    for i in 0..200 {
        let mut client = pb::triage_service_client::TriageServiceClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            client
                .submit(inquiry(
                    &format!("o{i}"),
                    "acme",
                    "our site is down, please help",
                ))
                .await
                .map(|_| ())
        }));
    }
    let mut shed = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(()) => {}
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                shed += 1;
            }
        }
    }
    assert!(shed > 0, "no request was shed");
    server.stop().await;
}

/// Shutdown turns health to NOT_SERVING, for the triage service and for the server as a whole
/// (`""`, what probes ask by default), and closes a SubmitStream the server holds: the stream
/// ends with UNAVAILABLE (the item sent after shutdown began is not taken), and the server stops
/// once it has ended, not at the end of the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_and_reports_health() {
    use pb::submit_stream_response::Result as Item;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.shutdown_grace_seconds = 3600;
    let server = TestServer::start(config).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watches = Vec::new();
    for service in ["triage.v1.TriageService", ""] {
        let mut watch = health
            .watch(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            watch.message().await.unwrap().unwrap().status,
            ServingStatus::Serving as i32,
            "{service:?}"
        );
        watches.push(watch);
    }

    // A call the server holds: its first decision came back.
    let (requests, outbound) = tokio::sync::mpsc::channel(4);
    requests
        .send(inquiry("s1", "acme", "the contact form is broken"))
        .await
        .unwrap();
    let mut responses = server
        .triage()
        .await
        .submit_stream(tokio_stream::wrappers::ReceiverStream::new(outbound))
        .await
        .unwrap()
        .into_inner();
    let first = responses
        .message()
        .await
        .unwrap()
        .expect("a first decision");
    assert!(matches!(first.result, Some(Item::Response(_))), "{first:?}");

    let stopping = tokio::spawn(server.stop());
    for watch in &mut watches {
        assert_eq!(
            watch.message().await.unwrap().unwrap().status,
            ServingStatus::NotServing as i32
        );
    }
    drop(watches);
    // Shutdown has begun: what the caller sends now is not taken, and the call ends.
    let _ = requests
        .send(inquiry("s2", "acme", "is invoice 1042 paid?"))
        .await;
    let end = responses.message().await;
    assert_eq!(
        end.as_ref().map_err(tonic::Status::code).err(),
        Some(Code::Unavailable),
        "{end:?}"
    );
    tokio::time::timeout(std::time::Duration::from_secs(60), stopping)
        .await
        .expect("the server stops once the call in flight ended")
        .unwrap();
}

/// Classify is a dry run: a decision and its explanation, nothing stored.
#[tokio::test]
async fn classify_has_no_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let response = client
        .classify(pb::ClassifyRequest {
            text: "the site is down!!".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let decision = response.decision.unwrap();
    assert_eq!(decision.intent, "website_problem");
    assert!(decision.outcome.is_none());
    let empty = client
        .classify(pb::ClassifyRequest { text: " ".into() })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    let queues = server.queues().await;
    assert_eq!(queues.iter().map(|q| q.ready).sum::<u64>(), 0);
    server.stop().await;
}

/// SubmitStream decides each inquiry of a stream; a bad one gets its error, the rest go on.
#[tokio::test]
async fn submit_stream_answers_each_inquiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = server.triage().await;
    let requests = vec![
        inquiry("m1", "acme", "is invoice 1042 paid?"),
        inquiry("m2", "acme", "   "),
        inquiry(
            "m3",
            "harbour",
            "conversions stopped showing up in GA4 yesterday",
        ),
    ];
    let mut responses = client
        .submit_stream(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut by_id = std::collections::BTreeMap::new();
    while let Some(response) = responses.message().await.unwrap() {
        by_id.insert(response.inquiry_id.clone(), response.result.unwrap());
    }
    assert_eq!(by_id.len(), 3);
    use pb::submit_stream_response::Result as Item;
    assert!(matches!(&by_id["m1"], Item::Response(r) if answer_of(r).entity_id == "INV-1042"));
    assert!(
        matches!(&by_id["m2"], Item::Error(e) if e.code == Code::InvalidArgument as i32 && e.message.contains("inquiry.body"))
    );
    assert!(matches!(&by_id["m3"], Item::Response(r) if ticket_of(r).queue == "analytics"));
    server.stop().await;
}

/// An inquiry as a client with a broken encoder sends it: the id as raw bytes, which need not
/// be UTF-8, under the tag of the string field.
#[derive(Clone, PartialEq, prost::Message)]
struct RawInquiry {
    #[prost(bytes = "vec", tag = "1")]
    inquiry_id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawSubmitRequest {
    #[prost(message, optional, tag = "1")]
    inquiry: Option<RawInquiry>,
}

/// A message that does not decode (invalid UTF-8 in a string field, a truncated field) is the
/// sender's error: INVALID_ARGUMENT, not INTERNAL.
#[tokio::test]
async fn an_undecodable_message_is_an_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let path = "/triage.v1.TriageService/Submit";
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    let bad_utf8 = RawSubmitRequest {
        inquiry: Some(RawInquiry {
            inquiry_id: vec![b'q', 0xff, 0xfe],
        }),
    };
    grpc.ready().await.unwrap();
    let status = grpc
        .unary::<_, pb::SubmitResponse, _>(
            tonic::Request::new(bad_utf8),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("does not decode"),
        "{}",
        status.message()
    );
    server.stop().await;
}
