//! The login rate limit: attempts per minute, per client address and per username.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Login attempts per minute, counted per client address and per username; either running
/// out is a 429 with `Retry-After`.
pub struct LoginLimiter {
    limits: Option<(
        DefaultKeyedRateLimiter<IpAddr>,
        DefaultKeyedRateLimiter<String>,
    )>,
    clock: DefaultClock,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        let limits = NonZeroU32::new(per_minute).map(|n| {
            let quota = Quota::per_minute(n);
            (RateLimiter::keyed(quota), RateLimiter::keyed(quota))
        });
        Self {
            limits,
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, addr: IpAddr, username: &str) -> Result<(), ApiError> {
        let Some((by_addr, by_name)) = &self.limits else {
            return Ok(());
        };
        // Forget idle keys now and then, so the maps stay small.
        if by_name.len() > 10_000 || by_addr.len() > 10_000 {
            by_name.retain_recent();
            by_addr.retain_recent();
        }
        let now = self.clock.now();
        let wait = |d: std::time::Duration| ApiError::Throttled(d.as_secs() + 1);
        by_addr
            .check_key(&addr)
            .map_err(|n| wait(n.wait_time_from(now)))?;
        by_name
            .check_key(&username.trim().to_lowercase())
            .map_err(|n| wait(n.wait_time_from(now)))?;
        Ok(())
    }
}
