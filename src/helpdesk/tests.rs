//! The domain API in process, without gRPC: the tiny fixture pack, an embedded queue in a
//! temporary folder and a clock stepped by hand.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::answer::StatusStore;
use crate::classify::{TrainOptions, train};
use crate::intake::{Channel, Decision, Disposition};
use crate::route::{EmbeddedQueue, ManualClock, QueueSettings};

mod waits;

const NOW_MS: i64 = 1_800_000_000_000;

struct Fixture {
    helpdesk: Helpdesk,
    _dir: tempfile::TempDir,
}

fn tiny_pack() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

fn fixture() -> Fixture {
    fixture_of(&tiny_pack())
}

fn fixture_of(pack: &Path) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let helpdesk = helpdesk_on(pack, dir.path(), Arc::new(ManualClock::new(NOW_MS)));
    Fixture {
        helpdesk,
        _dir: dir,
    }
}

/// A helpdesk of the pack in `pack` keeping its queue and ratings in `store`, timed by `clock`.
fn helpdesk_on(pack: &Path, store: &Path, clock: Arc<ManualClock>) -> Helpdesk {
    let pack = Pack::load(pack).expect("the pack loads");
    let classifier = Arc::new(train(&pack, &TrainOptions::default()).unwrap().classifier);
    let status = Arc::new(
        StatusStore::for_pack(&pack, crate::answer::instant_from_unix_ms(NOW_MS)).unwrap(),
    );
    let queue: EmbeddedQueue<Decision> =
        EmbeddedQueue::open(store, QueueSettings::default(), clock.clone()).unwrap();
    let feedback = FeedbackBackend {
        store: Arc::new(crate::feedback::EmbeddedFeedback::open(store).unwrap()),
        links: crate::feedback::LinkSigner::new(vec![7; 32]).unwrap(),
        public_url: "http://127.0.0.1:7601".into(),
        change_window: crate::feedback::DEFAULT_CHANGE_WINDOW,
    };
    let backends = Backends {
        classifier,
        clients: status.clone(),
        status,
        queue: Arc::new(queue),
        clock,
        feedback,
        wait: Arc::new(WaitEstimator::new(
            jiff::tz::TimeZone::UTC,
            Arc::new(crate::telemetry::Metrics::new()),
        )),
    };
    let policy = Policy {
        leases: LeasePolicy {
            default: Duration::from_secs(300),
            max: Duration::from_secs(3600),
        },
        max_text_bytes: 200,
    };
    Helpdesk::new(&pack, backends, policy)
}

fn admin() -> Caller {
    Caller::local_admin()
}

fn specialist(queues: &[&str]) -> Caller {
    let queues = queues.iter().map(|q| (*q).to_owned()).collect();
    Caller::new("alice".into(), Role::Specialist, Vec::new(), queues)
}

fn submitter() -> Caller {
    Caller::new("web".into(), Role::Submitter, Vec::new(), Vec::new())
}

/// An inquiry from a sender of no client: always escalated to `account_management`.
fn unknown_sender_inquiry(id: &str) -> Inquiry {
    Inquiry {
        inquiry_id: id.to_owned(),
        client_id: String::new(),
        channel: Channel::Email,
        subject: "Our strategy".into(),
        body: "what should our seo strategy focus on?".into(),
        received_ms: NOW_MS,
        in_reply_to: None,
        sender: Some("someone@nowhere.example".into()),
        attachments: vec!["brief.pdf".into()],
        handoff_reason: None,
    }
}

fn ready(reports: &[QueueReport], queue: &str) -> u64 {
    reports
        .iter()
        .find(|r| r.stats.queue == queue)
        .map(|r| r.stats.ready)
        .unwrap_or_else(|| panic!("no report of {queue}"))
}

/// A claim gets the policy's default lease, refuses one over the maximum, and carries the
/// ticket's inquiry and the decision that queued it.
#[tokio::test]
async fn a_claim_holds_the_lease_policy_and_joins_the_decision() {
    let Fixture { helpdesk, _dir } = fixture();
    let inquiry = unknown_sender_inquiry("<q1@mail.example>");
    let submitted = helpdesk
        .submit(&submitter(), inquiry.clone())
        .await
        .unwrap();
    let Disposition::Queued(queued) = &submitted.decision.outcome else {
        panic!(
            "an unknown sender is queued: {:?}",
            submitted.decision.outcome
        );
    };
    assert_eq!(queued.queue, "account_management");

    let too_long = helpdesk
        .claim(
            &admin(),
            "account_management",
            Some(Duration::from_secs(7200)),
        )
        .await
        .unwrap_err();
    assert_eq!(too_long.to_string(), "lease: is over the maximum of 3600s");

    let claimed = helpdesk
        .claim(&admin(), "account_management", None)
        .await
        .unwrap()
        .expect("the queued ticket");
    assert_eq!(Some(claimed.ticket_id), submitted.ticket_id);
    assert_eq!(claimed.lease.as_ref().unwrap().expires_ms, NOW_MS + 300_000);
    assert_eq!(claimed.inquiry, inquiry);
    let decision = claimed.decision.expect("the decision is joined");
    assert_eq!(decision.inquiry_id, "<q1@mail.example>");
    assert_eq!(decision.outcome, submitted.decision.outcome);

    let held = HeldTicket {
        ticket_id: claimed.ticket_id,
        lease_token: claimed.lease.unwrap().token,
    };
    let renewed = helpdesk
        .extend(&admin(), held, Some(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(renewed.unwrap().expires_ms, NOW_MS + 600_000);
    let closing = |reply: &str, no_reply| Closing {
        reply: Some(reply.to_owned()).filter(|reply| !reply.is_empty()),
        no_reply,
        ..Closing::default()
    };
    let neither = helpdesk.resolve(&admin(), held, closing("", None)).await;
    assert!(
        neither
            .unwrap_err()
            .to_string()
            .starts_with("reply: is empty: resolving without a reply needs a reason")
    );
    let both = closing("Done.", Some(NoReplyReason::Spam));
    let both = helpdesk.resolve(&admin(), held, both).await.unwrap_err();
    assert_eq!(
        both.to_string(),
        "no_reply_reason: is set beside a reply: send one or the other"
    );
    let blank = helpdesk.resolve(&admin(), held, closing(" ", None)).await;
    assert_eq!(blank.unwrap_err().to_string(), "reply: is blank");
    let state = helpdesk.inquiry(&submitter(), &inquiry.inquiry_id).await;
    assert!(matches!(state.unwrap().status, Status::Claimed { .. }));
    let reply = "We will call you tomorrow at ten.";
    let audit = helpdesk
        .resolve(&admin(), held, closing(reply, None))
        .await
        .unwrap();
    assert_eq!(audit.outcome, "replied");
    let state = helpdesk
        .inquiry(&submitter(), &inquiry.inquiry_id)
        .await
        .unwrap();
    assert_eq!(
        state.status,
        Status::Resolved {
            queue: "account_management".into(),
            resolved_ms: NOW_MS
        }
    );
    let [sent] = state.replies.as_slice() else {
        panic!("one reply: {:?}", state.replies)
    };
    assert_eq!(
        sent.reply,
        ClientReply {
            text: reply.into(),
            channel: inquiry.channel,
            in_reply_to: inquiry.inquiry_id.clone(),
            thread_id: inquiry.inquiry_id.clone(),
            recipient: inquiry.sender.clone(),
            subject: inquiry.subject.clone(),
        }
    );
    let feed = helpdesk
        .replies_since(&submitter(), inquiry.channel, 0, 10)
        .await
        .unwrap();
    assert_eq!(feed.replies, state.replies);
    assert!(
        helpdesk
            .claim(&admin(), "account_management", None)
            .await
            .unwrap()
            .is_none()
    );
}

/// An inquiry its caller hands to a person is queued on the escalation queue with the
/// caller's reason, though the classifier would answer it; its attachments reach the ticket.
#[tokio::test]
async fn a_handed_off_inquiry_goes_to_a_person() {
    let Fixture { helpdesk, _dir } = fixture();
    let question = |id: &str| Inquiry {
        client_id: "acme".into(),
        subject: String::new(),
        body: "when will the final report be ready".into(),
        sender: Some("ops@acme.example".into()),
        ..unknown_sender_inquiry(id)
    };
    let answered = helpdesk
        .submit(&submitter(), question("<h1@mail.example>"))
        .await
        .unwrap();
    assert!(
        matches!(answered.decision.outcome, Disposition::Answered(_)),
        "{:?}",
        answered.decision.outcome
    );
    let held = Inquiry {
        handoff_reason: Some("the same automatic reply was sent to this address".into()),
        ..question("<h2@mail.example>")
    };
    let submitted = helpdesk.submit(&submitter(), held.clone()).await.unwrap();
    let Disposition::Queued(queued) = &submitted.decision.outcome else {
        panic!("a hand-off is queued: {:?}", submitted.decision.outcome);
    };
    assert_eq!(queued.queue, "account_management");
    let escalation = queued.escalation.as_ref().expect("the reason");
    assert_eq!(escalation.kind, "handed_off");
    assert_eq!(
        escalation.reason,
        "handed to a person: the same automatic reply was sent to this address"
    );
    let claimed = helpdesk
        .claim(&admin(), "account_management", None)
        .await
        .unwrap()
        .expect("the hand-off's ticket");
    assert_eq!(claimed.inquiry, held);
    assert_eq!(claimed.inquiry.attachments, ["brief.pdf"]);
}

/// A receive time before 2000 or more than a day ahead is replaced by the server's clock, so it
/// moves neither the SLA nor the ticket's place; a plausible one is kept.
#[tokio::test]
async fn an_implausible_receive_time_is_the_servers_clock() {
    let Fixture { helpdesk, _dir } = fixture();
    let sla_due = |submitted: &Submitted| match &submitted.decision.outcome {
        Disposition::Queued(queued) => queued.sla_due_ms,
        other => panic!("an unknown sender is queued: {other:?}"),
    };
    let day_ms = 24 * 60 * 60 * 1000;
    let mut due = Vec::new();
    for (n, received_ms) in [NOW_MS, 0, NOW_MS + 2 * day_ms, NOW_MS - day_ms]
        .into_iter()
        .enumerate()
    {
        let inquiry = Inquiry {
            received_ms,
            ..unknown_sender_inquiry(&format!("<t{n}@mail.example>"))
        };
        let submitted = helpdesk.submit(&submitter(), inquiry).await.unwrap();
        due.push(sla_due(&submitted));
    }
    assert_eq!(due[1], due[0], "1970 is taken as now");
    assert_eq!(due[2], due[0], "two days ahead is taken as now");
    assert_eq!(due[3], due[0] - day_ms, "yesterday is kept");
}

/// A copy of the tiny pack in `dir` with a platinum and a standard client beside its gold one,
/// and `account_management` (4 h) giving platinum clients 1 h.
fn tiny_with_tier_targets(dir: &Path) {
    for entry in std::fs::read_dir(tiny_pack()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.join("queues.csv"),
        "queue,description,sla_hours,sla_hours_silver,sla_hours_platinum\n\
         seo,SEO specialists,24,,\n\
         account_management,Account managers,4,3,1\n",
    )
    .unwrap();
    let mut status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
    let clients = status["clients"].as_array_mut().unwrap();
    for (id, tier) in [("zenith", "platinum"), ("plain", "standard")] {
        clients.push(serde_json::json!({
            "id": id, "name": id, "tier": tier, "emails": [], "domains": [],
            "fields": {}, "entities": []
        }));
    }
    std::fs::write(dir.join("status.json"), status.to_string()).unwrap();
}

/// A ticket's SLA due time follows its client's tier: a platinum client's, on a queue with a
/// platinum target, is due sooner than a standard client's, which is due after the queue's
/// `sla_hours` as is a sender of no known client's.
#[tokio::test]
async fn the_sla_follows_the_clients_tier() {
    let pack = tempfile::tempdir().unwrap();
    tiny_with_tier_targets(pack.path());
    let Fixture { helpdesk, _dir } = fixture_of(pack.path());
    let hour_ms = 3_600_000;
    let handed_off = |id: &str, client: &str| Inquiry {
        client_id: client.to_owned(),
        sender: None,
        handoff_reason: Some("asked for a person".into()),
        ..unknown_sender_inquiry(id)
    };
    let mut due = Vec::new();
    for inquiry in [
        handed_off("<p@mail.example>", "zenith"),
        handed_off("<s@mail.example>", "plain"),
        unknown_sender_inquiry("<u@mail.example>"),
    ] {
        let submitted = helpdesk.submit(&submitter(), inquiry).await.unwrap();
        let Disposition::Queued(queued) = &submitted.decision.outcome else {
            panic!("a hand-off is queued: {:?}", submitted.decision.outcome);
        };
        assert_eq!(queued.queue, "account_management");
        due.push((queued.priority, queued.sla_due_ms));
    }
    assert_eq!(due[0], (0, NOW_MS + hour_ms), "platinum: its own 1 h");
    assert_eq!(
        due[1],
        (3, NOW_MS + 4 * hour_ms),
        "standard: the queue's 4 h"
    );
    assert_eq!(
        due[2],
        (3, NOW_MS + 4 * hour_ms),
        "no known client: the queue's 4 h"
    );
}

/// Queue reports carry the pack's description and SLA beside the counts, and a specialist
/// sees only its own queues; a submitter sees none.
#[tokio::test]
async fn queue_reports_merge_the_pack_and_hide_other_queues() {
    let Fixture { helpdesk, _dir } = fixture();
    helpdesk
        .submit(&submitter(), unknown_sender_inquiry("<q2@mail.example>"))
        .await
        .unwrap();
    let all = helpdesk.queue_reports(&admin()).await.unwrap();
    let names: Vec<&str> = all.iter().map(|r| r.stats.queue.as_str()).collect();
    assert_eq!(names, ["seo", "account_management"]);
    let management = all
        .iter()
        .find(|r| r.stats.queue == "account_management")
        .unwrap();
    assert_eq!(management.description, "Account managers, escalations");
    assert_eq!(management.sla_hours, 4.0);
    assert_eq!(ready(&all, "account_management"), 1);
    assert_eq!(ready(&all, "seo"), 0);

    let own = helpdesk.queue_reports(&specialist(&["seo"])).await.unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].stats.queue, "seo");
    assert_eq!(own[0].description, "SEO specialists");
    let refused = helpdesk.queue_reports(&submitter()).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
}

/// A specialist claims only from its own queues, and only from queues of the pack.
#[tokio::test]
async fn specialists_claim_from_their_own_queues_only() {
    let Fixture { helpdesk, _dir } = fixture();
    let alice = specialist(&["seo"]);
    let other = helpdesk
        .claim(&alice, "account_management", None)
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::PermissionDenied);
    let unknown = helpdesk.claim(&alice, "billing", None).await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert_eq!(
        unknown.to_string(),
        "queue: \"billing\" is not a queue of this pack"
    );
    assert!(helpdesk.claim(&alice, "seo", None).await.unwrap().is_none());
}

/// Texts are validated once, in the domain: a blank or oversized text is refused naming its
/// field, and a refused inquiry queues nothing.
#[tokio::test]
async fn texts_are_validated_before_anything_happens() {
    let Fixture { helpdesk, _dir } = fixture();
    let blank = helpdesk.classify(&submitter(), "  ").unwrap_err();
    assert_eq!(blank.to_string(), "text: is empty");
    let long = helpdesk
        .classify(&submitter(), &"x".repeat(201))
        .unwrap_err();
    assert_eq!(
        long.to_string(),
        "text: is 201 bytes, over the limit of 200"
    );
    let classified = helpdesk
        .classify(
            &specialist(&["seo"]),
            "what should our seo strategy focus on?",
        )
        .unwrap();
    assert!(!classified.classification.intent.is_empty());

    let mut empty = unknown_sender_inquiry("<q3@mail.example>");
    empty.body = "\n".into();
    empty.subject.clear();
    let refused = helpdesk.submit(&submitter(), empty).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "inquiry.body: subject and body are both empty"
    );
    let by_specialist = helpdesk
        .submit(
            &specialist(&["seo"]),
            unknown_sender_inquiry("<q4@mail.example>"),
        )
        .await
        .unwrap_err();
    assert_eq!(by_specialist.kind(), ErrorKind::PermissionDenied);
    let reports = helpdesk.queue_reports(&admin()).await.unwrap();
    assert_eq!(ready(&reports, "account_management"), 0);
}

/// Dead letters are an operator's to act on: a specialist of another queue may neither see,
/// redrive nor discard them (PERMISSION_DENIED); one of their queue sees them with their
/// inquiry and redrives them within its own queues only; bad fields are named.
#[tokio::test]
async fn dead_letters_are_acted_on_by_their_queues_specialists_only() {
    let Fixture { helpdesk, _dir } = fixture();
    let inquiry = unknown_sender_inquiry("<dead@mail.example>");
    helpdesk.submit(&submitter(), inquiry).await.unwrap();
    let max_deliveries = QueueSettings::default().max_deliveries;
    let mut ticket_id = 0;
    for _ in 0..max_deliveries {
        let claimed = helpdesk
            .claim(&admin(), "account_management", None)
            .await
            .unwrap()
            .expect("ready until its last delivery");
        ticket_id = claimed.ticket_id;
        let held = HeldTicket {
            ticket_id,
            lease_token: claimed.lease.unwrap().token,
        };
        helpdesk.release(&admin(), held, "not now").await.unwrap();
    }

    let seo = specialist(&["seo"]);
    let refusals = [
        helpdesk
            .dead_letters(&seo, "account_management")
            .await
            .map(|_| ())
            .unwrap_err(),
        helpdesk
            .redrive(&seo, ticket_id, Some("seo"), "mine now")
            .await
            .map(|_| ())
            .unwrap_err(),
        helpdesk
            .discard(&seo, ticket_id, "spam")
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for refusal in refusals {
        assert_eq!(refusal.kind(), ErrorKind::PermissionDenied, "{refusal}");
    }

    let manager = specialist(&["account_management"]);
    let letters = helpdesk
        .dead_letters(&manager, "account_management")
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].inquiry.inquiry_id, "<dead@mail.example>");
    assert_eq!(letters[0].deliveries, max_deliveries);
    assert!(
        letters[0].reason.contains("(not now)"),
        "{}",
        letters[0].reason
    );
    let to_other = helpdesk
        .redrive(&manager, ticket_id, Some("seo"), "seo should answer")
        .await
        .unwrap_err();
    assert_eq!(to_other.kind(), ErrorKind::PermissionDenied);
    let to_nowhere = helpdesk
        .redrive(&admin(), ticket_id, Some("nowhere"), "x")
        .await
        .unwrap_err();
    assert_eq!(to_nowhere.field(), Some("to_queue"));
    let no_reason = helpdesk
        .redrive(&manager, ticket_id, None, " ")
        .await
        .unwrap_err();
    assert_eq!(no_reason.field(), Some("reason"));
    let unknown = helpdesk.discard(&admin(), 424_242, "x").await.unwrap_err();
    assert_eq!(
        (unknown.kind(), unknown.field()),
        (ErrorKind::NotFound, Some("ticket_id"))
    );

    let action = helpdesk
        .redrive(&manager, ticket_id, None, "a person must answer")
        .await
        .unwrap();
    assert_eq!(action.redriven_to(), Some("account_management"));
    assert_eq!(action.actor, "alice");
    let claimed = helpdesk
        .claim(&manager, "account_management", None)
        .await
        .unwrap()
        .expect("redriven");
    assert_eq!((claimed.ticket_id, claimed.deliveries), (ticket_id, 1));
    assert_eq!(
        helpdesk.dead_letter_actions(&manager).await.unwrap(),
        vec![action]
    );
    assert!(helpdesk.dead_letter_actions(&seo).await.unwrap().is_empty());
}

/// A question of acme's that its status data answers.
fn acme_question(id: &str) -> Inquiry {
    Inquiry {
        client_id: "acme".into(),
        subject: String::new(),
        body: "when will the final report be ready".into(),
        sender: Some("ops@acme.example".into()),
        ..unknown_sender_inquiry(id)
    }
}

/// A submitter allowed `client` only.
fn submitter_for(client: &str) -> Caller {
    Caller::new(
        format!("{client}-web"),
        Role::Submitter,
        vec![client.to_owned()],
        Vec::new(),
    )
}

fn rating(csat: u8, ces: Option<u8>) -> crate::feedback::Rating {
    crate::feedback::Rating {
        csat,
        ces,
        comment: None,
    }
}

/// The inquiry's own client may rate its answer, with the inquiry's context kept; another
/// client's token, a specialist, an unknown inquiry and a score out of range are refused.
#[tokio::test]
async fn only_the_inquirys_client_may_rate_its_answer() {
    use crate::feedback::Source;
    let Fixture { helpdesk, _dir } = fixture();
    let id = "<r1@mail.example>";
    let answered = helpdesk
        .submit(&submitter(), acme_question(id))
        .await
        .unwrap();
    assert!(matches!(
        answered.decision.outcome,
        Disposition::Answered(_)
    ));
    // An answer's decision is committed with the writer's next batch, not waited for.
    helpdesk.flush().await.unwrap();

    let record = helpdesk
        .rate(&submitter_for("acme"), id, rating(5, Some(6)), Source::Api)
        .await
        .unwrap();
    assert_eq!(
        (record.client_id.as_str(), record.intent.as_str()),
        ("acme", "report_eta")
    );
    assert_eq!((record.queue, record.answered_by_person), (None, false));
    assert_eq!(
        (record.channel, record.wait_ms, record.changes),
        (Channel::Email, 0, 0)
    );

    let other = helpdesk
        .rate(&submitter_for("globex"), id, rating(1, None), Source::Api)
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::PermissionDenied, "{other}");
    let specialist = helpdesk
        .rate(&specialist(&["seo"]), id, rating(1, None), Source::Api)
        .await
        .unwrap_err();
    assert_eq!(
        specialist.kind(),
        ErrorKind::PermissionDenied,
        "{specialist}"
    );
    let unknown = helpdesk
        .rate(
            &submitter_for("acme"),
            "<none@x>",
            rating(3, None),
            Source::Api,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (unknown.kind(), unknown.field()),
        (ErrorKind::NotFound, Some("inquiry_id"))
    );
    let out_of_range = helpdesk
        .rate(&submitter_for("acme"), id, rating(9, None), Source::Api)
        .await
        .unwrap_err();
    assert_eq!(
        (out_of_range.kind(), out_of_range.field()),
        (ErrorKind::InvalidArgument, Some("rating.csat"))
    );
}

/// An inquiry whose ticket is open cannot be rated; once a specialist resolves it, it can,
/// with the queue that answered; a second rating by email is then refused.
#[tokio::test]
async fn only_answered_inquiries_can_be_rated() {
    use crate::feedback::Source;
    let Fixture { helpdesk, _dir } = fixture();
    let id = "<r2@mail.example>";
    let held = Inquiry {
        handoff_reason: Some("asked for a person".into()),
        ..acme_question(id)
    };
    helpdesk.submit(&submitter(), held).await.unwrap();
    let acme = submitter_for("acme");
    let open = helpdesk
        .rate(&acme, id, rating(2, None), Source::Email)
        .await
        .unwrap_err();
    assert_eq!(open.kind(), ErrorKind::FailedPrecondition, "{open}");
    assert!(open.to_string().contains("is not answered yet"), "{open}");

    let claimed = helpdesk
        .claim(&admin(), "account_management", None)
        .await
        .unwrap()
        .expect("the hand-off's ticket");
    let held = HeldTicket {
        ticket_id: claimed.ticket_id,
        lease_token: claimed.lease.expect("a lease").token,
    };
    let closing = Closing {
        reply: Some("We called you and settled it.".into()),
        ..Closing::default()
    };
    helpdesk.resolve(&admin(), held, closing).await.unwrap();
    let record = helpdesk
        .rate(&acme, id, rating(2, None), Source::Email)
        .await
        .unwrap();
    assert_eq!(record.queue.as_deref(), Some("account_management"));
    assert!(record.answered_by_person);
    let again = helpdesk
        .rate(&acme, id, rating(5, None), Source::Email)
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::FailedPrecondition, "{again}");
    let summary = helpdesk.feedback_summary(&admin()).await.unwrap();
    assert_eq!(summary.by_queue[0].key, "account_management");
    assert_eq!(summary.by_queue[0].mean_csat, 2.0);
    let denied = helpdesk.feedback_summary(&acme).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
}

/// The lead's activity counts today's decisions by tier, intent and channel, with the share
/// answered automatically and the escalations by kind; only admins read it.
#[tokio::test]
async fn todays_activity_counts_the_decisions_for_admins_only() {
    let Fixture { helpdesk, _dir } = fixture();
    helpdesk
        .submit(&submitter(), acme_question("<a1@mail.example>"))
        .await
        .unwrap();
    let web_question = Inquiry {
        channel: Channel::Web,
        ..acme_question("a2")
    };
    helpdesk.submit(&submitter(), web_question).await.unwrap();
    helpdesk
        .submit(&submitter(), unknown_sender_inquiry("<a3@mail.example>"))
        .await
        .unwrap();
    let handed_off = Inquiry {
        handoff_reason: Some("an automatic reply loop".into()),
        ..acme_question("<a4@mail.example>")
    };
    helpdesk.submit(&submitter(), handed_off).await.unwrap();
    helpdesk.flush().await.unwrap();

    let activity = helpdesk.activity_today(&admin()).await.unwrap();
    // NOW_MS is 2027-01-15T08:00:00Z; the tiny pack's day is UTC's.
    assert_eq!(activity.since_ms, NOW_MS - 8 * 3_600_000);
    assert_eq!(activity.decisions, 4);
    assert!(!activity.truncated);
    assert_eq!((activity.answered, activity.queued), (2, 2));
    assert_eq!(activity.deflection(), Some(0.5));
    let counts = |counts: &[Count]| -> Vec<(String, u64)> {
        counts.iter().map(|c| (c.key.clone(), c.count)).collect()
    };
    assert_eq!(
        counts(&activity.by_channel),
        [("email".to_owned(), 3), ("web".to_owned(), 1)]
    );
    assert_eq!(
        counts(&activity.by_intent)[0],
        ("report_eta".to_owned(), 3),
        "{activity:?}"
    );
    assert_eq!(
        counts(&activity.escalations),
        [
            ("handed_off".to_owned(), 1),
            ("unknown_sender".to_owned(), 1)
        ]
    );
    assert_eq!(activity.no_reply_total(), 0);

    let later = helpdesk.activity(&admin(), NOW_MS + 1).await.unwrap();
    assert_eq!((later.decisions, later.deflection()), (0, None));
    for refused in [specialist(&["seo"]), submitter()] {
        let error = helpdesk.activity_today(&refused).await.unwrap_err();
        assert!(
            matches!(error, HelpdeskError::PermissionDenied(_)),
            "{error}"
        );
    }
}
