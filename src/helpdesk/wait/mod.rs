//! The expected wait told to a client whose inquiry goes to a specialist queue, and a record of
//! how well it is kept.
//!
//! [`WaitEstimator::estimate`] reads the recent resolution times of the same queue and priority
//! (the queue's other priorities pooled when that priority has too few), each weighted by
//! `2^(-age / half-life)` and by how near the time of day it was queued is to now's (in the
//! clients' zone: specialists keep office hours), and takes a high weighted quantile of them: "within X" is a promise
//! that should hold most of the time, which a mean (kept about half the time) is not. The time
//! already waited is taken off. When the caller knows the backlog ahead of the ticket, Little's
//! law adds a second reading, backlog ÷ the queue's recent answer rate, and the larger one is
//! told: in a burst, the queue fills long before the resolutions show it. Too little recent data
//! (a small effective sample size, or no resolution for days) withholds the estimate.
//!
//! The estimate is told as a [`WaitBucket`] ("within 2 hours", "by tomorrow noon") in the
//! clients' time zone, never earlier than the estimate. [`WaitEstimator::told`] and
//! [`WaitEstimator::answered`] keep score: `triage_wait_told_total` and
//! `triage_wait_kept_total` by queue and bucket, and [`WaitEstimator::calibration`] (told,
//! answered, kept, overdue and the share kept, by queue and bucket).
//!
//! Pure and in memory: nothing here reads a clock or a file; every instant is a parameter in ms
//! since the Unix epoch. `benches/wait_estimate.rs` simulates queues to measure it.

mod bucket;
mod calibration;
mod history;

#[cfg(test)]
mod tests;

pub use bucket::{WaitBucket, WaitBucketKind};
pub use calibration::{QueueCalibration, WaitScore};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::telemetry::Metrics;
use calibration::Calibration;
use history::{History, WeightedWaits, Weighting};

/// How estimates are made. [`WaitSettings::default`] documents and justifies each default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitSettings {
    /// The age at which a resolution weighs half as much as a new one.
    pub half_life: Duration,
    /// When set, a resolution queued this far from now's time of day (in the clients' zone)
    /// weighs half as much again, a quarter at twice as far, and so on: for queues whose
    /// specialists keep office hours. `None` ignores the time of day.
    pub time_of_day_width: Option<Duration>,
    /// The share of tickets that should be answered within the estimate, in `(0, 1)`.
    pub quantile: f64,
    /// The least effective sample size, `(Σw)² / Σw²`, an estimate is made from.
    pub min_effective_samples: f64,
    /// No estimate when the newest resolution is older than this.
    pub max_silence: Duration,
    /// The most resolutions kept per queue and priority.
    pub resolutions_kept: usize,
    /// The span over which the answer rate, for the backlog reading, is counted.
    pub rate_window: Duration,
    /// The fewest answers in `rate_window` that the rate is trusted on.
    pub min_rate_answers: usize,
}

impl WaitSettings {
    /// How far back resolutions count: seven half-lives (a weight under 1 %), and never less
    /// than `max_silence`, within which an estimate needs a resolution. What is read back from
    /// the store at start.
    pub fn look_back(&self) -> Duration {
        self.half_life.saturating_mul(7).max(self.max_silence)
    }
}

impl Default for WaitSettings {
    /// - `half_life` 1 day and `time_of_day_width` 2 hours: a ticket is judged by the ones
    ///   queued at about the same time of day, yesterday's counting half as much as today's and
    ///   last week's less than 1 %. Specialists keep office hours, so an inquiry at 19:00 waits
    ///   for the morning and one at 10:00 does not; pooling them tells both the same. In the
    ///   simulation (`benches/wait_estimate.rs`: a business day with a morning peak, surging on
    ///   some days) the time of day cut the mean error from 270 to 194 minutes and the mean
    ///   promise from 12.2 to 10.7 hours with as many promises kept (91–92 %); in a steady
    ///   round-the-clock queue it cost a point of that share. A half-life of 8 hours left 18 %
    ///   of the tickets without an estimate (too few effective samples at each hour), one of
    ///   3 days made longer promises (11.9 hours).
    /// - `quantile` 0.8: the estimate a ticket should be answered within 80 % of the time;
    ///   rounding up to the bucket adds margin, so 86–92 % of the buckets told were kept in the
    ///   simulation's three scenarios (0.7 kept 80–87 %, 0.9 kept 92–95 % with promises a
    ///   third longer).
    /// - `min_effective_samples` 10: below it a quantile of the tail is read off one or two
    ///   tickets.
    /// - `max_silence` 4 days: a queue quiet over a long weekend still has an estimate on
    ///   Tuesday; one quiet for longer has a different pace, or none.
    /// - `resolutions_kept` 512 per queue and priority: past a week of a busy queue, whose
    ///   weight at a one-day half-life is below 1 %.
    /// - `rate_window` 2 hours and `min_rate_answers` 5: the answer rate of the current shift.
    ///   With the backlog read, 92 % of the promises in the simulated bursty queue were kept,
    ///   87 % without it.
    fn default() -> Self {
        Self {
            half_life: Duration::from_secs(24 * 3600),
            time_of_day_width: Some(Duration::from_secs(2 * 3600)),
            quantile: 0.8,
            min_effective_samples: 10.0,
            max_silence: Duration::from_secs(4 * 24 * 3600),
            resolutions_kept: 512,
            rate_window: Duration::from_secs(2 * 3600),
            min_rate_answers: 5,
        }
    }
}

/// An expected wait, ready to be told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitEstimate {
    /// The expected time still to wait, in ms (the quantile, less the time waited, or the
    /// backlog reading): never negative.
    pub wait_ms: i64,
    /// The promise told: its kind and its deadline.
    pub bucket: WaitBucket,
    /// Whether the ticket's priority had too few resolutions and the queue's other
    /// priorities were pooled in.
    pub fell_back: bool,
    /// Whether the backlog reading (Little's law) was the larger one and was told.
    pub from_backlog: bool,
    /// How many equally weighted resolutions the estimate is worth.
    pub effective_samples: f64,
}

impl WaitEstimate {
    /// What the client is told, in English.
    pub fn english(&self) -> &'static str {
        self.bucket.english()
    }
}

/// The resolutions of one queue, by priority.
type QueueHistory = BTreeMap<u8, History>;

/// Expected waits per queue and priority, and how well they are kept. Shared between tasks
/// (`&self` everywhere); an estimate reads at most `resolutions_kept` resolutions per priority
/// of the queue.
pub struct WaitEstimator {
    settings: WaitSettings,
    zone: TimeZone,
    metrics: Arc<Metrics>,
    queues: RwLock<HashMap<String, QueueHistory>>,
    calibration: Mutex<Calibration>,
}

impl WaitEstimator {
    /// An estimator with [`WaitSettings::default`], telling day-based buckets in `zone` (the
    /// pack's `time_zone`) and counting waits told and kept in `metrics`.
    pub fn new(zone: TimeZone, metrics: Arc<Metrics>) -> Self {
        Self::with_settings(WaitSettings::default(), zone, metrics)
    }

    /// An estimator with the given settings.
    pub fn with_settings(settings: WaitSettings, zone: TimeZone, metrics: Arc<Metrics>) -> Self {
        Self {
            settings,
            zone,
            metrics,
            queues: RwLock::new(HashMap::new()),
            calibration: Mutex::new(Calibration::default()),
        }
    }

    /// The settings estimates are made with.
    pub fn settings(&self) -> &WaitSettings {
        &self.settings
    }

    /// Feeds the resolution of a ticket of `priority` on `queue`, queued at `queued_ms` and
    /// answered at `answered_ms`. A resolution answered before it was queued (clocks apart)
    /// counts as no wait.
    pub fn observe(&self, queue: &str, priority: u8, queued_ms: i64, answered_ms: i64) {
        let wait_ms = answered_ms.saturating_sub(queued_ms).max(0);
        let queued_minute = self.minute_of_day(queued_ms);
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        queues
            .entry(queue.to_owned())
            .or_default()
            .entry(priority)
            .or_insert_with(|| History::new(self.settings.resolutions_kept))
            .push(answered_ms, wait_ms, queued_minute);
    }

    /// The minute of the day at `ms` in the clients' zone; 0 outside the times jiff represents.
    fn minute_of_day(&self, ms: i64) -> u16 {
        Timestamp::from_millisecond(ms).map_or(0, |instant| {
            let time = instant.to_zoned_datetime(self.zone.clone()).time();
            (i16::from(time.hour()) * 60 + i16::from(time.minute())) as u16
        })
    }

    /// The expected time to answer a ticket of `priority` on `queue` at `now_ms`, which has
    /// already waited `waited_ms`, with `backlog_ahead` ready tickets ahead of it if known;
    /// `None` (withheld) when the queue has too little recent data or the wait is longer than
    /// a week. The time of day compared is the one the ticket was queued at.
    pub fn estimate(
        &self,
        queue: &str,
        priority: u8,
        now_ms: i64,
        waited_ms: i64,
        backlog_ahead: Option<u64>,
    ) -> Option<WaitEstimate> {
        let waited_ms = waited_ms.max(0);
        let queued_minute = self.minute_of_day(now_ms.saturating_sub(waited_ms));
        let weighting = Weighting {
            now_ms,
            half_life_ms: self.settings.half_life.as_millis() as f64,
            time_of_day: self
                .settings
                .time_of_day_width
                .map(|width| (queued_minute, width.as_secs_f64() / 60.0)),
        };
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        let priorities = queues.get(queue)?;
        let mut waits = WeightedWaits::default();
        if let Some(history) = priorities.get(&priority) {
            waits.add(history, &weighting);
        }
        let fell_back = !self.enough(&waits);
        if fell_back {
            waits = WeightedWaits::default();
            for history in priorities.values() {
                waits.add(history, &weighting);
            }
            if !self.enough(&waits) {
                return None;
            }
        }
        let quantile_wait_ms = waits
            .quantile(self.settings.quantile)?
            .saturating_sub(waited_ms)
            .max(0);
        let backlog_wait_ms = backlog_ahead
            .and_then(|ahead| self.backlog_wait_ms(priorities, now_ms, ahead))
            .unwrap_or(0);
        let from_backlog = backlog_wait_ms > quantile_wait_ms;
        let wait_ms = quantile_wait_ms.max(backlog_wait_ms);
        let bucket = WaitBucket::for_wait(now_ms, wait_ms, &self.zone)?;
        Some(WaitEstimate {
            wait_ms,
            bucket,
            fell_back,
            from_backlog,
            effective_samples: waits.effective_size(),
        })
    }

    /// Whether `waits` are recent and many enough to estimate from.
    fn enough(&self, waits: &WeightedWaits) -> bool {
        let max_silence_ms = self.settings.max_silence.as_millis() as i64;
        waits
            .newest_age_ms()
            .is_some_and(|age_ms| age_ms <= max_silence_ms)
            && waits.effective_size() >= self.settings.min_effective_samples
    }

    /// Little's law: the time for the queue to answer the `ahead` tickets before this one and
    /// this one at its recent answer rate (all priorities). `None` when too few answers were
    /// counted in the rate window to trust the rate.
    fn backlog_wait_ms(&self, priorities: &QueueHistory, now_ms: i64, ahead: u64) -> Option<i64> {
        let window_ms = self.settings.rate_window.as_millis() as i64;
        let since_ms = now_ms.saturating_sub(window_ms);
        let answers: usize = priorities
            .values()
            .map(|history| history.answered_between(since_ms, now_ms))
            .sum();
        if answers < self.settings.min_rate_answers.max(1) {
            return None;
        }
        let wait = (ahead as f64 + 1.0) * window_ms as f64 / answers as f64;
        Some(wait.min(i64::MAX as f64) as i64)
    }

    /// Records that `ticket_id` on `queue` was told `bucket`, for [`WaitEstimator::answered`]
    /// to judge; counts it in `triage_wait_told_total`.
    pub fn told(&self, ticket_id: u64, queue: &str, bucket: WaitBucket) {
        self.calibration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .told(ticket_id, queue, bucket);
        self.metrics.observe_wait_told(queue, bucket.kind.label());
    }

    /// Records that `ticket_id` was answered at `answered_ms`: whether the wait it was told was
    /// kept (answered by its deadline), counted in `triage_wait_kept_total`; `None` for a
    /// ticket that was told nothing.
    pub fn answered(&self, ticket_id: u64, answered_ms: i64) -> Option<bool> {
        let (queue, bucket, kept) = self
            .calibration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .answered(ticket_id, answered_ms)?;
        if kept {
            self.metrics.observe_wait_kept(&queue, bucket.label());
        }
        Some(kept)
    }

    /// Expected waits told, answered, kept and overdue as of `now_ms`, by queue and then
    /// bucket from the nearest: what `triage feedback` prints. Since this replica started:
    /// the promises are kept in memory.
    pub fn calibration(&self, now_ms: i64) -> Vec<QueueCalibration> {
        self.calibration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_queue(now_ms)
    }
}
