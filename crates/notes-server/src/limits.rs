//! Rate and connection limits.
//!
//! Rate limits use the GCRA limiters of the `governor` crate: each key (a
//! client address or a user id) earns one request per period up to a burst,
//! and a request over the limit gets 429 with `Retry-After`. Connection limits
//! count WebSocket sessions in total and per user, released when the session
//! ends.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use notes_core::UserId;

use crate::error::ApiError;

/// A limit of `count` requests per `period`, with bursts of up to `burst`.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    /// Requests allowed per period; 0 turns the limit off.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// The largest burst allowed at once.
    pub burst: u32,
}

/// A rate limiter for one kind of request, keyed by client or user.
pub struct KeyedLimit<K: std::hash::Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    message: &'static str,
}

impl<K: std::hash::Hash + Eq + Clone> KeyedLimit<K> {
    /// Creates a limiter; a rate with a zero count allows everything.
    pub fn new(rate: Rate, message: &'static str) -> Self {
        let limiter = NonZeroU32::new(rate.count).and_then(|count| {
            let period = rate.period / count.get();
            let burst = NonZeroU32::new(rate.burst).unwrap_or(count);
            Quota::with_period(period).map(|quota| RateLimiter::keyed(quota.allow_burst(burst)))
        });
        Self { limiter, message }
    }

    /// Takes one request for `key`, or returns 429 with the time until the
    /// next one is allowed.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        limiter.check_key(key).map_err(|not_until| {
            let retry_after = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests { message: self.message, retry_after }
        })
    }

    /// Forgets keys whose limit has fully recovered, so the key map does not
    /// grow with every client ever seen.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Every rate limiter of the server.
pub struct RateLimits {
    /// Sign-ups and logins per client address.
    pub auth: KeyedLimit<IpAddr>,
    /// Note creates, updates and deletes per user.
    pub writes: KeyedLimit<UserId>,
}

impl RateLimits {
    /// Forgets idle keys of every limiter.
    pub fn forget_idle(&self) {
        self.auth.forget_idle();
        self.writes.forget_idle();
    }
}

/// Counts open WebSocket sessions, in total and per user.
pub struct Connections {
    total: AtomicUsize,
    per_user: DashMap<UserId, usize>,
    max_total: usize,
    max_per_user: usize,
}

/// One counted session. Dropping it releases the count.
pub struct ConnectionGuard {
    connections: Arc<Connections>,
    user: UserId,
}

impl Connections {
    /// Creates a counter with the given maxima; 0 means no limit.
    pub fn new(max_total: usize, max_per_user: usize) -> Arc<Self> {
        Arc::new(Self { total: AtomicUsize::new(0), per_user: DashMap::new(), max_total, max_per_user })
    }

    /// Counts a new session for `user`, or returns 503 when the server is
    /// full and 429 when the user has too many sessions.
    pub fn acquire(self: &Arc<Self>, user: UserId) -> Result<ConnectionGuard, ApiError> {
        let total = self.total.fetch_add(1, Ordering::AcqRel) + 1;
        if self.max_total > 0 && total > self.max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(user_id = %user, max = self.max_total, "websocket rejected: the server is at its connection limit");
            return Err(ApiError::Unavailable(
                "the server has reached its WebSocket connection limit; try again later",
            ));
        }

        // The entry guard is dropped at the end of this statement, before
        // any other call on the map.
        let for_user = {
            let mut count = self.per_user.entry(user).or_insert(0);
            *count += 1;
            *count
        };
        let guard = ConnectionGuard { connections: self.clone(), user };
        if self.max_per_user > 0 && for_user > self.max_per_user {
            tracing::warn!(user_id = %user, max = self.max_per_user, "websocket rejected: the user is at the per-user connection limit");
            drop(guard);
            return Err(ApiError::TooManyRequests {
                message: "too many WebSocket connections for this user; close one and try again",
                retry_after: Duration::from_secs(5),
            });
        }
        Ok(guard)
    }

    /// Returns the number of counted sessions.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.connections.total.fetch_sub(1, Ordering::AcqRel);
        // `remove_if_mut` takes the shard lock once, so the decrement and the
        // removal of a zero count are one step.
        self.connections.per_user.remove_if_mut(&self.user, |_, count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limits_apply_and_release() {
        let connections = Connections::new(3, 2);
        let alice = UserId::new();
        let bob = UserId::new();

        let first = connections.acquire(alice).unwrap();
        let _second = connections.acquire(alice).unwrap();
        assert!(matches!(connections.acquire(alice), Err(ApiError::TooManyRequests { .. })));

        let _third = connections.acquire(bob).unwrap();
        assert!(matches!(connections.acquire(bob), Err(ApiError::Unavailable(_))));
        assert_eq!(connections.total(), 3);

        drop(first);
        assert_eq!(connections.total(), 2);
        assert!(connections.acquire(alice).is_ok());
    }

    #[test]
    fn rate_limit_allows_burst_then_rejects() {
        let limit = KeyedLimit::new(Rate { count: 10, period: Duration::from_secs(60), burst: 3 }, "slow down");
        let client: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limit.check(&client).is_ok());
        }
        match limit.check(&client) {
            Err(ApiError::TooManyRequests { retry_after, .. }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(6), "{retry_after:?}");
            }
            other => panic!("expected 429, got {other:?}"),
        }

        let other: IpAddr = [127, 0, 0, 2].into();
        assert!(limit.check(&other).is_ok());
    }

    #[test]
    fn zero_rate_turns_the_limit_off() {
        let limit = KeyedLimit::new(Rate { count: 0, period: Duration::from_secs(1), burst: 0 }, "unused");
        for _ in 0..1000 {
            assert!(limit.check(&UserId::new()).is_ok());
        }
    }
}
