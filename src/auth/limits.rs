//! Per-token limits, in front of the server's admission: how many requests one token may have
//! in flight and how many it may start per second (a token bucket of `burst` requests refilled
//! at the rate). A unary request over either limit is refused with RESOURCE_EXHAUSTED and a
//! retry hint; a SubmitStream item waits until its token is within both, so the stream is held
//! back as admission holds it back (see `grpc/stream.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::{Rate, TokenLimits};

/// How soon a request refused for its token's in-flight limit is told to retry: one of the
/// token's requests has likely finished by then.
const IN_FLIGHT_RETRY: Duration = Duration::from_millis(50);

/// Why a token's request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The token has its `limit` requests in flight.
    InFlight { limit: usize },
    /// The token made its requests of the second.
    Rate { per_second: u32 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InFlight { limit } => write!(f, "has its limit of {limit} requests in flight"),
            Self::Rate { per_second } => {
                write!(f, "is over its limit of {per_second} requests per second")
            }
        }
    }
}

impl Refusal {
    /// The metric label of the limit reached.
    pub fn limit(&self) -> &'static str {
        match self {
            Self::InFlight { .. } => "in_flight",
            Self::Rate { .. } => "rate",
        }
    }
}

/// The limits of one token and what it uses of them now.
#[derive(Debug)]
pub struct CallerLimits {
    settings: Option<TokenLimits>,
    in_flight: Arc<Semaphore>,
    bucket: Option<Mutex<Bucket>>,
}

impl CallerLimits {
    /// A token held to `settings`.
    pub fn new(settings: TokenLimits) -> Self {
        Self {
            settings: Some(settings),
            in_flight: Arc::new(Semaphore::new(settings.in_flight)),
            bucket: settings.rate.map(|rate| Mutex::new(Bucket::full(rate))),
        }
    }

    /// No limits: the local admin of a server without tokens.
    pub fn unlimited() -> Self {
        Self {
            settings: None,
            in_flight: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            bucket: None,
        }
    }

    /// What the token is held to; `None`: nothing.
    pub fn settings(&self) -> Option<TokenLimits> {
        self.settings
    }

    /// A place for one request now, or why not and when to retry.
    pub fn try_start(&self) -> Result<OwnedSemaphorePermit, (Refusal, Duration)> {
        let permit = Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| {
                let limit = self.settings.map_or(0, |s| s.in_flight);
                (Refusal::InFlight { limit }, IN_FLIGHT_RETRY)
            })?;
        if let Some(bucket) = &self.bucket {
            let mut bucket = bucket.lock().unwrap_or_else(|poison| poison.into_inner());
            bucket.take(Instant::now()).map_err(|wait| {
                let per_second = bucket.rate.per_second;
                (Refusal::Rate { per_second }, wait)
            })?;
        }
        Ok(permit)
    }

    /// A place for one request, waiting for it as long as it takes.
    pub async fn start(&self) -> OwnedSemaphorePermit {
        let permit = Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        if let Some(bucket) = &self.bucket {
            loop {
                let taken = bucket
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .take(Instant::now());
                match taken {
                    Ok(()) => break,
                    Err(wait) => tokio::time::sleep(wait).await,
                }
            }
        }
        permit
    }
}

/// A token bucket: up to `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
struct Bucket {
    rate: Rate,
    /// Requests that may start now, in fractions.
    available: f64,
    refilled: Instant,
}

impl Bucket {
    fn full(rate: Rate) -> Self {
        Self {
            rate,
            available: f64::from(rate.burst),
            refilled: Instant::now(),
        }
    }

    /// Takes one request's worth at `now`, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let per_second = f64::from(self.rate.per_second);
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.available = (self.available + elapsed * per_second).min(f64::from(self.rate.burst));
        self.refilled = now;
        if self.available >= 1.0 {
            self.available -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.available) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(in_flight: usize, rate: Option<(u32, u32)>) -> CallerLimits {
        CallerLimits::new(TokenLimits {
            rate: rate.map(|(per_second, burst)| Rate { per_second, burst }),
            in_flight,
        })
    }

    /// A burst passes at once, the next request waits for the rate, and a second refills it.
    #[tokio::test(start_paused = true)]
    async fn the_rate_allows_a_burst_then_refills() {
        let limits = limits(100, Some((10, 3)));
        for _ in 0..3 {
            drop(limits.try_start().unwrap());
        }
        let (refusal, wait) = limits.try_start().unwrap_err();
        assert_eq!(refusal, Refusal::Rate { per_second: 10 });
        assert_eq!(wait, Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(100)).await;
        drop(limits.try_start().unwrap());
        assert!(limits.try_start().is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..3 {
            drop(limits.try_start().unwrap());
        }
        assert!(
            limits.try_start().is_err(),
            "the bucket holds at most the burst"
        );
    }

    /// In-flight places are given back when a request ends; `start` waits for one.
    #[tokio::test(start_paused = true)]
    async fn in_flight_places_are_returned() {
        let limits = Arc::new(limits(2, None));
        let first = limits.try_start().unwrap();
        let _second = limits.try_start().unwrap();
        assert_eq!(
            limits.try_start().unwrap_err(),
            (Refusal::InFlight { limit: 2 }, IN_FLIGHT_RETRY)
        );
        let waiting = tokio::spawn({
            let limits = Arc::clone(&limits);
            async move { limits.start().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        drop(waiting.await.unwrap());
    }

    /// A stream's items wait for the rate instead of being refused.
    #[tokio::test(start_paused = true)]
    async fn start_waits_for_the_rate() {
        let limits = limits(100, Some((4, 1)));
        let began = Instant::now();
        for _ in 0..5 {
            drop(limits.start().await);
        }
        assert_eq!(began.elapsed(), Duration::from_secs(1));
    }
}
