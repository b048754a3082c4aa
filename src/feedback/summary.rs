//! The ratings aggregated by intent and by queue: how many, mean CSAT and the share satisfied
//! (CSAT 4 or 5), mean CES and the share who found it easy (CES 5 or more, of those who gave
//! one), and how many left a comment. Both stores aggregate through [`FeedbackSummary::of`], so
//! the figures are computed one way.

use std::collections::BTreeMap;

use super::FeedbackRecord;

/// The group of the ratings of inquiries answered automatically, in the summary by queue.
pub const AUTOMATIC: &str = "(automatic)";

/// The figures of one group of ratings.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The intent, or the queue ([`AUTOMATIC`] for automatic answers).
    pub key: String,
    pub count: u64,
    pub mean_csat: f64,
    /// The share of ratings with CSAT 4 or 5.
    pub satisfied_share: f64,
    /// How many ratings gave a CES.
    pub ces_count: u64,
    /// The mean CES of those that gave one; none when none did.
    pub mean_ces: Option<f64>,
    /// The share of those that gave a CES with 5 or more; none when none did.
    pub easy_share: Option<f64>,
    /// How many ratings came with a comment.
    pub comments: u64,
}

/// The ratings by intent and by queue, each sorted by its key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackSummary {
    pub by_intent: Vec<SummaryRow>,
    pub by_queue: Vec<SummaryRow>,
}

/// Running sums of one group.
#[derive(Default)]
struct Tally {
    count: u64,
    csat_sum: u64,
    satisfied: u64,
    ces_count: u64,
    ces_sum: u64,
    easy: u64,
    comments: u64,
}

impl Tally {
    fn add(&mut self, record: &FeedbackRecord) {
        let rating = &record.rating;
        self.count += 1;
        self.csat_sum += u64::from(rating.csat);
        self.satisfied += u64::from(rating.csat >= 4);
        if let Some(ces) = rating.ces {
            self.ces_count += 1;
            self.ces_sum += u64::from(ces);
            self.easy += u64::from(ces >= 5);
        }
        self.comments += u64::from(rating.comment.is_some());
    }

    fn row(self, key: String) -> SummaryRow {
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        SummaryRow {
            key,
            count: self.count,
            mean_csat: share(self.csat_sum, self.count).unwrap_or(0.0),
            satisfied_share: share(self.satisfied, self.count).unwrap_or(0.0),
            ces_count: self.ces_count,
            mean_ces: share(self.ces_sum, self.ces_count),
            easy_share: share(self.easy, self.ces_count),
            comments: self.comments,
        }
    }
}

impl FeedbackSummary {
    /// The summary of `records` (each inquiry's rating once).
    pub fn of<'a>(records: impl IntoIterator<Item = &'a FeedbackRecord>) -> Self {
        let mut by_intent: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_queue: BTreeMap<String, Tally> = BTreeMap::new();
        for record in records {
            by_intent
                .entry(record.intent.clone())
                .or_default()
                .add(record);
            let queue = record.queue.as_deref().unwrap_or(AUTOMATIC);
            by_queue.entry(queue.to_owned()).or_default().add(record);
        }
        let rows = |groups: BTreeMap<String, Tally>| {
            groups
                .into_iter()
                .map(|(key, tally)| tally.row(key))
                .collect()
        };
        Self {
            by_intent: rows(by_intent),
            by_queue: rows(by_queue),
        }
    }
}
