use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// 2026-12-06T12:00:00Z.
const NOON_MS: i64 = 1_796_558_400_000;

/// An estimator with the default settings but the time of day left out, so that each test of
/// another rule holds whatever time of day its resolutions were queued at.
fn estimator() -> WaitEstimator {
    let settings = WaitSettings {
        time_of_day_width: None,
        ..WaitSettings::default()
    };
    WaitEstimator::with_settings(settings, TimeZone::UTC, Arc::new(Metrics::new()))
}

/// Feeds `count` resolutions on `queue` and `priority`, each waiting `wait_ms` and answered a
/// minute apart, the last at `last_answered_ms`.
fn feed(
    waits: &WaitEstimator,
    queue: &str,
    priority: u8,
    count: i64,
    wait_ms: i64,
    last_answered_ms: i64,
) {
    for i in 0..count {
        let answered_ms = last_answered_ms - (count - 1 - i) * MINUTE_MS;
        waits.observe(queue, priority, answered_ms - wait_ms, answered_ms);
    }
}

fn instant_ms(text: &str) -> i64 {
    text.parse::<Timestamp>().unwrap().as_millisecond()
}

/// An estimate is withheld for an unknown queue, too few resolutions, or only old ones.
#[test]
fn withheld_with_too_little_or_no_recent_data() {
    let waits = estimator();
    assert_eq!(waits.estimate("billing", 1, NOON_MS, 0, None), None);

    feed(&waits, "billing", 1, 5, HOUR_MS, NOON_MS);
    assert_eq!(
        waits.estimate("billing", 1, NOON_MS, 0, None),
        None,
        "five resolutions are too few"
    );

    feed(&waits, "seo", 1, 50, HOUR_MS, NOON_MS - 5 * DAY_MS);
    assert_eq!(
        waits.estimate("seo", 1, NOON_MS, 0, None),
        None,
        "nothing answered for five days"
    );
    assert!(
        waits
            .estimate("seo", 1, NOON_MS - 4 * DAY_MS, 0, None)
            .is_some(),
        "the same resolutions, one day on, are recent"
    );
}

/// A few recent resolutions outweigh many older ones: the estimate follows the queue's pace.
#[test]
fn newer_resolutions_outweigh_old_ones() {
    let waits = estimator();
    feed(&waits, "billing", 1, 200, 6 * HOUR_MS, NOON_MS - 7 * DAY_MS);
    feed(&waits, "billing", 1, 30, 30 * MINUTE_MS, NOON_MS);
    let estimate = waits.estimate("billing", 1, NOON_MS, 0, None).unwrap();
    assert_eq!(estimate.wait_ms, 30 * MINUTE_MS);
    assert_eq!(estimate.bucket.kind, WaitBucketKind::WithinOneHour);
    assert_eq!(estimate.english(), "within 1 hour");
    assert!(!estimate.fell_back && !estimate.from_backlog);
}

/// The estimate is a high quantile of the waits, not their mean.
#[test]
fn estimate_is_a_high_quantile() {
    let waits = estimator();
    // 70 quick answers and 30 slow ones, interleaved, all of about the same age.
    for i in 0..100 {
        let wait_ms = if i % 10 < 7 {
            10 * MINUTE_MS
        } else {
            3 * HOUR_MS
        };
        let answered_ms = NOON_MS - i * MINUTE_MS;
        waits.observe("billing", 1, answered_ms - wait_ms, answered_ms);
    }
    let estimate = waits.estimate("billing", 1, NOON_MS, 0, None).unwrap();
    assert_eq!(estimate.wait_ms, 3 * HOUR_MS);
    assert_eq!(estimate.bucket.kind, WaitBucketKind::WithinFourHours);
}

/// The time already waited is taken off the estimate, which never goes below zero.
#[test]
fn time_waited_is_subtracted_never_below_zero() {
    let waits = estimator();
    feed(&waits, "billing", 1, 40, 2 * HOUR_MS, NOON_MS);
    let fresh = waits.estimate("billing", 1, NOON_MS, 0, None).unwrap();
    assert_eq!(fresh.wait_ms, 2 * HOUR_MS);
    let waited = waits
        .estimate("billing", 1, NOON_MS, 30 * MINUTE_MS, None)
        .unwrap();
    assert_eq!(waited.wait_ms, 90 * MINUTE_MS);
    assert_eq!(waited.bucket.kind, WaitBucketKind::WithinTwoHours);
    let overdue = waits
        .estimate("billing", 1, NOON_MS, 5 * HOUR_MS, None)
        .unwrap();
    assert_eq!(overdue.wait_ms, 0);
    assert_eq!(overdue.bucket.kind, WaitBucketKind::WithinOneHour);
    assert_eq!(overdue.bucket.deadline_ms, NOON_MS + HOUR_MS);
}

/// A priority with too few resolutions of its own is estimated from the whole queue, and says
/// so; one with enough is estimated from its own.
#[test]
fn a_priority_with_too_few_resolutions_falls_back_to_the_queue() {
    let waits = estimator();
    feed(&waits, "billing", 1, 40, 3 * HOUR_MS, NOON_MS);
    feed(&waits, "billing", 0, 3, 20 * MINUTE_MS, NOON_MS);
    let own = waits.estimate("billing", 1, NOON_MS, 0, None).unwrap();
    assert!(!own.fell_back);
    assert_eq!(own.wait_ms, 3 * HOUR_MS);
    let pooled = waits.estimate("billing", 0, NOON_MS, 0, None).unwrap();
    assert!(pooled.fell_back);
    assert_eq!(pooled.wait_ms, 3 * HOUR_MS, "the pooled waits");
    let unseen = waits.estimate("billing", 7, NOON_MS, 0, None).unwrap();
    assert!(unseen.fell_back, "a priority never seen pools the queue");
    assert_eq!(waits.estimate("seo", 1, NOON_MS, 0, None), None);
}

/// With a backlog ahead, the estimate is at least the backlog divided by the recent answer
/// rate (Little's law); without a rate to trust, the backlog is not read.
#[test]
fn a_backlog_ahead_lengthens_the_estimate() {
    let waits = estimator();
    // 40 answers in the last 40 minutes, each after 20 minutes' wait: one a minute.
    feed(&waits, "billing", 1, 40, 20 * MINUTE_MS, NOON_MS);
    let quiet = waits.estimate("billing", 1, NOON_MS, 0, Some(5)).unwrap();
    assert_eq!(quiet.wait_ms, 20 * MINUTE_MS);
    assert!(!quiet.from_backlog);
    // 119 tickets ahead and this one at 40 answers in the two-hour window: 6 hours.
    let busy = waits.estimate("billing", 1, NOON_MS, 0, Some(119)).unwrap();
    assert!(busy.from_backlog);
    assert_eq!(busy.wait_ms, 6 * HOUR_MS);
    assert_eq!(busy.bucket.kind, WaitBucketKind::EndOfToday);
    // Three hours on, no answer falls in the rate window: only the resolutions are read.
    let later = waits
        .estimate("billing", 1, NOON_MS + 3 * HOUR_MS, 0, Some(120))
        .unwrap();
    assert!(!later.from_backlog);
}

/// With the default settings, a ticket is judged by the ones queued at about the same time of
/// day: in the evening by the ones that waited for the morning, in the morning by the quick
/// ones; without the time of day, both by all of them.
#[test]
fn the_time_of_day_a_ticket_is_queued_at_counts() {
    let waits = WaitEstimator::new(TimeZone::UTC, Arc::new(Metrics::new()));
    let plain = estimator();
    for i in 0..30 {
        let evening_ms = instant_ms("2026-12-04T19:00:00Z") + i * MINUTE_MS;
        let morning_ms = instant_ms("2026-12-05T09:00:00Z") + i * MINUTE_MS;
        for (queued_ms, wait_ms) in [(evening_ms, 13 * HOUR_MS), (morning_ms, 30 * MINUTE_MS)] {
            waits.observe("billing", 1, queued_ms, queued_ms + wait_ms);
            plain.observe("billing", 1, queued_ms, queued_ms + wait_ms);
        }
    }
    let evening_ms = instant_ms("2026-12-05T19:10:00Z");
    let evening = waits.estimate("billing", 1, evening_ms, 0, None).unwrap();
    assert_eq!(evening.wait_ms, 13 * HOUR_MS);
    assert_eq!(evening.bucket.kind, WaitBucketKind::TomorrowNoon);
    let morning_ms = instant_ms("2026-12-06T09:05:00Z");
    let morning = waits.estimate("billing", 1, morning_ms, 0, None).unwrap();
    assert_eq!(morning.wait_ms, 30 * MINUTE_MS);
    assert_eq!(morning.bucket.kind, WaitBucketKind::WithinOneHour);
    let pooled = plain.estimate("billing", 1, morning_ms, 0, None).unwrap();
    assert_eq!(pooled.wait_ms, 13 * HOUR_MS);
}

/// Day-based buckets are read in the clients' zone: at 23:30 in Tokyo, "today" ends in half an
/// hour and "tomorrow noon" is 12:00 the next day there, not in UTC.
#[test]
fn day_buckets_follow_the_zone_across_midnight() {
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
    let now_ms = instant_ms("2026-12-06T14:30:00Z"); // 23:30 in Tokyo
    let bucket = |wait_ms, zone: &TimeZone| WaitBucket::for_wait(now_ms, wait_ms, zone).unwrap();

    let soon = bucket(20 * MINUTE_MS, &tokyo);
    assert_eq!(soon.kind, WaitBucketKind::EndOfToday);
    assert_eq!(soon.deadline_ms, instant_ms("2026-12-06T15:00:00Z"));

    let after_midnight = bucket(3 * HOUR_MS, &tokyo);
    assert_eq!(after_midnight.kind, WaitBucketKind::WithinFourHours);

    let tomorrow = bucket(10 * HOUR_MS, &tokyo);
    assert_eq!(tomorrow.kind, WaitBucketKind::TomorrowNoon);
    assert_eq!(tomorrow.deadline_ms, instant_ms("2026-12-07T03:00:00Z"));
    assert_eq!(tomorrow.english(), "by tomorrow noon");

    let in_utc = bucket(10 * HOUR_MS, &TimeZone::UTC);
    assert_eq!(in_utc.kind, WaitBucketKind::TomorrowNoon);
    assert_eq!(in_utc.deadline_ms, instant_ms("2026-12-07T12:00:00Z"));
}

/// On the days the clocks change, "the end of today" is the next local midnight, 23 or 25
/// hours after the last, and "tomorrow noon" is noon on the local clock.
#[test]
fn day_buckets_follow_daylight_saving_time() {
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let local_ms = |y, m, d, h, min| {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned_datetime(berlin.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    // 29 March 2026: 02:00 CET becomes 03:00 CEST.
    let spring_ms = local_ms(2026, 3, 29, 0, 30);
    let spring = WaitBucket::for_wait(spring_ms, 10 * HOUR_MS, &berlin).unwrap();
    assert_eq!(spring.kind, WaitBucketKind::EndOfToday);
    assert_eq!(spring.deadline_ms, instant_ms("2026-03-29T22:00:00Z"));
    assert_eq!(
        spring.deadline_ms - spring_ms,
        22 * HOUR_MS + 30 * MINUTE_MS
    );
    let noon = WaitBucket::for_wait(spring_ms, 23 * HOUR_MS, &berlin).unwrap();
    assert_eq!(noon.kind, WaitBucketKind::TomorrowNoon);
    assert_eq!(noon.deadline_ms, instant_ms("2026-03-30T10:00:00Z"));

    // 25 October 2026: 03:00 CEST becomes 02:00 CET.
    let autumn_ms = local_ms(2026, 10, 25, 0, 30);
    let autumn = WaitBucket::for_wait(autumn_ms, 24 * HOUR_MS, &berlin).unwrap();
    assert_eq!(autumn.kind, WaitBucketKind::EndOfToday);
    assert_eq!(autumn.deadline_ms, instant_ms("2026-10-25T23:00:00Z"));
    assert_eq!(
        autumn.deadline_ms - autumn_ms,
        24 * HOUR_MS + 30 * MINUTE_MS
    );
}

/// A bucket's deadline is never before the estimate, and a wait longer than a week is told
/// no bucket.
#[test]
fn a_bucket_never_ends_before_the_estimate() {
    let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
        .map(|name| TimeZone::get(name).unwrap());
    let mut rng = fastrand::Rng::with_seed(23);
    for _ in 0..2000 {
        let now_ms = NOON_MS + rng.i64(-400 * DAY_MS..400 * DAY_MS);
        let wait_ms = rng.i64(0..8 * DAY_MS);
        let zone = &zones[rng.usize(..zones.len())];
        match WaitBucket::for_wait(now_ms, wait_ms, zone) {
            Some(bucket) => assert!(bucket.deadline_ms >= now_ms + wait_ms),
            None => assert!(wait_ms > 7 * DAY_MS, "withheld a wait of {wait_ms} ms"),
        }
    }
}

/// Told, answered and kept are counted by queue and bucket, in the summary and the metrics; a
/// ticket answered late is not kept, and one still open past its deadline is overdue.
#[test]
fn calibration_counts_told_and_kept() {
    let metrics = Arc::new(Metrics::new());
    let waits = WaitEstimator::new(TimeZone::UTC, Arc::clone(&metrics));
    let within_hour = WaitBucket::for_wait(NOON_MS, 40 * MINUTE_MS, &TimeZone::UTC).unwrap();
    let within_two_days = WaitBucket::for_wait(NOON_MS, 30 * HOUR_MS, &TimeZone::UTC).unwrap();
    assert_eq!(within_two_days.kind, WaitBucketKind::WithinTwoDays);
    waits.told(1, "billing", within_hour);
    waits.told(2, "billing", within_hour);
    waits.told(3, "billing", within_hour);
    waits.told(4, "seo", within_two_days);

    assert_eq!(waits.answered(1, NOON_MS + 50 * MINUTE_MS), Some(true));
    assert_eq!(
        waits.answered(2, NOON_MS + 61 * MINUTE_MS),
        Some(false),
        "late"
    );
    assert_eq!(waits.answered(4, NOON_MS + DAY_MS), Some(true));
    assert_eq!(waits.answered(4, NOON_MS + DAY_MS), None, "answered twice");
    assert_eq!(waits.answered(99, NOON_MS), None, "told nothing");

    let score = |told, answered, kept, overdue| WaitScore {
        told,
        answered,
        kept,
        overdue,
    };
    let billing = score(3, 2, 1, 0);
    let seo = score(1, 1, 1, 0);
    let queue = |name: &str, score, bucket| QueueCalibration {
        queue: name.to_owned(),
        score,
        by_bucket: vec![(bucket, score)],
    };
    assert_eq!(
        waits.calibration(NOON_MS + 59 * MINUTE_MS),
        vec![
            queue("billing", billing, WaitBucketKind::WithinOneHour),
            queue("seo", seo, WaitBucketKind::WithinTwoDays),
        ]
    );
    assert_eq!(
        billing.kept_share(),
        Some(0.5),
        "ticket 3 is open, not yet late"
    );
    // Past the hour, ticket 3 is overdue: a promise broken before it is answered.
    let late = waits.calibration(NOON_MS + 61 * MINUTE_MS);
    assert_eq!(late[0].score, score(3, 2, 1, 1));
    assert_eq!(late[0].score.kept_share(), Some(1.0 / 3.0));
    assert_eq!(WaitScore::default().kept_share(), None);
    let rendered = metrics.render();
    let sample = |name: &str, queue: &str, bucket: &str| {
        rendered
            .lines()
            .find(|line| {
                line.starts_with(name)
                    && line.contains(&format!("queue=\"{queue}\""))
                    && line.contains(&format!("bucket=\"{bucket}\""))
            })
            .and_then(|line| line.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(
        sample("triage_wait_told_total", "billing", "within_1h").as_deref(),
        Some("3")
    );
    assert_eq!(
        sample("triage_wait_kept_total", "billing", "within_1h").as_deref(),
        Some("1")
    );
    assert_eq!(
        sample("triage_wait_kept_total", "seo", "within_2d").as_deref(),
        Some("1")
    );
}

/// Each queue and priority keeps at most `resolutions_kept` resolutions, the newest.
#[test]
fn memory_is_bounded_per_queue_and_priority() {
    let settings = WaitSettings {
        resolutions_kept: 20,
        ..WaitSettings::default()
    };
    let waits = WaitEstimator::with_settings(settings, TimeZone::UTC, Arc::new(Metrics::new()));
    feed(&waits, "billing", 1, 1000, 5 * HOUR_MS, NOON_MS - HOUR_MS);
    feed(&waits, "billing", 1, 20, 10 * MINUTE_MS, NOON_MS);
    let estimate = waits.estimate("billing", 1, NOON_MS, 0, None).unwrap();
    assert_eq!(
        estimate.wait_ms,
        10 * MINUTE_MS,
        "only the newest 20 are kept"
    );
    assert!(estimate.effective_samples <= 20.0);
}

/// The pack's acknowledgement names the waits as the estimator tells them.
#[test]
fn the_packs_wait_names_are_the_buckets_labels() {
    assert_eq!(
        WaitBucketKind::ALL.map(WaitBucketKind::label),
        crate::answer::WAIT_BUCKETS
    );
}
