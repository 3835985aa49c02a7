//! The one retry rule of palaudit, for whole requests and for Graph `$batch` items alike:
//! - retried: `429` (after its `Retry-After`), `408`, and `5xx` except `501 Not
//!   Implemented` and `505 HTTP Version Not Supported`, which say the request will never
//!   work, so retrying them only spends quota; timeouts and connection resets;
//! - not retried: every other status;
//! - waits: what `Retry-After` asks (seconds or an HTTP date), else exponential backoff
//!   with jitter; a `Retry-After` longer than [`RetryPolicy::retry_after_cap`] fails the
//!   request at once, saying so.

use rand::Rng;
use std::time::Duration;

/// Whether an answer with this status is worth another attempt.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429
        || status == 408
        || ((500..600).contains(&status) && status != 501 && status != 505)
}

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; a request is sent at most `max_retries + 1` times.
    pub max_retries: u32,
    /// First backoff step; doubles per retry, with jitter.
    pub base_delay: Duration,
    /// Longest backoff step.
    pub max_delay: Duration,
    /// Longest `Retry-After` palaudit waits for. Power BI's admin quotas are per hour, so
    /// an hour is honoured; a longer wait fails the request at once, saying so, instead
    /// of retrying early into a quota that is still spent.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the retry after attempt `retry + 1`: what `Retry-After` asks, else
    /// exponential backoff with jitter. `None` when the API asks for longer than
    /// [`RetryPolicy::retry_after_cap`]: the request fails now instead.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(d) if d > self.retry_after_cap => None,
            Some(d) => Some(d),
            None => Some(self.backoff(retry)),
        }
    }

    /// Exponential backoff with jitter: between half and all of `base * 2^retry`, capped.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        // Absurdly large values saturate rather than panic; the caller caps them.
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A wait as people read it: `90 s`, or `about 2 h` for absurd values.
pub(crate) fn describe_wait(d: Duration) -> String {
    match d.as_secs() {
        s if s < 3 * 3600 => format!("{s} s"),
        s if s < 3 * 86_400 => format!("about {} h", s / 3600),
        _ => "days".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_what_is_retried() {
        for s in [429, 408, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 501, 505, 600] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        // Absurd values saturate instead of panicking.
        assert_eq!(parse_retry_after("1e20"), Some(Duration::MAX));
        assert!(parse_retry_after("18446744073709551616").is_some());
        assert_eq!(parse_retry_after("-1"), None);
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.wait(0, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(policy.wait(0, Some(Duration::from_secs(3601))), None);
        let backoff = policy.wait(3, None).unwrap();
        assert!(backoff >= Duration::from_secs(2) && backoff <= Duration::from_secs(4));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let d = p.backoff(retry);
            assert!(d <= p.max_delay, "{d:?}");
        }
        let first = p.backoff(0);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
    }
}
