//! `QueueSettings`: the tunables of an `EmbeddedQueue`, with their defaults and checks.

use std::time::Duration;

use crate::route::error::RouteError;

/// Largest accepted `max_batch`; the writer's channel holds four batches.
const MAX_BATCH_LIMIT: usize = 65_536;

/// How long a committed background record waits for an fsync at most, by default.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// The page cache of the queue's file by default: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// How the queue dead-letters and batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// A ticket whose lease expires with this many deliveries goes to the dead letters.
    pub max_deliveries: u32,
    /// Most requests the writer applies in one write transaction.
    pub max_batch: usize,
    /// How long a batch of background records only (decisions that queue no ticket) waits
    /// for company before it commits; a request someone waits on, or a full batch's worth
    /// of records, ends the wait at once.
    pub background_linger: Duration,
    /// The longest a committed background record waits for an fsync. Background records
    /// commit without one (the next fsync'd commit makes them durable too); when no fsync'd
    /// commit comes within this time, the writer makes one. So an answer acknowledged this
    /// long ago (plus the linger) survives a crash of the process or the machine.
    pub flush_interval: Duration,
    /// The page cache of the queue's file, in bytes: what the store may hold in memory beyond
    /// the pages in use (redb's own default, 1 GiB, lets a busy server grow far past what it
    /// needs).
    pub cache_bytes: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_deliveries: 5,
            max_batch: 512,
            background_linger: Duration::from_millis(10),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

impl QueueSettings {
    pub(crate) fn validate(&self) -> Result<(), RouteError> {
        if self.max_deliveries == 0
            || !(1..=MAX_BATCH_LIMIT).contains(&self.max_batch)
            || self.flush_interval.is_zero()
        {
            return Err(RouteError::InvalidArgument(format!(
                "queue settings need max_deliveries >= 1, max_batch in 1..={MAX_BATCH_LIMIT} \
                 and a flush interval above zero, got {self:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defaults are the documented 5 deliveries and 512 per batch, and pass validation.
    #[test]
    fn defaults_are_valid() {
        let settings = QueueSettings::default();
        assert_eq!((settings.max_deliveries, settings.max_batch), (5, 512));
        assert!(settings.validate().is_ok());
    }

    /// A zero flush interval (an fsync loop) is refused.
    #[test]
    fn a_zero_flush_interval_is_refused() {
        let settings = QueueSettings {
            flush_interval: Duration::ZERO,
            ..QueueSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(RouteError::InvalidArgument(_))
        ));
    }

    /// A zero or absurdly large batch size is refused rather than stalling or panicking.
    #[test]
    fn batch_size_out_of_range_is_refused() {
        for max_batch in [0, MAX_BATCH_LIMIT + 1, usize::MAX] {
            let settings = QueueSettings {
                max_batch,
                ..QueueSettings::default()
            };
            assert!(matches!(
                settings.validate(),
                Err(RouteError::InvalidArgument(_))
            ));
        }
    }
}
