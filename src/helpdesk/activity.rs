//! The helpdesk's activity over a time range, for the team lead: the inquiries decided, by
//! tier, intent and channel; how many were answered automatically (deflection), queued for a
//! person and why a person answers where the model would have (escalations), and the closing
//! remarks that needed no reply. Counted from the decisions the queue stored, whichever backend
//! holds them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Caller, Helpdesk, HelpdeskError};
use crate::intake::{Decision, Disposition};

/// The most decisions one report reads: the latest of a busier range are counted, and the
/// report says it was cut ([`Activity::truncated`]).
pub const MAX_ACTIVITY_DECISIONS: usize = 50_000;

/// How many decisions share one value (an intent, a channel, a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

/// The decisions of a time range counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// The range's start, in Unix milliseconds; it runs to now.
    pub since_ms: i64,
    /// Every decision counted: answers, tickets, follow-ups attached to a ticket, no replies.
    pub decisions: u64,
    /// More decisions were stored in the range than [`MAX_ACTIVITY_DECISIONS`]: the latest of
    /// them are counted.
    pub truncated: bool,
    /// By tier (`direct`, `expert`), the most first.
    pub by_tier: Vec<Count>,
    /// By intent, the most first.
    pub by_intent: Vec<Count>,
    /// By channel (`web`, `email`, ...), the most first.
    pub by_channel: Vec<Count>,
    /// Answered automatically from the client's data.
    pub answered: u64,
    /// Queued for a person on a ticket of their own.
    pub queued: u64,
    /// Follow-ups attached to their thread's open ticket.
    pub attached: u64,
    /// Tickets queued because a person must answer where the model would not have sent it (by
    /// the escalation's kind: `low_confidence`, `no_data`, ...), the most first.
    pub escalations: Vec<Count>,
    /// Inquiries that needed no reply (closing remarks), by the reason's kind, the most first.
    pub no_reply: Vec<Count>,
}

impl Activity {
    /// Counts `decisions` decided at or after `since_ms`.
    pub fn of<'a>(since_ms: i64, decisions: impl IntoIterator<Item = &'a Decision>) -> Self {
        let mut tallies = Tallies::default();
        let mut activity = Self {
            since_ms,
            ..Self::default()
        };
        for decision in decisions {
            if decision.decided_ms < since_ms {
                continue;
            }
            activity.decisions += 1;
            tallies.tier.add(decision.classification.tier.as_str());
            tallies.intent.add(&decision.classification.intent);
            tallies.channel.add(decision.channel.as_str());
            match &decision.outcome {
                Disposition::Answered(_) => activity.answered += 1,
                Disposition::Queued(ticket) => {
                    activity.queued += 1;
                    if let Some(escalation) = &ticket.escalation {
                        tallies.escalation.add(&escalation.kind);
                    }
                }
                Disposition::Attached(_) => activity.attached += 1,
                Disposition::NoReply(no_reply) => tallies.no_reply.add(&no_reply.reason_kind),
            }
        }
        activity.by_tier = tallies.tier.most_first();
        activity.by_intent = tallies.intent.most_first();
        activity.by_channel = tallies.channel.most_first();
        activity.escalations = tallies.escalation.most_first();
        activity.no_reply = tallies.no_reply.most_first();
        activity
    }

    /// The share of the inquiries that needed a reply which were answered automatically (the
    /// rest went to a person); none when no inquiry needed one.
    pub fn deflection(&self) -> Option<f64> {
        let needing_reply = self.answered + self.queued + self.attached;
        (needing_reply > 0).then(|| self.answered as f64 / needing_reply as f64)
    }

    /// How many needed no reply.
    pub fn no_reply_total(&self) -> u64 {
        self.no_reply.iter().map(|count| count.count).sum()
    }
}

/// Counts by value, kept sorted by value so that ties list alphabetically.
#[derive(Default)]
struct Tally(std::collections::BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, key: &str) {
        *self.0.entry(key.to_owned()).or_default() += 1;
    }

    fn most_first(self) -> Vec<Count> {
        let mut counts: Vec<Count> = self
            .0
            .into_iter()
            .map(|(key, count)| Count { key, count })
            .collect();
        counts.sort_by_key(|count| std::cmp::Reverse(count.count));
        counts
    }
}

#[derive(Default)]
struct Tallies {
    tier: Tally,
    intent: Tally,
    channel: Tally,
    escalation: Tally,
    no_reply: Tally,
}

/// The start of the day `now_ms` falls on in `zone` (its local midnight, or the day's first
/// instant where midnight is skipped), in Unix milliseconds.
pub fn start_of_day_ms(now_ms: i64, zone: &TimeZone) -> i64 {
    let start = Timestamp::from_millisecond(now_ms)
        .ok()
        .and_then(|now| now.to_zoned_datetime(zone.clone()).start_of_day().ok());
    // An instant jiff cannot place (beyond year 9999) has no day to start: count from it.
    start.map_or(now_ms, |start| start.timestamp().as_millisecond())
}

impl Helpdesk {
    /// The activity since `since_ms` (admins only).
    pub async fn activity(
        &self,
        caller: &Caller,
        since_ms: i64,
    ) -> Result<Activity, HelpdeskError> {
        caller.check_role(&[], "read the activity report")?;
        let stored = self
            .queue
            .decisions_since(since_ms, MAX_ACTIVITY_DECISIONS)
            .await?;
        let mut activity = Activity::of(since_ms, stored.iter().map(|stored| &stored.decision));
        activity.truncated = stored.len() >= MAX_ACTIVITY_DECISIONS;
        Ok(activity)
    }

    /// A receiver that fires on every new decision this replica records (an answer's is
    /// written moments later): when the activity report has more to count.
    pub fn decisions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.decided.subscribe()
    }

    /// Today's activity (admins only): since local midnight in the pack's time zone.
    pub async fn activity_today(&self, caller: &Caller) -> Result<Activity, HelpdeskError> {
        let since_ms = start_of_day_ms(self.now_ms(), &self.time_zone);
        self.activity(caller, since_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The day starts at local midnight of the zone, which moves with daylight saving time.
    #[test]
    fn the_day_starts_at_local_midnight() {
        let ms = |text: &str| text.parse::<Timestamp>().unwrap().as_millisecond();
        let now = ms("2026-07-01T21:30:00Z");
        assert_eq!(
            start_of_day_ms(now, &TimeZone::UTC),
            ms("2026-07-01T00:00:00Z")
        );
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        // 23:30 in Berlin (summer time, UTC+2): the day began at 22:00 UTC the day before.
        assert_eq!(start_of_day_ms(now, &berlin), ms("2026-06-30T22:00:00Z"));
        let winter = ms("2026-12-01T23:30:00Z");
        assert_eq!(start_of_day_ms(winter, &berlin), ms("2026-12-01T23:00:00Z"));
    }
}
