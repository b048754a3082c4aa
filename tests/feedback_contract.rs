//! The feedback store's contract: one suite of the rating rules and the summary, run unchanged
//! against the embedded store (redb) and the PostgreSQL store, both real; the PostgreSQL half
//! runs with the `engines` feature.

mod common;

use std::sync::Arc;
use std::time::Duration;

use triage::feedback::{
    AUTOMATIC, EmbeddedFeedback, FeedbackError, FeedbackRecord, FeedbackStore, Rating, Source,
};
use triage::intake::Channel;

const DAY_MS: i64 = 86_400_000;
const ANSWERED_MS: i64 = 1_800_000_000_000;
const WINDOW: Duration = Duration::from_secs(28 * 86_400);

/// `rating` of `inquiry_id` (answered at [`ANSWERED_MS`], of `intent` and `queue`) given
/// `days` after the answer by `source`.
fn rating_of(
    inquiry_id: &str,
    intent: &str,
    queue: Option<&str>,
    days: i64,
    source: Source,
    rating: Rating,
) -> FeedbackRecord {
    FeedbackRecord {
        inquiry_id: inquiry_id.to_owned(),
        client_id: "acme".to_owned(),
        intent: intent.to_owned(),
        queue: queue.map(str::to_owned),
        channel: Channel::Email,
        wait_ms: if queue.is_some() { 3_600_000 } else { 0 },
        answered_by_person: queue.is_some(),
        answered_ms: ANSWERED_MS,
        rated_ms: ANSWERED_MS + days * DAY_MS,
        source,
        changes: 0,
        rating,
    }
}

/// The scores and comment of a rating.
fn score(csat: u8, ces: Option<u8>, comment: Option<&str>) -> Rating {
    Rating {
        csat,
        ces,
        comment: comment.map(str::to_owned),
    }
}

/// A rating of the inquiry "i1" (intent `report_eta`, answered automatically).
fn simple(days: i64, source: Source, csat: u8) -> FeedbackRecord {
    rating_of(
        "i1",
        "report_eta",
        None,
        days,
        source,
        score(csat, None, None),
    )
}

/// Every rule and figure of the contract, on `store`.
async fn contract(store: Arc<dyn FeedbackStore>) {
    first_rating_is_recorded(store.as_ref()).await;
    changes_within_the_window_replace_the_rating(store.as_ref()).await;
    a_change_after_the_window_is_refused(store.as_ref()).await;
    email_ratings_are_recorded_once(store.as_ref()).await;
    the_summary_counts_each_inquirys_latest_rating(store.as_ref()).await;
    the_link_key_is_kept_once(store.as_ref()).await;
}

/// A first rating is stored as given, with no change counted, and read back.
async fn first_rating_is_recorded(store: &dyn FeedbackStore) {
    let stored = store.rate(simple(1, Source::Api, 3), WINDOW).await.unwrap();
    assert_eq!(stored, simple(1, Source::Api, 3));
    assert_eq!(store.rating("i1").await.unwrap(), Some(stored));
    assert_eq!(store.rating("unrated").await.unwrap(), None);
}

/// A rating through the API or the link within the window replaces the rating and counts a
/// change; the inquiry's context stays.
async fn changes_within_the_window_replace_the_rating(store: &dyn FeedbackStore) {
    let by_link = store
        .rate(simple(2, Source::Link, 4), WINDOW)
        .await
        .unwrap();
    assert_eq!((by_link.changes, by_link.source), (1, Source::Link));
    assert_eq!(by_link.rating.csat, 4);
    let last_day = store
        .rate(simple(28, Source::Api, 5), WINDOW)
        .await
        .unwrap();
    assert_eq!((last_day.changes, last_day.rating.csat), (2, 5));
    assert_eq!(last_day.answered_ms, ANSWERED_MS);
    assert_eq!(store.rating("i1").await.unwrap(), Some(last_day));
}

/// A change after the window is refused and leaves the rating as it was.
async fn a_change_after_the_window_is_refused(store: &dyn FeedbackStore) {
    let before = store.rating("i1").await.unwrap();
    let late = store
        .rate(simple(29, Source::Link, 1), WINDOW)
        .await
        .unwrap_err();
    assert!(
        matches!(late, FeedbackError::WindowClosed { days: 28, .. }),
        "{late}"
    );
    assert!(
        late.to_string().contains("can no longer be changed"),
        "{late}"
    );
    assert_eq!(store.rating("i1").await.unwrap(), before);
}

/// An email rating is recorded only as the first rating: a second one (a re-sent mail, an
/// auto-reply) is refused, and so is one over a rating given otherwise.
async fn email_ratings_are_recorded_once(store: &dyn FeedbackStore) {
    let by_mail = |csat| {
        rating_of(
            "i2",
            "report_eta",
            Some("seo"),
            1,
            Source::Email,
            score(csat, None, None),
        )
    };
    let first = store.rate(by_mail(2), WINDOW).await.unwrap();
    assert_eq!((first.source, first.changes), (Source::Email, 0));
    let again = store.rate(by_mail(5), WINDOW).await.unwrap_err();
    assert!(
        matches!(again, FeedbackError::AlreadyRatedByEmail(_)),
        "{again}"
    );
    assert!(again.to_string().contains("recorded once"), "{again}");
    assert_eq!(store.rating("i2").await.unwrap(), Some(first));
    let over_api = store
        .rate(simple(3, Source::Email, 1), WINDOW)
        .await
        .unwrap_err();
    assert!(
        matches!(over_api, FeedbackError::AlreadyRatedByEmail(_)),
        "{over_api}"
    );
    let changed_by_link = rating_of(
        "i2",
        "report_eta",
        Some("seo"),
        2,
        Source::Link,
        score(3, Some(3), None),
    );
    assert_eq!(
        store.rate(changed_by_link, WINDOW).await.unwrap().changes,
        1
    );
}

/// The summary by intent and by queue: counts, means, shares and comments of each
/// inquiry's latest rating.
async fn the_summary_counts_each_inquirys_latest_rating(store: &dyn FeedbackStore) {
    // i1: report_eta, automatic, CSAT 5, no CES. i2: report_eta, seo, CSAT 3, CES 3.
    let third = rating_of(
        "i3",
        "seo_advice",
        Some("seo"),
        1,
        Source::Api,
        score(4, Some(6), Some("clear")),
    );
    store.rate(third, WINDOW).await.unwrap();
    let summary = store.summary().await.unwrap();
    let intents: Vec<_> = summary
        .by_intent
        .iter()
        .map(|row| row.key.as_str())
        .collect();
    assert_eq!(intents, ["report_eta", "seo_advice"]);
    let report = &summary.by_intent[0];
    assert_eq!(
        (report.count, report.mean_csat, report.satisfied_share),
        (2, 4.0, 0.5)
    );
    assert_eq!(
        (report.ces_count, report.mean_ces, report.easy_share),
        (1, Some(3.0), Some(0.0))
    );
    assert_eq!(report.comments, 0);
    let advice = &summary.by_intent[1];
    assert_eq!(
        (
            advice.count,
            advice.mean_ces,
            advice.easy_share,
            advice.comments
        ),
        (1, Some(6.0), Some(1.0), 1)
    );

    let queues: Vec<_> = summary
        .by_queue
        .iter()
        .map(|row| row.key.as_str())
        .collect();
    assert_eq!(queues, [AUTOMATIC, "seo"]);
    let automatic = &summary.by_queue[0];
    assert_eq!(
        (automatic.count, automatic.mean_csat, automatic.ces_count),
        (1, 5.0, 0)
    );
    assert_eq!((automatic.mean_ces, automatic.easy_share), (None, None));
    let seo = &summary.by_queue[1];
    assert_eq!(
        (seo.count, seo.mean_csat, seo.satisfied_share),
        (2, 3.5, 0.5)
    );
    assert_eq!(
        (seo.ces_count, seo.mean_ces, seo.easy_share, seo.comments),
        (2, Some(4.5), Some(0.5), 1)
    );
}

/// The first key offered is kept; a later offer gets it back.
async fn the_link_key_is_kept_once(store: &dyn FeedbackStore) {
    let first = store.link_key(vec![1; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    assert_eq!(store.link_key(vec![2; 32]).await.unwrap(), first);
}

/// The embedded store passes the contract, and keeps its ratings and key across a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedFeedback::open(dir.path()).unwrap();
    contract(Arc::new(store.clone())).await;
    let latest = store.rating("i1").await.unwrap();
    drop(store);
    let reopened = EmbeddedFeedback::open(dir.path()).unwrap();
    assert_eq!(reopened.rating("i1").await.unwrap(), latest);
    assert_eq!(reopened.link_key(vec![3; 32]).await.unwrap(), vec![1; 32]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join(triage::feedback::LINK_KEY_FILE);
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// The PostgreSQL store passes the same contract, in a schema of its own.
#[cfg(feature = "engines")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_keeps_the_contract() {
    let namespace = common::engines::Namespace::new("feedback");
    let store = triage::feedback::PgFeedback::new(namespace.postgres().await);
    contract(Arc::new(store)).await;
    namespace.remove().await;
}

/// Two first ratings of one inquiry at once on PostgreSQL: one is the first, the other a
/// change of it (API) — never two rows, never a lost rating.
#[cfg(feature = "engines")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_applies_simultaneous_first_ratings_in_turn() {
    let namespace = common::engines::Namespace::new("feedback_race");
    let store = Arc::new(triage::feedback::PgFeedback::new(
        namespace.postgres().await,
    ));
    let rate = |csat| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.rate(simple(1, Source::Api, csat), WINDOW).await })
    };
    let (a, b) = (rate(1), rate(5));
    let mut changes = [
        a.await.unwrap().unwrap().changes,
        b.await.unwrap().unwrap().changes,
    ];
    changes.sort();
    assert_eq!(changes, [0, 1]);
    assert_eq!(store.summary().await.unwrap().by_intent[0].count, 1);
    namespace.remove().await;
}
