//! Exponential backoff between attempts to reach the server: doubling from a first wait up to
//! a cap, with a little jitter so that several workers do not retry in step.

use std::time::Duration;

/// The waits between attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
    /// A small xorshift state for the jitter; no need for a real random source.
    jitter: u64,
}

impl Backoff {
    /// Waits of `first`, doubling up to `cap`.
    pub fn new(first: Duration, cap: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() as u64 | 1);
        Self {
            first,
            cap: cap.max(first),
            next: first,
            jitter: seed,
        }
    }

    /// The wait before the next attempt (up to a quarter more than the nominal one).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.cap);
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let extra = wait.mul_f64((self.jitter % 1000) as f64 / 4000.0);
        (wait + extra).min(self.cap)
    }

    /// Back to the first wait, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits double up to the cap and start over after a reset.
    #[test]
    fn waits_double_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let waits: Vec<u128> = (0..5).map(|_| backoff.next_wait().as_millis()).collect();
        assert!((100..=125).contains(&waits[0]), "{waits:?}");
        assert!((200..=250).contains(&waits[1]), "{waits:?}");
        assert!((400..=500).contains(&waits[2]), "{waits:?}");
        assert_eq!(waits[3..], [500, 500]);
        backoff.reset();
        assert!(backoff.next_wait() <= Duration::from_millis(125));
    }
}
