//! How well the expected waits told are kept: per queue and bucket, how many were told, how
//! many of those tickets were answered since and how many by the deadline told, and how many
//! are still open past it (broken already). The share kept is read of the promises decided so
//! far (answered, or overdue), so that open tickets within their deadline count neither way.

use std::collections::BTreeMap;

use super::WaitBucket;
use super::bucket::WaitBucketKind;

/// The most tickets awaiting an answer that are remembered; past it the lowest ticket id (the
/// oldest, ids being increasing) is forgotten, so that tickets never answered (dropped,
/// rerouted elsewhere) cannot grow the memory.
pub(super) const MAX_TOLD_OPEN: usize = 100_000;

/// How a set of expected waits told fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitScore {
    /// Expected waits told.
    pub told: u64,
    /// Of those, the tickets answered since.
    pub answered: u64,
    /// Of those, the ones answered by the deadline told.
    pub kept: u64,
    /// Told, not answered, and past the deadline: broken already.
    pub overdue: u64,
}

impl WaitScore {
    /// The share of the promises decided (answered, or overdue) that were kept; `None` while
    /// none is.
    pub fn kept_share(&self) -> Option<f64> {
        let decided = self.answered + self.overdue;
        if decided == 0 {
            return None;
        }
        Some(self.kept as f64 / decided as f64)
    }

    fn add(&mut self, other: &WaitScore) {
        self.told += other.told;
        self.answered += other.answered;
        self.kept += other.kept;
        self.overdue += other.overdue;
    }
}

/// One queue's expected waits: all of them, and by bucket from the nearest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCalibration {
    pub queue: String,
    pub score: WaitScore,
    pub by_bucket: Vec<(WaitBucketKind, WaitScore)>,
}

/// What a ticket was told, until it is answered.
#[derive(Debug)]
struct Told {
    queue: String,
    bucket: WaitBucket,
}

/// The tickets told an expected wait and still open, and the tallies of told, answered and
/// kept.
#[derive(Debug, Default)]
pub(super) struct Calibration {
    open: BTreeMap<u64, Told>,
    /// By queue and bucket; `overdue` is counted when the tallies are read.
    tally: BTreeMap<(String, WaitBucketKind), WaitScore>,
}

impl Calibration {
    /// Records that `ticket_id` on `queue` was told `bucket`; a ticket told again (moved to
    /// another queue) is judged against the latest telling.
    pub(super) fn told(&mut self, ticket_id: u64, queue: &str, bucket: WaitBucket) {
        self.tally
            .entry((queue.to_owned(), bucket.kind))
            .or_default()
            .told += 1;
        self.open.insert(
            ticket_id,
            Told {
                queue: queue.to_owned(),
                bucket,
            },
        );
        while self.open.len() > MAX_TOLD_OPEN {
            self.open.pop_first();
        }
    }

    /// Records that `ticket_id` was answered at `answered_ms`: its queue and bucket, and
    /// whether the wait told was kept, or `None` for a ticket told nothing (or forgotten).
    pub(super) fn answered(
        &mut self,
        ticket_id: u64,
        answered_ms: i64,
    ) -> Option<(String, WaitBucketKind, bool)> {
        let told = self.open.remove(&ticket_id)?;
        let kept = answered_ms <= told.bucket.deadline_ms;
        let score = self
            .tally
            .entry((told.queue.clone(), told.bucket.kind))
            .or_default();
        score.answered += 1;
        score.kept += u64::from(kept);
        Some((told.queue, told.bucket.kind, kept))
    }

    /// The tallies as of `now_ms`, by queue and then bucket from the nearest.
    pub(super) fn by_queue(&self, now_ms: i64) -> Vec<QueueCalibration> {
        let mut tally = self.tally.clone();
        for told in self.open.values() {
            if told.bucket.deadline_ms < now_ms {
                tally
                    .entry((told.queue.clone(), told.bucket.kind))
                    .or_default()
                    .overdue += 1;
            }
        }
        let mut queues: Vec<QueueCalibration> = Vec::new();
        for ((queue, bucket), score) in tally {
            match queues.last_mut() {
                Some(last) if last.queue == queue => {
                    last.score.add(&score);
                    last.by_bucket.push((bucket, score));
                }
                _ => queues.push(QueueCalibration {
                    queue,
                    score,
                    by_bucket: vec![(bucket, score)],
                }),
            }
        }
        queues
    }
}
