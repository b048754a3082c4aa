//! The dates and times of the status data, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC): strict
//! parsing, comparing, and writing them out for people ("Friday 28 November 2026").

use std::cmp::Ordering;
use std::fmt;

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar date, with a UTC time of day when the text gave one.
///
/// The derived order is total (a date alone sorts before any time on that day); `cmp_loose`
/// is the comparison to use against "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    year: u16,
    month: u8,
    day: u8,
    /// Hours, minutes and seconds, when the text had a time.
    time: Option<(u8, u8, u8)>,
}

impl Timestamp {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`; `None` for anything else, including
    /// impossible dates such as 2026-02-30.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let (date, time) = match bytes.len() {
            10 => (bytes, None),
            20 if bytes[10] == b'T' && bytes[19] == b'Z' => (&bytes[..10], Some(&bytes[11..19])),
            _ => return None,
        };
        if date[4] != b'-' || date[7] != b'-' {
            return None;
        }
        let year = u16::try_from(number(&date[..4])?).ok()?;
        let month = u8::try_from(number(&date[5..7])?).ok()?;
        let day = u8::try_from(number(&date[8..10])?).ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let time = match time {
            None => None,
            Some(time) => {
                if time[2] != b':' || time[5] != b':' {
                    return None;
                }
                let hour = u8::try_from(number(&time[..2])?).ok()?;
                let minute = u8::try_from(number(&time[3..5])?).ok()?;
                let second = u8::try_from(number(&time[6..8])?).ok()?;
                if hour > 23 || minute > 59 || second > 59 {
                    return None;
                }
                Some((hour, minute, second))
            }
        };
        Some(Self {
            year,
            month,
            day,
            time,
        })
    }

    /// Compares the dates alone when either side has no time of day, so a deadline "on the
    /// 20th" counts as not yet past at 09:00 on the 20th.
    pub fn cmp_loose(&self, other: &Self) -> Ordering {
        let dates = (self.year, self.month, self.day).cmp(&(other.year, other.month, other.day));
        match (self.time, other.time) {
            (Some(mine), Some(theirs)) => dates.then(mine.cmp(&theirs)),
            _ => dates,
        }
    }

    /// The date for people: "Friday 28 November 2026".
    pub fn readable_date(&self) -> String {
        let weekday = WEEKDAYS[self.weekday()];
        let month = MONTHS[usize::from(self.month - 1)];
        format!("{weekday} {} {month} {}", self.day, self.year)
    }

    /// The date and, when there is one, the time for people: "Tuesday 24 November 2026 at
    /// 14:30 UTC".
    pub fn readable_date_time(&self) -> String {
        match self.time {
            Some((hour, minute, _)) => {
                format!("{} at {hour:02}:{minute:02} UTC", self.readable_date())
            }
            None => self.readable_date(),
        }
    }

    /// Monday = 0 ... Sunday = 6, from the days since 1970-01-01 (a Thursday).
    fn weekday(&self) -> usize {
        // Howard Hinnant's days_from_civil, with March as the first month of the year.
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        let days = era * 146_097 + day_of_era - 719_468;
        // The remainder is in 0..7, so the conversion cannot fail.
        usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
    }
}

impl fmt::Display for Timestamp {
    /// Writes the timestamp back in the form it was parsed from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if let Some((hour, minute, second)) = self.time {
            write!(f, "T{hour:02}:{minute:02}:{second:02}Z")?;
        }
        Ok(())
    }
}

/// The value of a run of ASCII digits, `None` if any byte is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("valid timestamp")
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
            "2026-13-01",
            "2026-00-10",
            "2026-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-11-20T24:00:00Z",
            "2026-11-20T09:00:00",
            "2026-11-20 09:00:00Z",
            "2026-11-20T09:60:00Z",
            "+026-11-20",
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

    /// A bare date compares by day against a time; two times compare fully.
    #[test]
    fn loose_comparison_ignores_time_against_a_bare_date() {
        let now = ts("2026-11-20T09:00:00Z");
        assert_eq!(ts("2026-11-20").cmp_loose(&now), Ordering::Equal);
        assert_eq!(ts("2026-11-20T08:59:59Z").cmp_loose(&now), Ordering::Less);
        assert_eq!(ts("2026-11-21").cmp_loose(&now), Ordering::Greater);
        assert!(ts("2026-11-20") < ts("2026-11-20T00:00:00Z"));
    }
}
