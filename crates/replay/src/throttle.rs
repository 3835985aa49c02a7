//! Rate limits the way the admin APIs apply them: a token bucket per API host that
//! answers `429 Too Many Requests` with `Retry-After` when it is empty, and a fixed
//! latency on every answer. [`crate::ReplayServer::start_throttled`] puts one bucket in
//! front of each `[endpoints]` key (`bap`, `powerapps`, …) of a replayed tenant; the
//! collection benchmark puts one in front of each API's own loopback port.
//!
//! `Retry-After` is sent in whole seconds, at least 1, as the services send it: the wait
//! until the bucket holds a token again, rounded up.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a throttled host behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottlePlan {
    /// Requests a second the host serves in the long run.
    pub rate: f64,
    /// Requests it serves at once after a quiet spell (the bucket's size).
    pub burst: f64,
    /// Added before every answer, served or throttled.
    pub latency: Duration,
}

impl ThrottlePlan {
    /// `rate` requests a second with a burst of one second's worth.
    pub fn per_second(rate: f64, latency: Duration) -> ThrottlePlan {
        ThrottlePlan {
            rate,
            burst: rate.max(1.0),
            latency,
        }
    }
}

/// A token bucket: `burst` tokens at most, refilled at `rate` a second; each request
/// served takes one, a throttled request takes none.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket::starting_at(rate, burst, Instant::now())
    }

    fn starting_at(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        let burst = burst.max(1.0);
        TokenBucket {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new((burst, now)),
        }
    }

    /// Takes a token: `Ok` to serve the request, or `Err` with how long until a token
    /// is there again.
    pub fn take(&self) -> Result<(), Duration> {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *state;
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// A wait as a `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_serves_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let bucket = TokenBucket::starting_at(10.0, 3.0, t0);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(t0), Ok(()));
        }
        // Empty: a token comes back after 1/10 s.
        let wait = bucket.take_at(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        let later = t0 + Duration::from_millis(100);
        assert_eq!(bucket.take_at(later), Ok(()));
        assert!(bucket.take_at(later).is_err());
        // A long quiet spell refills to the burst, not beyond.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(much_later), Ok(()));
        }
        assert!(bucket.take_at(much_later).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        let plan = ThrottlePlan::per_second(200.0, Duration::from_millis(100));
        assert_eq!((plan.rate, plan.burst), (200.0, 200.0));
    }
}
