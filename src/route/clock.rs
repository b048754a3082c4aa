//! `Clock`: where the queue reads "now" (unix milliseconds) for leases, SLA and audit
//! times; `SystemClock` for production and a settable `ManualClock` for tests.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Source of the current time in unix milliseconds.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        // A clock before 1970 reads as 0 rather than failing.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to; share it as `Arc<ManualClock>`.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(now_ms),
        }
    }

    pub fn set(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    pub fn advance(&self, by_ms: i64) {
        self.now_ms.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A shared manual clock moves for every holder of the Arc.
    #[test]
    fn manual_clock_is_shared_and_settable() {
        let clock = Arc::new(ManualClock::new(1_000));
        let as_dyn: Arc<dyn Clock> = clock.clone();
        clock.advance(500);
        assert_eq!(as_dyn.now_ms(), 1_500);
        clock.set(7);
        assert_eq!(as_dyn.now_ms(), 7);
    }

    /// The system clock reads a time after 2020.
    #[test]
    fn system_clock_reads_unix_ms() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
