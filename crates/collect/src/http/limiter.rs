//! How many requests go out, and when:
//! - [`HostLimits`]: requests in flight per API host — an adaptive window per host
//!   ([`Window`]) under the configured cap — and the pause a host asked for with
//!   `Retry-After` (it speaks for the host: Dataverse counts per user per server, so
//!   every request to it waits, not just the one that was throttled);
//! - [`RateLimit`]: sliding windows for APIs with published per-minute / per-hour quotas.
//!
//! The window works like TCP's congestion control (AIMD). It starts modest
//! ([`INITIAL_WINDOW`]) and, until the host first throttles, grows by one per fast
//! answer, doubling every round trip ("slow start"). The first `429`/`503` ends slow
//! start and cuts the window by [`BACKOFF`]; from then on it grows by [`GROWTH`] of
//! itself per round trip and is cut again at the next throttle. A burst of throttles
//! from one overload (every request that was already in flight when the host said
//! stop) counts once. Every host finds its own limit, so no knob needs tuning:
//! `[collect] concurrency` is only the cap. The window grows only while it is used (at
//! least half full when the request went out) and while answers come back fast (within
//! [`SLOW_ANSWER`] times the fastest seen), so an idle or queuing host does not
//! build up a window it never tested.

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

/// The window a host starts with.
pub const INITIAL_WINDOW: usize = 4;
/// What a throttle leaves of the window. Gentler than TCP's half: a host behind a
/// token bucket loses throughput only while the window is below its limit, and a
/// throttle already costs the whole host its `Retry-After`.
pub const BACKOFF: f64 = 0.8;
/// After the first throttle, the window grows by this share of itself per round trip,
/// so it gets back to where it was cut within about a dozen round trips at any size.
pub const GROWTH: f64 = 0.02;
/// An answer slower than this many times the fastest seen does not grow the window:
/// the host is queuing, not serving.
pub const SLOW_ANSWER: u32 = 4;

/// The arithmetic of one host's window, apart from any clock or lock, so it can be
/// tested directly. Requests are numbered as they go out ([`Window::sent`]); answers
/// name the number they carry.
#[derive(Debug, Clone)]
pub struct Window {
    limit: f64,
    cap: f64,
    slow_start: bool,
    /// Requests sent so far; the next one gets this number.
    sent: u64,
    /// Throttles of requests numbered below this belong to the overload already
    /// answered with a cut.
    cut_at: u64,
    /// The fastest answer seen, the measure of "fast".
    fastest: Option<Duration>,
}

/// One request's ticket: its number, and whether the window was in use when it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    seq: u64,
    window_used: bool,
}

impl Window {
    /// A window of [`INITIAL_WINDOW`] (or `cap`, if lower) that may grow to `cap`.
    pub fn new(cap: usize) -> Window {
        let cap = cap.max(1) as f64;
        Window {
            limit: (INITIAL_WINDOW as f64).min(cap),
            cap,
            slow_start: true,
            sent: 0,
            cut_at: 0,
            fastest: None,
        }
    }

    /// Requests allowed in flight now (at least one).
    pub fn size(&self) -> usize {
        (self.limit.floor() as usize).max(1)
    }

    /// Whether the host has not throttled yet.
    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    /// A request goes out while `in_flight` others are out already.
    pub fn sent(&mut self, in_flight: usize) -> Ticket {
        let seq = self.sent;
        self.sent += 1;
        Ticket {
            seq,
            // Counted with the request itself.
            window_used: (in_flight + 1) as f64 * 2.0 >= self.limit,
        }
    }

    /// A successful answer after `latency`.
    pub fn answered(&mut self, ticket: Ticket, latency: Duration) {
        let fastest = *self.fastest.get_or_insert(latency);
        if latency < fastest {
            self.fastest = Some(latency);
        }
        let fast = latency <= fastest.saturating_mul(SLOW_ANSWER);
        if !(fast && ticket.window_used) {
            return;
        }
        let step = if self.slow_start {
            1.0
        } else {
            // About `limit` answers per round trip, each adding GROWTH: the window grows
            // by GROWTH of itself per trip.
            GROWTH
        };
        self.limit = (self.limit + step).min(self.cap);
    }

    /// The host answered `429` or `503`: cut the window, once per overload.
    pub fn throttled(&mut self, ticket: Ticket) {
        self.slow_start = false;
        if ticket.seq < self.cut_at {
            return;
        }
        self.limit = (self.limit * BACKOFF).max(1.0);
        // Requests already out were sent into the same overload.
        self.cut_at = self.sent;
    }
}

/// How a request's attempt ended, for its host's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A 2xx.
    Served,
    /// `429` or `503`: the host is overloaded.
    Throttled,
    /// Anything else (a 4xx, another 5xx, a broken connection): says nothing about load.
    Other,
}

/// What one host's requests came to, for `--verbose` and the closing summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUsage {
    /// `host:port`.
    pub host: String,
    /// Attempts sent (retries included).
    pub requests: u64,
    /// Attempts answered `429` or `503`.
    pub throttles: u64,
    /// Requests in flight summed over time (request-seconds): ÷ `busy` is the mean.
    pub in_flight_time: Duration,
    /// Time with at least one request in flight.
    pub busy: Duration,
    /// The adaptive window at the end.
    pub window: usize,
    /// The largest window reached.
    pub peak_window: usize,
}

impl HostUsage {
    /// Requests in flight on average while the host was busy.
    pub fn mean_in_flight(&self) -> f64 {
        if self.busy.is_zero() {
            0.0
        } else {
            self.in_flight_time.as_secs_f64() / self.busy.as_secs_f64()
        }
    }
}

impl std::fmt::Display for HostUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} requests, {} throttled, {:.1} in flight on average over {:.1} s busy, window {} (peak {})",
            self.host,
            self.requests,
            self.throttles,
            self.mean_in_flight(),
            self.busy.as_secs_f64(),
            self.window,
            self.peak_window
        )
    }
}

/// One host's window and the semaphore that enforces it.
struct Host {
    name: String,
    slots: Arc<Semaphore>,
    state: Mutex<HostState>,
    verbose: bool,
}

struct HostState {
    window: Window,
    /// Permits the semaphore holds in all, free and taken.
    permits: usize,
    /// Taken permits to drop for good when given back (the window shrank below what
    /// is in flight).
    owed: usize,
    in_flight: usize,
    requests: u64,
    throttles: u64,
    in_flight_time: Duration,
    busy: Duration,
    peak_window: usize,
    /// When `in_flight` last changed.
    since: Instant,
}

impl HostState {
    /// Accounts the time since the last change at the current `in_flight`.
    fn tick(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.since);
        if self.in_flight > 0 {
            self.busy += dt;
            self.in_flight_time += dt.saturating_mul(self.in_flight as u32);
        }
        self.since = now;
    }
}

impl Host {
    fn new(name: &str, cap: usize, verbose: bool) -> Host {
        let window = Window::new(cap);
        let size = window.size();
        Host {
            name: name.to_owned(),
            slots: Arc::new(Semaphore::new(size)),
            state: Mutex::new(HostState {
                window,
                permits: size,
                owed: 0,
                in_flight: 0,
                requests: 0,
                throttles: 0,
                in_flight_time: Duration::ZERO,
                busy: Duration::ZERO,
                peak_window: size,
                since: Instant::now(),
            }),
            verbose,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the semaphore's permits match the window: new ones added at once; surplus
    /// ones taken out while free, else when given back.
    fn resize(&self, s: &mut HostState) {
        let target = s.window.size();
        s.peak_window = s.peak_window.max(target);
        let effective = s.permits - s.owed;
        if target > effective {
            let mut need = target - effective;
            let cancelled = need.min(s.owed);
            s.owed -= cancelled;
            need -= cancelled;
            if need > 0 {
                self.slots.add_permits(need);
                s.permits += need;
            }
        } else if target < effective {
            let mut excess = effective - target;
            while excess > 0 {
                match self.slots.try_acquire() {
                    Ok(p) => {
                        p.forget();
                        s.permits -= 1;
                        excess -= 1;
                    }
                    Err(_) => break,
                }
            }
            s.owed += excess;
        }
    }

    /// Returns a permit to the semaphore, or drops it for good if the window owes one.
    fn give_back(&self, s: &mut HostState, permit: OwnedSemaphorePermit) {
        if s.owed > 0 {
            s.owed -= 1;
            s.permits -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
    }

    fn usage(&self) -> HostUsage {
        let mut s = self.lock();
        s.tick();
        HostUsage {
            host: self.name.clone(),
            requests: s.requests,
            throttles: s.throttles,
            in_flight_time: s.in_flight_time,
            busy: s.busy,
            window: s.window.size(),
            peak_window: s.peak_window,
        }
    }
}

/// Requests in flight per host, and each host's pause.
pub(crate) struct HostLimits {
    /// The most any host's window may grow to (`[collect] concurrency`).
    cap: usize,
    verbose: bool,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// Per host: no request before this instant.
    pauses: Mutex<HashMap<String, tokio::time::Instant>>,
}

/// A request's place in its host's window; given back on drop, with what the answer
/// said about the host's load ([`Slot::answered`]).
pub(crate) struct Slot {
    host: Arc<Host>,
    permit: Option<OwnedSemaphorePermit>,
    ticket: Ticket,
    started: Instant,
    answer: Answer,
}

impl Slot {
    /// Records how the attempt ended; without it the slot counts as [`Answer::Other`].
    pub(crate) fn answered(&mut self, answer: Answer) {
        self.answer = answer;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let latency = self.started.elapsed();
        let host = &self.host;
        let mut s = host.lock();
        s.tick();
        s.in_flight -= 1;
        let before = s.window.size();
        match self.answer {
            Answer::Served => s.window.answered(self.ticket, latency),
            Answer::Throttled => {
                s.throttles += 1;
                s.window.throttled(self.ticket);
            }
            Answer::Other => {}
        }
        let after = s.window.size();
        if let Some(permit) = self.permit.take() {
            host.give_back(&mut s, permit);
        }
        host.resize(&mut s);
        if host.verbose && self.answer == Answer::Throttled && after < before {
            tracing::info!(
                target: "palaudit::http",
                "{}: throttled, window {before} -> {after} requests in flight",
                host.name
            );
        }
    }
}

/// The limits are gone (the client is shutting down).
#[derive(Debug)]
pub(crate) struct Closed;

impl HostLimits {
    /// `cap`: the most requests in flight any one host's window may grow to.
    pub(crate) fn new(cap: usize, verbose: bool) -> HostLimits {
        HostLimits {
            cap: cap.max(1),
            verbose,
            hosts: Mutex::new(HashMap::new()),
            pauses: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, host: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Host::new(host, self.cap, self.verbose)))
            .clone()
    }

    /// Waits for a place in the window of `host`, outside any pause it asked for.
    pub(crate) async fn acquire(&self, host: &str) -> Result<Slot, Closed> {
        let h = self.host(host);
        // A request that waited for a slot while the host asked for a pause waits out
        // the pause too, instead of walking into the next 429.
        loop {
            self.wait_for_pause(host).await;
            let permit = h.slots.clone().acquire_owned().await.map_err(|_| Closed)?;
            if self.paused(host) {
                h.give_back(&mut h.lock(), permit);
                continue;
            }
            let ticket = {
                let mut s = h.lock();
                s.tick();
                let in_flight = s.in_flight;
                let ticket = s.window.sent(in_flight);
                s.in_flight += 1;
                s.requests += 1;
                ticket
            };
            return Ok(Slot {
                host: h,
                permit: Some(permit),
                ticket,
                started: Instant::now(),
                answer: Answer::Other,
            });
        }
    }

    /// Every host's usage so far, busiest first.
    pub(crate) fn usage(&self) -> Vec<HostUsage> {
        let hosts: Vec<Arc<Host>> = self
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut usage: Vec<HostUsage> = hosts.iter().map(|h| h.usage()).collect();
        usage.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.host.cmp(&b.host)));
        usage
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
    use futures::FutureExt;

    const MS: Duration = Duration::from_millis(1);

    /// Sends `n` requests into `w` as one round trip of a busy host (each goes out as
    /// another comes back, so the others are in flight) and answers them all fast.
    fn round(w: &mut Window, n: usize) {
        let tickets: Vec<Ticket> = (0..n).map(|_| w.sent(n - 1)).collect();
        for t in tickets {
            w.answered(t, 10 * MS);
        }
    }

    #[test]
    fn slow_start_doubles_per_round_trip_up_to_the_cap() {
        let mut w = Window::new(256);
        assert_eq!(w.size(), INITIAL_WINDOW);
        assert!(w.in_slow_start());
        round(&mut w, 4);
        assert_eq!(w.size(), 8);
        round(&mut w, 8);
        assert_eq!(w.size(), 16);
        for _ in 0..10 {
            let n = w.size();
            round(&mut w, n);
        }
        assert_eq!(w.size(), 256, "never beyond the cap");
        assert_eq!(Window::new(2).size(), 2, "a cap below the start wins");
        assert_eq!(Window::new(0).size(), 1, "at least one request");
    }

    #[test]
    fn one_overload_cuts_the_window_once() {
        let mut w = Window::new(1000);
        for _ in 0..5 {
            let n = w.size();
            round(&mut w, n);
        }
        assert_eq!(w.size(), 128);
        // Every request of the round is throttled: one cut, not 128.
        let tickets: Vec<Ticket> = (0..128).map(|i| w.sent(i)).collect();
        for t in tickets {
            w.throttled(t);
        }
        assert!(!w.in_slow_start());
        assert_eq!(w.size(), (128.0 * BACKOFF) as usize);
        // A request sent after the cut that is throttled cuts again.
        let later = w.sent(0);
        w.throttled(later);
        assert_eq!(w.size(), (128.0 * BACKOFF * BACKOFF) as usize);
    }

    #[test]
    fn after_a_throttle_the_window_grows_by_a_share_of_itself_per_round_trip() {
        let mut w = Window::new(1000);
        round(&mut w, 4);
        round(&mut w, 8);
        round(&mut w, 16);
        round(&mut w, 32);
        round(&mut w, 64);
        assert_eq!(w.size(), 128);
        let t = w.sent(127);
        w.throttled(t);
        let cut = w.limit;
        assert!((cut - 128.0 * BACKOFF).abs() < 1e-9);
        // One round of `cut` answers adds GROWTH each: GROWTH of the window.
        let n = w.size();
        round(&mut w, n);
        let grown = w.limit - cut;
        assert!((grown - GROWTH * n as f64).abs() < 1e-9, "{grown}");
    }

    #[test]
    fn the_window_never_drops_below_one() {
        let mut w = Window::new(8);
        for _ in 0..50 {
            let t = w.sent(0);
            w.throttled(t);
        }
        assert_eq!(w.size(), 1);
    }

    #[test]
    fn an_unused_or_slow_window_does_not_grow() {
        let mut w = Window::new(256);
        for _ in 0..4 {
            let n = w.size();
            round(&mut w, n);
        }
        assert_eq!(w.size(), 64);
        // One request at a time: the window was never tested, so it stays.
        for _ in 0..100 {
            let t = w.sent(0);
            w.answered(t, 10 * MS);
        }
        assert_eq!(w.size(), 64);
        // A full window answered slowly (the host queues): no growth either.
        let tickets: Vec<Ticket> = (0..64).map(|i| w.sent(i)).collect();
        for t in tickets {
            w.answered(t, 10 * MS * (SLOW_ANSWER + 1));
        }
        assert_eq!(w.size(), 64);
    }

    #[tokio::test]
    async fn slots_follow_the_window() {
        let limits = HostLimits::new(64, false);
        let mut slots = Vec::new();
        for _ in 0..4 {
            slots.push(limits.acquire("api:443").await.unwrap());
        }
        assert!(
            limits.acquire("api:443").now_or_never().is_none(),
            "the window of 4 is full"
        );
        assert!(
            limits.acquire("other:443").now_or_never().is_some(),
            "another host has its own window"
        );
        // All four served fast; the first went out alone (the window was not in use
        // yet), the other three grow it: 7.
        for mut s in slots.drain(..) {
            s.answered(Answer::Served);
        }
        for _ in 0..7 {
            slots.push(limits.acquire("api:443").await.unwrap());
        }
        assert!(limits.acquire("api:443").now_or_never().is_none());
        // All seven throttled, one overload: cut once to ⌊7 × 0.8⌋ = 5, and the slots
        // given back beyond that are not handed out again.
        for mut s in slots.drain(..) {
            s.answered(Answer::Throttled);
        }
        for _ in 0..5 {
            slots.push(limits.acquire("api:443").await.unwrap());
        }
        assert!(limits.acquire("api:443").now_or_never().is_none());
        drop(slots);
        let usage = limits.usage();
        assert_eq!(usage[0].host, "api:443", "busiest first");
        let api = &usage[0];
        assert_eq!(
            (api.requests, api.throttles, api.window, api.peak_window),
            (16, 7, 5, 7)
        );
        assert!(api.mean_in_flight() >= 1.0);
    }

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
