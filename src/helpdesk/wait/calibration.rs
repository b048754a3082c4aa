//! How well the expected waits told are kept: per queue and bucket, how many were told and how
//! many of those tickets were answered by the deadline told. A ticket told and not (yet)
//! answered counts as told and not kept, so the share kept is a floor while tickets are open.

use std::collections::BTreeMap;

use super::WaitBucket;
use super::bucket::WaitBucketKind;

/// The most tickets awaiting an answer that are remembered; past it the lowest ticket id (the
/// oldest, ids being increasing) is forgotten, so that tickets never answered (dropped,
/// rerouted elsewhere) cannot grow the memory.
pub(super) const MAX_TOLD_OPEN: usize = 100_000;

/// One queue and bucket's record: expected waits told and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrationRow {
    pub queue: String,
    pub bucket: WaitBucketKind,
    pub told: u64,
    pub kept: u64,
}

/// What a ticket was told, until it is answered.
#[derive(Debug)]
struct Told {
    queue: String,
    bucket: WaitBucket,
}

/// The tickets told an expected wait and the tallies of told and kept.
#[derive(Debug, Default)]
pub(super) struct Calibration {
    open: BTreeMap<u64, Told>,
    /// `(queue, bucket) -> (told, kept)`.
    tally: BTreeMap<(String, WaitBucketKind), (u64, u64)>,
}

impl Calibration {
    /// Records that `ticket_id` on `queue` was told `bucket`; a ticket told again (moved to
    /// another queue) is judged against the latest telling.
    pub(super) fn told(&mut self, ticket_id: u64, queue: &str, bucket: WaitBucket) {
        self.tally
            .entry((queue.to_owned(), bucket.kind))
            .or_default()
            .0 += 1;
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
        if kept {
            self.tally
                .entry((told.queue.clone(), told.bucket.kind))
                .or_default()
                .1 += 1;
        }
        Some((told.queue, told.bucket.kind, kept))
    }

    /// The tallies, by queue and then bucket from the nearest.
    pub(super) fn rows(&self) -> Vec<CalibrationRow> {
        self.tally
            .iter()
            .map(|((queue, bucket), &(told, kept))| CalibrationRow {
                queue: queue.clone(),
                bucket: *bucket,
                told,
                kept,
            })
            .collect()
    }
}
