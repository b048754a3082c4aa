//! How old status data may be when an answer is read from it: older than the pack's
//! `as_of_note_after_hours` and the answer says when the data is from; older than
//! `max_age_hours` and a person answers instead, told why (`stale_data`). The age is the time
//! from the data's `as_of` to the inquiry's receive time; data newer than the inquiry is fresh.

use jiff::SignedDuration;

use super::date::{Timestamp, readable_age};
use super::rendered::NoAnswer;
use crate::pack::StatusSettings;

/// The pack's limits on the age of the data answers are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Freshness {
    note_after: SignedDuration,
    max_age: SignedDuration,
}

/// What the age of the data means for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Age {
    /// Recent enough to answer without saying when the data is from.
    Fresh,
    /// Answered, saying when the data is from.
    Dated,
    /// Too old to answer from.
    Stale(NoAnswer),
}

impl Freshness {
    pub(crate) fn new(settings: &StatusSettings) -> Self {
        let hours = |hours: u64| {
            SignedDuration::from_hours(i64::try_from(hours).unwrap_or(i64::MAX / 3600))
        };
        Self {
            note_after: hours(settings.as_of_note_after_hours),
            max_age: hours(settings.max_age_hours),
        }
    }

    /// What data taken at `as_of` is worth for an inquiry received at `at`.
    pub(crate) fn age(&self, as_of: Timestamp, at: jiff::Timestamp) -> Age {
        let age = at.duration_since(as_of.start());
        if age > self.max_age {
            Age::Stale(NoAnswer::StaleData {
                as_of: as_of.readable_date_time(),
                age: readable_age(age),
                max_age: readable_age(self.max_age),
            })
        } else if age > self.note_after {
            Age::Dated
        } else {
            Age::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fresh up to the note's age, dated up to the maximum, stale beyond; newer data is fresh.
    #[test]
    fn ages_against_the_pack_limits() {
        let freshness = Freshness::new(&StatusSettings {
            as_of_note_after_hours: 24,
            max_age_hours: 168,
            shift_to_today: false,
        });
        let as_of = Timestamp::parse("2026-11-20T09:00:00Z").expect("date");
        let age = |at: &str| freshness.age(as_of, at.parse().expect("instant"));
        assert_eq!(age("2026-11-19T09:00:00Z"), Age::Fresh);
        assert_eq!(age("2026-11-21T09:00:00Z"), Age::Fresh);
        assert_eq!(age("2026-11-21T09:00:01Z"), Age::Dated);
        assert_eq!(age("2026-11-27T09:00:00Z"), Age::Dated);
        assert_eq!(
            age("2026-12-04T10:00:00Z"),
            Age::Stale(NoAnswer::StaleData {
                as_of: "Friday 20 November 2026 at 09:00 UTC".into(),
                age: "14 days".into(),
                max_age: "7 days".into(),
            })
        );
        let date_only = Timestamp::parse("2026-11-20").expect("date");
        assert_eq!(
            freshness.age(date_only, "2026-11-21T01:00:00Z".parse().expect("instant")),
            Age::Dated,
            "a date alone is as of its midnight"
        );
    }
}
