//! The expected wait through the domain API: read back from the store at start, lengthened by
//! the backlog ahead, and scored when the ticket is answered.

use super::*;

const MINUTE_MS: i64 = 60_000;

/// Submits an inquiry of an unknown sender (queued on `account_management`) and acknowledges it.
async fn submit_acknowledged(helpdesk: &Helpdesk, id: &str) -> Acknowledgement {
    let inquiry = unknown_sender_inquiry(&format!("<{id}@mail.example>"));
    let submitted = helpdesk.submit(&submitter(), inquiry).await.unwrap();
    helpdesk
        .acknowledge(&submitted)
        .await
        .expect("a queued inquiry is acknowledged")
}

/// Claims the next ticket of `account_management` and resolves it with a reply.
async fn answer_next(helpdesk: &Helpdesk) {
    let claimed = helpdesk
        .claim(&admin(), "account_management", None)
        .await
        .unwrap()
        .expect("a ticket to answer");
    let held = HeldTicket {
        ticket_id: claimed.ticket_id,
        lease_token: claimed.lease.unwrap().token,
    };
    let closing = Closing {
        reply: Some("Done.".into()),
        ..Closing::default()
    };
    helpdesk.resolve(&admin(), held, closing).await.unwrap();
}

/// A helpdesk reopened on the same store tells an expected wait at once: the resolutions made
/// before are read back from the queue's audit records. Then a burst of tickets lengthens it
/// (the backlog ahead over the recent answer rate).
#[tokio::test]
async fn a_reopened_helpdesk_tells_the_wait_at_once() {
    let store = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let first = helpdesk_on(&tiny_pack(), store.path(), Arc::clone(&clock));
    for n in 0..12 {
        let told = submit_acknowledged(&first, &format!("before-{n}")).await;
        assert_eq!(told.expected, None, "no resolution yet");
    }
    clock.advance(40 * MINUTE_MS);
    for _ in 0..12 {
        answer_next(&first).await;
    }
    first.flush().await.unwrap();
    drop(first);

    let second = helpdesk_on(&tiny_pack(), store.path(), Arc::clone(&clock));
    let unread = submit_acknowledged(&second, "unread").await;
    assert_eq!(unread.expected, None, "nothing read back yet");
    assert_eq!(second.read_back_resolutions().await.unwrap(), 12);
    let told = submit_acknowledged(&second, "after").await;
    let expected = told.expected.expect("an estimate right away");
    assert_eq!(expected.wait_ms, 40 * MINUTE_MS);
    assert_eq!(expected.bucket.kind, WaitBucketKind::WithinOneHour);
    assert!(!expected.from_backlog, "one ticket ahead: {expected:?}");

    // 12 answers in the last two hours: 10 minutes each. 40 tickets ahead wait 41 × 10 minutes.
    for n in 0..38 {
        submit_acknowledged(&second, &format!("burst-{n}")).await;
    }
    let late = submit_acknowledged(&second, "late").await;
    let expected = late.expected.expect("an estimate");
    assert!(expected.from_backlog, "{expected:?}");
    assert_eq!(expected.wait_ms, 41 * 10 * MINUTE_MS);
}

/// A promise kept (answered within the wait told) and one broken (still open past it, then
/// answered late) show up in the calibration admins read, by queue and by bucket.
#[tokio::test]
async fn kept_and_broken_promises_are_reported() {
    let store = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let helpdesk = helpdesk_on(&tiny_pack(), store.path(), Arc::clone(&clock));
    for n in 0..12 {
        submit_acknowledged(&helpdesk, &format!("before-{n}")).await;
    }
    clock.advance(40 * MINUTE_MS);
    for _ in 0..12 {
        answer_next(&helpdesk).await;
    }
    let admin = admin();
    assert_eq!(helpdesk.wait_calibration(&admin).unwrap(), Vec::new());
    for id in ["kept", "broken"] {
        let told = submit_acknowledged(&helpdesk, id).await;
        let expected = told.expected.expect("an estimate");
        assert_eq!(expected.bucket.kind, WaitBucketKind::WithinOneHour);
    }
    clock.advance(30 * MINUTE_MS);
    answer_next(&helpdesk).await;
    clock.advance(40 * MINUTE_MS);
    let score = |told, answered, kept, overdue| WaitScore {
        told,
        answered,
        kept,
        overdue,
    };
    let report = |score| {
        vec![QueueCalibration {
            queue: "account_management".into(),
            score,
            by_bucket: vec![(WaitBucketKind::WithinOneHour, score)],
        }]
    };
    let open_late = helpdesk.wait_calibration(&admin).unwrap();
    assert_eq!(open_late, report(score(2, 1, 1, 1)));
    assert_eq!(open_late[0].score.kept_share(), Some(0.5));
    answer_next(&helpdesk).await;
    let answered = helpdesk.wait_calibration(&admin).unwrap();
    assert_eq!(answered, report(score(2, 2, 1, 0)));
    assert_eq!(answered[0].score.kept_share(), Some(0.5));
    let refused = helpdesk.wait_calibration(&submitter()).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
}
