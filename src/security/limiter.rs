//! The login limit: every attempt counts against the client's address, failed attempts count
//! against the username. Counts live in `Counters`: this instance's memory, or Redis so that
//! every instance sees the same counts (N instances buy no N-fold budget).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;

use crate::error::ApiError;

/// The window every login count runs over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Fixed-window counters shared by whoever uses the same store.
pub trait Counters: Send + Sync {
    /// Adds `by` (0 reads) to `key`'s count in the window that holds `now` and returns the
    /// new count.
    fn add<'a>(
        &'a self,
        key: &'a str,
        by: u64,
        window: Window,
    ) -> BoxFuture<'a, Result<u64, String>>;
}

/// One fixed window: its index since the epoch and the time left in it.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub index: u64,
    pub length: Duration,
    pub left: Duration,
}

impl Window {
    pub fn now(length: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let len = length.as_millis().max(1);
        let index = now.as_millis() / len;
        let left_ms = len - now.as_millis() % len;
        Self {
            index: u64::try_from(index).unwrap_or(u64::MAX),
            length,
            left: Duration::from_millis(u64::try_from(left_ms).unwrap_or(0)),
        }
    }
}

/// Counts in this process only.
#[derive(Default)]
pub struct LocalCounters {
    // A std lock: held for a map operation only, never across an `.await`.
    counts: Mutex<HashMap<String, (u64, u64)>>,
}

impl LocalCounters {
    fn add_now(&self, key: &str, by: u64, window: Window) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (index, _)| *index == window.index);
        }
        if by == 0 {
            return counts
                .get(key)
                .filter(|(index, _)| *index == window.index)
                .map_or(0, |(_, n)| *n);
        }
        let entry = counts.entry(key.to_owned()).or_insert((window.index, 0));
        if entry.0 != window.index {
            *entry = (window.index, 0);
        }
        entry.1 = entry.1.saturating_add(by);
        entry.1
    }
}

impl Counters for LocalCounters {
    fn add<'a>(
        &'a self,
        key: &'a str,
        by: u64,
        window: Window,
    ) -> BoxFuture<'a, Result<u64, String>> {
        let n = self.add_now(key, by, window);
        Box::pin(async move { Ok(n) })
    }
}

/// Login attempts per minute: all of them per client address, failed ones per account; and
/// registrations per minute per client address (each costs a password hash). Any running out
/// is a 429 with `Retry-After`.
pub struct LoginLimiter {
    per_address: u64,
    failures_per_username: u64,
    registrations_per_address: u64,
    counters: Arc<dyn Counters>,
    /// Used while the shared store cannot be reached: a limit still holds per instance.
    fallback: LocalCounters,
}

impl LoginLimiter {
    /// `0` turns a limit off.
    pub fn new(per_address: u32, failures_per_username: u32, counters: Arc<dyn Counters>) -> Self {
        Self {
            per_address: per_address.into(),
            failures_per_username: failures_per_username.into(),
            registrations_per_address: 0,
            counters,
            fallback: LocalCounters::default(),
        }
    }

    async fn add(&self, key: &str, by: u64, window: Window) -> u64 {
        match self.counters.add(key, by, window).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "login counters unreachable; counting on this instance");
                self.fallback.add_now(key, by, window)
            }
        }
    }

    /// What failures are counted against: the account the login names, whichever of its
    /// identifiers (username, email, any case) was typed; for a login that names no account,
    /// the identifier itself.
    pub fn account_key(user_id: Option<i64>, login: &str) -> String {
        match user_id {
            Some(id) => format!("login:account:{id}"),
            None => format!("login:unknown:{}", login.trim().to_lowercase()),
        }
    }

    fn retry(window: &Window) -> ApiError {
        let secs = u64::try_from(window.left.as_millis().div_ceil(1000)).unwrap_or(60);
        ApiError::Throttled(secs.max(1))
    }

    /// With a limit on registrations per address (`0`: none).
    pub fn with_registrations(mut self, per_address: u32) -> Self {
        self.registrations_per_address = per_address.into();
        self
    }

    /// Counts one under `key` in a window of a minute and refuses it past `limit` (`0`: no
    /// limit).
    async fn count(&self, key: &str, limit: u64) -> Result<(), ApiError> {
        self.count_in(key, limit, WINDOW).await
    }

    async fn count_in(&self, key: &str, limit: u64, length: Duration) -> Result<(), ApiError> {
        let window = Window::now(length);
        if limit > 0 && self.add(key, 1, window).await > limit {
            return Err(Self::retry(&window));
        }
        Ok(())
    }

    /// Counts a login attempt from `addr` and refuses it past the address's limit. Call first.
    pub async fn before_attempt(&self, addr: IpAddr) -> Result<(), ApiError> {
        self.count(&format!("login:addr:{addr}"), self.per_address)
            .await
    }

    /// Counts a registration from `addr` and refuses it past the address's limit. Call before
    /// hashing the password.
    pub async fn before_register(&self, addr: IpAddr) -> Result<(), ApiError> {
        self.count(
            &format!("register:addr:{addr}"),
            self.registrations_per_address,
        )
        .await
    }

    /// Counts a request that may send mail (resend, reset, email change) from `addr` and
    /// refuses it past `per_hour` in the hour (`0`: no limit).
    pub async fn before_email_request(&self, addr: IpAddr, per_hour: u32) -> Result<(), ApiError> {
        self.count_in(
            &format!("email:addr:{addr}"),
            per_hour.into(),
            Duration::from_secs(3600),
        )
        .await
    }

    /// Refuses an attempt on `account` (an `account_key`) past its failures. Call before
    /// checking the password.
    pub async fn before_password(&self, account: &str) -> Result<(), ApiError> {
        let window = Window::now(WINDOW);
        if self.failures_per_username > 0
            && self.add(account, 0, window).await >= self.failures_per_username
        {
            return Err(Self::retry(&window));
        }
        Ok(())
    }

    /// Counts a failed attempt against `account` (an `account_key`).
    pub async fn failed(&self, account: &str) {
        if self.failures_per_username > 0 {
            self.add(account, 1, Window::now(WINDOW)).await;
        }
    }
}

/// Messages a user may send (REST and WebSocket together): a burst, then a steady rate.
/// Counted per instance.
/// A rate limit per user (chat sends, uploads), in this instance's memory.
pub struct UserLimiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<i64>>,
    clock: governor::clock::DefaultClock,
}

impl UserLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        use std::num::NonZeroU32;
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            clock: governor::clock::DefaultClock::default(),
        }
    }

    /// `per_minute` actions a minute, all of which may come at once; 0 turns the limit off.
    pub fn per_minute(per_minute: u32) -> Self {
        use std::num::NonZeroU32;
        Self {
            limiter: NonZeroU32::new(per_minute)
                .map(|rate| governor::RateLimiter::keyed(governor::Quota::per_minute(rate))),
            clock: governor::clock::DefaultClock::default(),
        }
    }

    /// One action by `user_id`; a 429 with `Retry-After` past the limit.
    pub fn check(&self, user_id: i64) -> Result<(), ApiError> {
        use governor::clock::Clock;
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&user_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(1);
            ApiError::Throttled(secs.max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_address: u32, failures: u32) -> LoginLimiter {
        LoginLimiter::new(per_address, failures, Arc::new(LocalCounters::default()))
    }

    #[tokio::test]
    async fn the_address_limit_counts_every_attempt() {
        let l = limiter(2, 0);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        assert!(l.before_attempt(a).await.is_ok());
        assert!(l.before_attempt(a).await.is_ok());
        assert!(matches!(
            l.before_attempt(a).await,
            Err(ApiError::Throttled(_))
        ));
        assert!(l.before_attempt(b).await.is_ok());
    }

    #[tokio::test]
    async fn the_account_limit_counts_failures_only() {
        let l = limiter(0, 2);
        let alice = LoginLimiter::account_key(Some(1), "Alice");
        for _ in 0..5 {
            assert!(l.before_password(&alice).await.is_ok());
        }
        l.failed(&alice).await;
        assert!(l.before_password(&alice).await.is_ok());
        // The same account typed another way.
        l.failed(&LoginLimiter::account_key(Some(1), "alice@example.com"))
            .await;
        assert!(
            matches!(l.before_password(&alice).await, Err(ApiError::Throttled(s)) if (1..=60).contains(&s))
        );
        assert!(
            l.before_password(&LoginLimiter::account_key(Some(2), "bob"))
                .await
                .is_ok()
        );
        // A login naming no account counts against what was typed, ignoring case and spaces.
        let ghost = LoginLimiter::account_key(None, " Ghost ");
        l.failed(&ghost).await;
        l.failed(&LoginLimiter::account_key(None, "ghost")).await;
        assert!(l.before_password(&ghost).await.is_err());
    }

    #[test]
    fn a_window_knows_the_time_left() {
        let w = Window::now(Duration::from_secs(60));
        assert!(w.left <= Duration::from_secs(60) && w.left > Duration::ZERO);
    }
}
