//! The recent resolutions of one queue and priority, bounded, and the weighted view of them an
//! estimate is read from: each resolution weighs `2^(-age / half-life)`, so that a queue's
//! current pace outweighs last week's, and, when the time of day counts, `2^(-(apart / width)²)`
//! by how far apart in the local day it and the ticket estimated for were queued, so that an
//! inquiry at 19:00 is judged by the ones that came in the evening (and waited for the morning).

use std::collections::VecDeque;

/// The minutes in a day.
const DAY_MINUTES: i32 = 24 * 60;

/// One answered ticket: when it was answered, how long it had waited and the minute of the
/// local day it was queued at.
#[derive(Debug, Clone, Copy)]
struct Resolution {
    answered_ms: i64,
    wait_ms: i64,
    queued_minute: u16,
}

/// The latest resolutions of one queue and priority, at most `capacity` of them: the oldest
/// observed goes when a new one comes.
#[derive(Debug)]
pub(super) struct History {
    resolutions: VecDeque<Resolution>,
    capacity: usize,
}

impl History {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            resolutions: VecDeque::with_capacity(capacity.min(64)),
            capacity,
        }
    }

    /// Keeps a resolution, dropping the oldest observed one when full.
    pub(super) fn push(&mut self, answered_ms: i64, wait_ms: i64, queued_minute: u16) {
        if self.resolutions.len() == self.capacity {
            self.resolutions.pop_front();
        }
        self.resolutions.push_back(Resolution {
            answered_ms,
            wait_ms,
            queued_minute,
        });
    }

    /// How many resolutions were answered in `(since_ms, now_ms]`.
    pub(super) fn answered_between(&self, since_ms: i64, now_ms: i64) -> usize {
        self.resolutions
            .iter()
            .filter(|r| r.answered_ms > since_ms && r.answered_ms <= now_ms)
            .count()
    }
}

/// How resolutions are weighted at one instant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Weighting {
    pub(super) now_ms: i64,
    pub(super) half_life_ms: f64,
    /// The minute of the local day the ticket estimated for was queued at and the width of the
    /// time-of-day kernel in minutes, when the time of day counts.
    pub(super) time_of_day: Option<(u16, f64)>,
}

impl Weighting {
    /// The weight of `resolution`, or `None` for one answered after now (a clock that moved
    /// back): not yet known.
    fn weight(&self, resolution: &Resolution) -> Option<f64> {
        let age_ms = self.now_ms.saturating_sub(resolution.answered_ms);
        if age_ms < 0 {
            return None;
        }
        let by_age = (-(age_ms as f64) / self.half_life_ms).exp2();
        let Some((now_minute, width_minutes)) = self.time_of_day else {
            return Some(by_age);
        };
        let apart = (i32::from(now_minute) - i32::from(resolution.queued_minute)).abs();
        let apart = f64::from(apart.min(DAY_MINUTES - apart)) / width_minutes;
        Some(by_age * (-(apart * apart)).exp2())
    }
}

/// Resolutions weighted at one instant: what an estimate is read from.
#[derive(Debug, Default)]
pub(super) struct WeightedWaits {
    /// `(wait_ms, weight)`, sorted by wait once a quantile was read.
    samples: Vec<(i64, f64)>,
    /// The time since the newest resolution, in ms.
    newest_age_ms: Option<i64>,
}

impl WeightedWaits {
    /// Adds the resolutions of `history` answered by now, weighted by `weighting`.
    pub(super) fn add(&mut self, history: &History, weighting: &Weighting) {
        for resolution in &history.resolutions {
            let Some(weight) = weighting.weight(resolution) else {
                continue;
            };
            self.samples.push((resolution.wait_ms, weight));
            let age_ms = weighting.now_ms - resolution.answered_ms;
            self.newest_age_ms = Some(self.newest_age_ms.map_or(age_ms, |n| n.min(age_ms)));
        }
    }

    /// The effective sample size, `(Σw)² / Σw²`: how many equally weighted resolutions the
    /// weighted ones are worth. Zero when there are none.
    pub(super) fn effective_size(&self) -> f64 {
        let (sum, sum_of_squares) = self
            .samples
            .iter()
            .fold((0.0, 0.0), |(s, s2), &(_, w)| (s + w, s2 + w * w));
        if sum_of_squares > 0.0 {
            sum * sum / sum_of_squares
        } else {
            0.0
        }
    }

    /// The time since the newest resolution, or `None` without any.
    pub(super) fn newest_age_ms(&self) -> Option<i64> {
        self.newest_age_ms
    }

    /// The weighted `quantile` (in `[0, 1]`) of the waits: the least wait at or below which
    /// that share of the weight lies. `None` without any resolution.
    pub(super) fn quantile(&mut self, quantile: f64) -> Option<i64> {
        self.samples.sort_unstable_by_key(|&(wait_ms, _)| wait_ms);
        let total: f64 = self.samples.iter().map(|&(_, w)| w).sum();
        let target = quantile * total;
        let mut cumulative = 0.0;
        for &(wait_ms, weight) in &self.samples {
            cumulative += weight;
            if cumulative >= target {
                return Some(wait_ms);
            }
        }
        self.samples.last().map(|&(wait_ms, _)| wait_ms)
    }
}
