//! How many requests go out, and when:
//! - [`HostLimits`]: requests in flight per API host, and the pause a host asked for
//!   with `Retry-After` (it speaks for the host: Dataverse counts per user per server,
//!   so every request to it waits, not just the one that was throttled);
//! - [`RateLimit`]: sliding windows for APIs with published per-minute / per-hour quotas.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// The key requests share a host's limits by: host and port.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Requests in flight per host, and each host's pause.
pub(crate) struct HostLimits {
    concurrency: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Per host: no request before this instant.
    pauses: Mutex<HashMap<String, tokio::time::Instant>>,
}

/// A request's place among its host's requests in flight; given back on drop.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
}

/// The limits are gone (the client is shutting down).
#[derive(Debug)]
pub(crate) struct Closed;

impl HostLimits {
    pub(crate) fn new(concurrency: usize) -> HostLimits {
        HostLimits {
            concurrency: concurrency.max(1),
            hosts: Mutex::new(HashMap::new()),
            pauses: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.concurrency)))
            .clone()
    }

    /// Waits for a slot of `host` outside any pause it asked for.
    pub(crate) async fn acquire(&self, host: &str) -> Result<Slot, Closed> {
        let slots = self.slots(host);
        // A request that waited for a slot while the host asked for a pause waits out
        // the pause too, instead of walking into the next 429.
        loop {
            self.wait_for_pause(host).await;
            let permit = slots.clone().acquire_owned().await.map_err(|_| Closed)?;
            if !self.paused(host) {
                return Ok(Slot { _permit: permit });
            }
        }
    }

    async fn wait_for_pause(&self, host: &str) {
        let until = self
            .pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied();
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    fn paused(&self, host: &str) -> bool {
        self.pauses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .is_some_and(|until| *until > tokio::time::Instant::now())
    }

    /// Pauses every request to `host` for `wait` (a longer pause already set stays).
    pub(crate) fn pause(&self, host: &str, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut pauses = self.pauses.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pauses.entry(host.to_owned()).or_insert(until);
        if *slot < until {
            *slot = until;
        }
    }
}

/// Sliding-window limits for APIs with published per-minute / per-hour quotas: a request
/// waits until it fits every window.
#[derive(Debug)]
pub struct RateLimit {
    name: &'static str,
    windows: Vec<(usize, Duration)>,
    history: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    /// `windows`: (at most this many requests, per this long).
    pub fn new(name: &'static str, windows: &[(usize, Duration)]) -> RateLimit {
        RateLimit {
            name,
            windows: windows.to_vec(),
            history: tokio::sync::Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a slot and takes it.
    pub async fn acquire(&self) {
        let longest = self.windows.iter().map(|w| w.1).max().unwrap_or_default();
        let mut history = self.history.lock().await;
        loop {
            let now = Instant::now();
            while history
                .front()
                .is_some_and(|t| now.duration_since(*t) >= longest)
            {
                history.pop_front();
            }
            let mut wait = Duration::ZERO;
            for (limit, window) in &self.windows {
                let in_window: Vec<&Instant> = history
                    .iter()
                    .filter(|t| now.duration_since(**t) < *window)
                    .collect();
                if in_window.len() >= *limit {
                    // The slot frees when the oldest request of the window leaves it.
                    let oldest_needed = in_window[in_window.len() - limit];
                    wait = wait.max(*window - now.duration_since(*oldest_needed));
                }
            }
            if wait.is_zero() {
                history.push_back(now);
                return;
            }
            tracing::info!(
                "waiting {:.0} s to stay within the published limits of {}",
                wait.as_secs_f64().ceil(),
                self.name
            );
            // Holding the lock while waiting keeps the requests in order.
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limits_hold_requests_back() {
        let short = Duration::from_millis(100);
        let long = Duration::from_millis(300);
        let limit = RateLimit::new("test", &[(2, short), (3, long)]);
        let t0 = Instant::now();
        limit.acquire().await;
        limit.acquire().await;
        assert!(t0.elapsed() < short);
        limit.acquire().await; // the third waits for the short window
        assert!(t0.elapsed() >= short);
        limit.acquire().await; // the fourth waits for the long window
        assert!(t0.elapsed() >= long);
    }
}
