//! The dates and times of the status data, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC), on
//! `jiff`: strict parsing (only those two forms, written exactly so), comparing against the
//! moment an inquiry arrived, moving by whole days, and writing them out for people ("Friday 28
//! November 2026").

use std::cmp::Ordering;
use std::fmt;

use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use jiff::{SignedDuration, Span};

/// How a date-time of the status data is written: RFC 3339 in UTC, to the second.
const DATE_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A calendar date, or an instant when the text gave a UTC time of day.
///
/// The order is total: a date alone sorts before any time on that day. [`Self::cmp_at`] is the
/// comparison to use against the moment of an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// A day, without a time ("due on the 28th").
    Date(Date),
    /// An instant ("starts at 14:30 UTC on the 24th").
    Instant(jiff::Timestamp),
}

impl Timestamp {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`; `None` for anything else, including
    /// impossible dates (2026-02-30), other offsets, fractions of a second and unpadded fields.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(date) = text.parse::<Date>() {
            return (date.to_string() == text).then_some(Self::Date(date));
        }
        let instant = text.parse::<jiff::Timestamp>().ok()?;
        (instant.strftime(DATE_TIME_FORMAT).to_string() == text).then_some(Self::Instant(instant))
    }

    /// The UTC day it falls on.
    pub fn date(&self) -> Date {
        match self {
            Self::Date(date) => *date,
            Self::Instant(instant) => utc_date(*instant),
        }
    }

    /// The instant it starts at: a date alone starts at midnight UTC.
    pub fn start(&self) -> jiff::Timestamp {
        match self {
            Self::Instant(instant) => *instant,
            Self::Date(date) => Offset::UTC
                .to_timestamp(DateTime::from(*date))
                .unwrap_or(jiff::Timestamp::MIN),
        }
    }

    /// Milliseconds since the Unix epoch of [`Self::start`].
    pub fn unix_ms(&self) -> i64 {
        self.start().as_millisecond()
    }

    /// Compares it with the moment `at`; a date alone compares by day, so a deadline "on the
    /// 20th" is not yet past at 09:00 on the 20th.
    pub fn cmp_at(&self, at: jiff::Timestamp) -> Ordering {
        match self {
            Self::Date(date) => date.cmp(&utc_date(at)),
            Self::Instant(instant) => instant.cmp(&at),
        }
    }

    /// The same moment `days` whole days later (earlier when negative), keeping the time of
    /// day; `None` past the supported range of years.
    pub fn shifted_by_days(&self, days: i64) -> Option<Self> {
        match self {
            Self::Date(date) => date
                .checked_add(Span::new().try_days(days).ok()?)
                .ok()
                .map(Self::Date),
            Self::Instant(instant) => {
                let hours = days.checked_mul(24)?;
                instant
                    .checked_add(SignedDuration::from_hours(hours))
                    .ok()
                    .map(Self::Instant)
            }
        }
    }

    /// The date for people: "Friday 28 November 2026".
    pub fn readable_date(&self) -> String {
        self.date().strftime("%A %-d %B %Y").to_string()
    }

    /// The date and, when there is one, the time for people: "Tuesday 24 November 2026 at
    /// 14:30 UTC".
    pub fn readable_date_time(&self) -> String {
        match self {
            Self::Date(_) => self.readable_date(),
            Self::Instant(instant) => {
                let time = Offset::UTC.to_datetime(*instant).time();
                format!("{} at {} UTC", self.readable_date(), time.strftime("%H:%M"))
            }
        }
    }

    /// The key of the total order: the day, then the instant (none first).
    fn order_key(&self) -> (Date, Option<jiff::Timestamp>) {
        match self {
            Self::Date(date) => (*date, None),
            Self::Instant(instant) => (utc_date(*instant), Some(*instant)),
        }
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Timestamp {
    /// Writes the timestamp back in the form it was parsed from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Date(date) => write!(f, "{date}"),
            Self::Instant(instant) => write!(f, "{}", instant.strftime(DATE_TIME_FORMAT)),
        }
    }
}

/// The instant `ms` milliseconds after the Unix epoch, clamped to the years jiff supports.
pub fn instant_from_unix_ms(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// The UTC day of `instant`.
pub(crate) fn utc_date(instant: jiff::Timestamp) -> Date {
    Offset::UTC.to_datetime(instant).date()
}

/// A span of time for people, rounded down: "3 days", "1 day", "5 hours", "1 hour", "0 hours".
pub(crate) fn readable_age(age: SignedDuration) -> String {
    let hours = age.as_hours().max(0);
    let (count, unit) = if hours >= 48 {
        (hours / 24, "day")
    } else {
        (hours, "hour")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("valid timestamp")
    }

    fn instant(text: &str) -> jiff::Timestamp {
        text.parse().expect("valid instant")
    }

    /// Both documented forms parse and print back unchanged.
    #[test]
    fn round_trips_both_forms() {
        for text in [
            "2026-11-28",
            "2026-11-20T09:00:00Z",
            "2024-02-29",
            "1999-12-31T23:59:59Z",
        ] {
            assert_eq!(ts(text).to_string(), text);
        }
    }

    /// Anything but the two strict forms, and impossible dates, are refused.
    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for text in [
            "",
            "2026-11-2",
            "2026/11/28",
            "20261128",
            "2026-13-01",
            "2026-00-10",
            "2026-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-11-20T24:00:00Z",
            "2026-11-20T09:00:00",
            "2026-11-20 09:00:00Z",
            "2026-11-20T09:60:00Z",
            "2026-11-20T09:00Z",
            "2026-11-20T09:00:00.5Z",
            "2026-11-20T09:00:00+01:00",
            "2026-11-20T09:00:00z",
            "+026-11-20",
            "+002026-11-20",
            "２０２６-11-20",
        ] {
            assert_eq!(Timestamp::parse(text), None, "{text}");
        }
    }

    /// Weekdays are right across months, leap years and centuries.
    #[test]
    fn names_the_weekday() {
        assert_eq!(
            ts("2026-11-28").readable_date(),
            "Saturday 28 November 2026"
        );
        assert_eq!(ts("2026-11-27").readable_date(), "Friday 27 November 2026");
        assert_eq!(ts("1970-01-01").readable_date(), "Thursday 1 January 1970");
        assert_eq!(ts("2000-02-29").readable_date(), "Tuesday 29 February 2000");
        assert_eq!(ts("2024-03-01").readable_date(), "Friday 1 March 2024");
        assert_eq!(ts("2027-01-04").readable_date(), "Monday 4 January 2027");
    }

    /// A time is shown in 24-hour UTC form; a date alone stays a date.
    #[test]
    fn writes_times_for_people() {
        assert_eq!(
            ts("2026-11-24T14:30:00Z").readable_date_time(),
            "Tuesday 24 November 2026 at 14:30 UTC"
        );
        assert_eq!(
            ts("2026-11-24").readable_date_time(),
            "Tuesday 24 November 2026"
        );
    }

    /// A bare date compares by day against a moment; an instant compares fully.
    #[test]
    fn a_bare_date_compares_by_day() {
        let now = instant("2026-11-20T09:00:00Z");
        assert_eq!(ts("2026-11-20").cmp_at(now), Ordering::Equal);
        assert_eq!(ts("2026-11-19").cmp_at(now), Ordering::Less);
        assert_eq!(ts("2026-11-20T08:59:59Z").cmp_at(now), Ordering::Less);
        assert_eq!(ts("2026-11-20T09:00:00Z").cmp_at(now), Ordering::Equal);
        assert_eq!(ts("2026-11-21").cmp_at(now), Ordering::Greater);
        assert!(ts("2026-11-20") < ts("2026-11-20T00:00:00Z"));
        assert!(ts("2026-11-20T23:00:00Z") < ts("2026-11-21"));
    }

    /// Moving by days keeps the time of day and crosses months and leap days.
    #[test]
    fn shifts_by_whole_days() {
        let moved = |text: &str, days: i64| {
            ts(text)
                .shifted_by_days(days)
                .expect("in range")
                .to_string()
        };
        assert_eq!(moved("2026-11-28", 14), "2026-12-12");
        assert_eq!(moved("2024-02-28", 1), "2024-02-29");
        assert_eq!(moved("2026-11-24T14:30:00Z", -30), "2026-10-25T14:30:00Z");
        assert_eq!(moved("2026-11-24T14:30:00Z", 0), "2026-11-24T14:30:00Z");
        assert_eq!(ts("9999-12-31").shifted_by_days(1), None);
    }

    /// Starts and Unix times: a date starts at midnight UTC.
    #[test]
    fn starts_and_unix_times() {
        assert_eq!(ts("2026-11-20T09:00:00Z").unix_ms(), 1_795_165_200_000);
        assert_eq!(ts("2026-11-20").unix_ms(), 1_795_132_800_000);
        assert_eq!(ts("1970-01-01").unix_ms(), 0);
        assert_eq!(ts("2026-11-20T23:30:00Z").date(), ts("2026-11-20").date());
    }

    /// Unix milliseconds convert both ways, clamped beyond the supported years.
    #[test]
    fn instants_from_unix_milliseconds() {
        assert_eq!(
            instant_from_unix_ms(1_795_165_200_000),
            instant("2026-11-20T09:00:00Z")
        );
        assert_eq!(instant_from_unix_ms(i64::MAX), jiff::Timestamp::MAX);
        assert_eq!(instant_from_unix_ms(i64::MIN), jiff::Timestamp::MIN);
    }

    /// Ages read in hours below two days, in days from there, never negative.
    #[test]
    fn ages_for_people() {
        assert_eq!(readable_age(SignedDuration::from_hours(1)), "1 hour");
        assert_eq!(readable_age(SignedDuration::from_mins(150)), "2 hours");
        assert_eq!(readable_age(SignedDuration::from_hours(47)), "47 hours");
        assert_eq!(readable_age(SignedDuration::from_hours(48)), "2 days");
        assert_eq!(
            readable_age(SignedDuration::from_hours(24 * 14 + 5)),
            "14 days"
        );
        assert_eq!(readable_age(SignedDuration::from_hours(-3)), "0 hours");
    }
}
