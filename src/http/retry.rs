//! When to try a request again. Registries, indexes and their CDNs fail
//! transiently (5xx, 429, dropped connections), and a CI job that dies on one
//! hiccup is worse than one that waits a few seconds. But a refused connection almost
//! always means a wrong host or port, so it gets a much smaller budget: the
//! user should hear about the typo in seconds, not after a minute.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// Why the last attempt failed, as far as retrying is concerned.
pub(crate) enum Failure {
    /// Could not connect at all.
    Connect,
    /// Server error, rate limit, timeout or a connection dropped mid-request.
    /// `retry_after` is the server's `Retry-After`, if it sent one.
    Transient { retry_after: Option<Duration> },
}

pub(crate) struct Backoff {
    start: Instant,
    attempts: u32,
}

const MAX_ATTEMPTS: u32 = 5;
const MAX_CONNECT_ATTEMPTS: u32 = 3;
const BUDGET: Duration = Duration::from_secs(60);
const CONNECT_BUDGET: Duration = Duration::from_secs(3);

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            start: Instant::now(),
            attempts: 1,
        }
    }

    /// How long to sleep before the next attempt, or `None` to give up.
    pub(crate) fn next(&mut self, failure: &Failure) -> Option<Duration> {
        let (max, budget, base) = match failure {
            Failure::Connect => (MAX_CONNECT_ATTEMPTS, CONNECT_BUDGET, 200),
            Failure::Transient { .. } => (MAX_ATTEMPTS, BUDGET, 500),
        };
        if self.attempts >= max {
            return None;
        }
        let exp = Duration::from_millis(base << (self.attempts - 1).min(6));
        let delay = match failure {
            Failure::Transient {
                retry_after: Some(ra),
            } => *ra,
            _ => jitter(exp),
        };
        if self.start.elapsed() + delay > budget {
            return None;
        }
        self.attempts += 1;
        Some(delay)
    }
}

/// 50%–150% of `d`, so parallel transfers that failed together do not
/// retry in lockstep.
fn jitter(d: Duration) -> Duration {
    let r = RandomState::new().hash_one(Instant::now());
    d.mul_f64(0.5 + (r % 1000) as f64 / 1000.0)
}

/// `Retry-After` in its seconds form (the HTTP-date form is rare from
/// registries and is treated as absent).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_give_up_fast() {
        let mut b = Backoff::new();
        let mut total = Duration::ZERO;
        while let Some(d) = b.next(&Failure::Connect) {
            total += d;
        }
        assert_eq!(b.attempts, MAX_CONNECT_ATTEMPTS);
        assert!(total < Duration::from_secs(2), "{total:?}");
    }

    #[test]
    fn transient_failures_are_bounded_and_honour_retry_after() {
        let mut b = Backoff::new();
        let f = Failure::Transient {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(b.next(&f), Some(Duration::from_secs(7)));
        let f = Failure::Transient {
            retry_after: Some(Duration::from_secs(61)),
        };
        assert_eq!(b.next(&f), None);
        let mut b = Backoff::new();
        let f = Failure::Transient { retry_after: None };
        let n = std::iter::from_fn(|| b.next(&f)).count();
        assert_eq!(n as u32, MAX_ATTEMPTS - 1);
    }
}
