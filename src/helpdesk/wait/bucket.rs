//! The buckets an expected wait is told in: "within 1 hour", "by the end of today", … — a
//! promise a client can hold us to, rather than a minute that suggests a precision no estimate
//! has. Each has a machine form (its [`WaitBucketKind`] and deadline) and words; the day-based
//! ones are read in the clients' time zone, with its daylight saving time.

use jiff::Timestamp;
use jiff::tz::TimeZone;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Which promise an expected wait is told as, from the nearest to the farthest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaitBucketKind {
    WithinOneHour,
    WithinTwoHours,
    WithinFourHours,
    /// By the next midnight in the clients' time zone.
    EndOfToday,
    /// By noon of the next day in the clients' time zone.
    TomorrowNoon,
    WithinTwoDays,
    WithinAWeek,
}

impl WaitBucketKind {
    /// Every kind, nearest first.
    pub const ALL: [WaitBucketKind; 7] = [
        WaitBucketKind::WithinOneHour,
        WaitBucketKind::WithinTwoHours,
        WaitBucketKind::WithinFourHours,
        WaitBucketKind::EndOfToday,
        WaitBucketKind::TomorrowNoon,
        WaitBucketKind::WithinTwoDays,
        WaitBucketKind::WithinAWeek,
    ];

    /// The kind's stable machine name: the `bucket` label of the wait metrics.
    pub fn label(self) -> &'static str {
        match self {
            WaitBucketKind::WithinOneHour => "within_1h",
            WaitBucketKind::WithinTwoHours => "within_2h",
            WaitBucketKind::WithinFourHours => "within_4h",
            WaitBucketKind::EndOfToday => "end_of_today",
            WaitBucketKind::TomorrowNoon => "tomorrow_noon",
            WaitBucketKind::WithinTwoDays => "within_2d",
            WaitBucketKind::WithinAWeek => "within_1w",
        }
    }

    /// What the client is told, in English; the words of other languages are the pack's (the
    /// `waits` of its acknowledgement, by [`label`](Self::label)).
    pub fn english(self) -> &'static str {
        match self {
            WaitBucketKind::WithinOneHour => "within 1 hour",
            WaitBucketKind::WithinTwoHours => "within 2 hours",
            WaitBucketKind::WithinFourHours => "within 4 hours",
            WaitBucketKind::EndOfToday => "by the end of today",
            WaitBucketKind::TomorrowNoon => "by tomorrow noon",
            WaitBucketKind::WithinTwoDays => "within 2 days",
            WaitBucketKind::WithinAWeek => "within a week",
        }
    }

    /// The deadline this kind promises when told at `now`, in ms since the Unix epoch; `None`
    /// for a day-based kind whose day lies outside the dates jiff represents.
    fn deadline_ms(self, now: Timestamp, zone: &TimeZone) -> Option<i64> {
        let now_ms = now.as_millisecond();
        let after = |hours: i64| now_ms.checked_add(hours * HOUR_MS);
        match self {
            WaitBucketKind::WithinOneHour => after(1),
            WaitBucketKind::WithinTwoHours => after(2),
            WaitBucketKind::WithinFourHours => after(4),
            WaitBucketKind::EndOfToday => {
                // The start of tomorrow, not today plus 24 hours: a day with a clock change
                // has 23 or 25 of them.
                let tomorrow = now.to_zoned_datetime(zone.clone()).tomorrow().ok()?;
                Some(tomorrow.start_of_day().ok()?.timestamp().as_millisecond())
            }
            WaitBucketKind::TomorrowNoon => {
                let local_today = now.to_zoned_datetime(zone.clone()).date();
                let noon = local_today.tomorrow().ok()?.at(12, 0, 0, 0);
                Some(
                    noon.to_zoned_datetime(zone.clone())
                        .ok()?
                        .timestamp()
                        .as_millisecond(),
                )
            }
            WaitBucketKind::WithinTwoDays => now_ms.checked_add(2 * DAY_MS),
            WaitBucketKind::WithinAWeek => now_ms.checked_add(7 * DAY_MS),
        }
    }
}

/// An expected wait as told: the promise and the instant it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitBucket {
    pub kind: WaitBucketKind,
    /// When the promise expires, in ms since the Unix epoch: never before the estimate.
    pub deadline_ms: i64,
}

impl WaitBucket {
    /// The bucket with the earliest deadline at or after `now_ms + wait_ms`, in `zone`; `None`
    /// when the wait is longer than a week (too far to promise anything but the SLA) or `now_ms`
    /// lies outside the times jiff represents.
    pub fn for_wait(now_ms: i64, wait_ms: i64, zone: &TimeZone) -> Option<WaitBucket> {
        let now = Timestamp::from_millisecond(now_ms).ok()?;
        let expected_ms = now_ms.checked_add(wait_ms.max(0))?;
        WaitBucketKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let deadline_ms = kind.deadline_ms(now, zone)?;
                (deadline_ms >= expected_ms).then_some(WaitBucket { kind, deadline_ms })
            })
            .min_by_key(|bucket| (bucket.deadline_ms, bucket.kind))
    }

    /// What the client is told, in English.
    pub fn english(&self) -> &'static str {
        self.kind.english()
    }
}
