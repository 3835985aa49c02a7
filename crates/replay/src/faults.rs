//! Fault injection: a [`FaultPlan`] makes the server misbehave the way real APIs do, at
//! random but reproducibly from a seed, so tests can assert that palaudit loses nothing,
//! counts nothing twice, and stops paging that never ends.
//!
//! Per request, with probability `rate`, one fault of `kinds` is drawn:
//! - answers instead of the route's: `429` (`Retry-After: 0`), `503`, or no answer at all
//!   until `hang` has passed (the client's timeout fires first);
//! - the route's answer, damaged: the connection reset halfway through the body, the body
//!   cut short, or a body that is not JSON;
//! - the route's answer with its `nextLink` / `@odata.nextLink` rewritten: to the request
//!   itself (a loop), to another host, or to a fresh URL that serves this same page again.
//!
//! A fault that replaces the answer leaves the route's response sequence where it was, so
//! a retry gets what the fault-free run would have.

use std::sync::Mutex;
use std::time::Duration;

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `429 Too Many Requests` with `Retry-After: 0`.
    Throttle,
    /// `503 Service Unavailable`, no `Retry-After`.
    Unavailable,
    /// No answer until [`FaultPlan::hang`] has passed, then the connection is closed.
    Hang,
    /// The status, headers and half the body, then the connection is reset.
    ResetMidBody,
    /// A `200` whose body is cut in half (its length says so: nothing to retry).
    Truncated,
    /// A `200` whose body is not JSON.
    Malformed,
    /// The page's continuation link points at the page itself.
    LoopingNextLink,
    /// The page's continuation link points at another host.
    ForeignNextLink,
    /// The page's continuation link is a fresh URL that serves the same page again.
    RepeatedPage,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::Throttle,
        Fault::Unavailable,
        Fault::Hang,
        Fault::ResetMidBody,
        Fault::Truncated,
        Fault::Malformed,
        Fault::LoopingNextLink,
        Fault::ForeignNextLink,
        Fault::RepeatedPage,
    ];

    /// Faults that replace the route's answer (the route's sequence does not advance).
    pub(crate) fn replaces_answer(self) -> bool {
        matches!(self, Fault::Throttle | Fault::Unavailable | Fault::Hang)
    }

    /// Faults that rewrite a continuation link: they only apply to pages that have one.
    pub(crate) fn needs_next_link(self) -> bool {
        matches!(
            self,
            Fault::LoopingNextLink | Fault::ForeignNextLink | Fault::RepeatedPage
        )
    }
}

/// Which faults, how often, from which seed.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub seed: u64,
    /// The chance (0 to 1) that a request gets a fault.
    pub rate: f64,
    pub kinds: Vec<Fault>,
    /// How long a [`Fault::Hang`] holds a request.
    pub hang: Duration,
}

impl FaultPlan {
    /// Every kind of fault at `rate`, from `seed`.
    pub fn new(seed: u64, rate: f64) -> FaultPlan {
        FaultPlan {
            seed,
            rate,
            kinds: Fault::ALL.to_vec(),
            hang: Duration::from_secs(2),
        }
    }
}

/// The plan and its generator (splitmix64: tiny, seedable, no dependency).
pub(crate) struct Injector {
    plan: FaultPlan,
    state: Mutex<u64>,
}

impl Injector {
    pub(crate) fn new(plan: FaultPlan) -> Injector {
        Injector {
            state: Mutex::new(plan.seed),
            plan,
        }
    }

    fn next(&self) -> u64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The fault for the next request, if any. `has_next_link`: whether the answer it
    /// would get carries a continuation link.
    pub(crate) fn draw(&self, has_next_link: bool) -> Option<Fault> {
        let roll = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.plan.rate {
            return None;
        }
        let fitting: Vec<Fault> = self
            .plan
            .kinds
            .iter()
            .copied()
            .filter(|f| has_next_link || !f.needs_next_link())
            .collect();
        if fitting.is_empty() {
            return None;
        }
        Some(fitting[(self.next() % fitting.len() as u64) as usize])
    }

    pub(crate) fn hang(&self) -> Duration {
        self.plan.hang
    }
}

/// The keys a continuation link is under.
const LINK_KEYS: [&str; 2] = ["@odata.nextLink", "nextLink"];

/// Whether `body` is a JSON object with a string continuation link.
pub(crate) fn has_next_link(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        LINK_KEYS
            .iter()
            .any(|k| v.get(*k).is_some_and(serde_json::Value::is_string))
    })
}

/// `body` with its continuation link replaced by `link(old)`.
pub(crate) fn rewrite_next_link(body: &[u8], link: impl Fn(&str) -> String) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    for k in LINK_KEYS {
        if let Some(old) = v.get(k).and_then(serde_json::Value::as_str) {
            let new = link(old);
            v[k] = serde_json::Value::String(new);
        }
    }
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_fit_the_page() {
        let a = Injector::new(FaultPlan::new(7, 0.5));
        let b = Injector::new(FaultPlan::new(7, 0.5));
        let da: Vec<_> = (0..200).map(|_| a.draw(false)).collect();
        let db: Vec<_> = (0..200).map(|_| b.draw(false)).collect();
        assert_eq!(da, db);
        let faults = da.iter().flatten().count();
        assert!((60..140).contains(&faults), "{faults}");
        assert!(da.iter().flatten().all(|f| !f.needs_next_link()));
        let never = Injector::new(FaultPlan::new(7, 0.0));
        assert!((0..100).all(|_| never.draw(true).is_none()));
    }

    #[test]
    fn next_links_are_rewritten() {
        let body = br#"{"value":[1],"nextLink":"http://x/a?p=2"}"#;
        assert!(has_next_link(body));
        assert!(!has_next_link(br#"{"value":[1]}"#));
        let out = rewrite_next_link(body, |old| format!("{old}&again=1"));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["nextLink"], "http://x/a?p=2&again=1");
        assert_eq!(v["value"][0], 1);
    }
}
