//! Rate-limit counts in Redis, shared by every instance: one key per window.

use fred::prelude::*;
use futures_util::future::BoxFuture;

use super::RedisBackend;
use crate::security::limiter::{Counters, Window};

impl Counters for RedisBackend {
    fn add<'a>(
        &'a self,
        key: &'a str,
        by: u64,
        window: Window,
    ) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(async move {
            self.connected().map_err(|e| e.to_string())?;
            // The window's index is in the key, so every instance counts into the same one.
            let key = format!("{}:count:{key}:{}", self.prefix, window.index);
            if by == 0 {
                let n: Option<u64> = self.client.get(&key).await.map_err(|e| e.to_string())?;
                return Ok(n.unwrap_or(0));
            }
            let pipeline = self.client.pipeline();
            let by = i64::try_from(by).unwrap_or(i64::MAX);
            let expire = i64::try_from(window.length.as_secs())
                .unwrap_or(i64::MAX)
                .saturating_add(1);
            let _: () = pipeline
                .incr_by(&key, by)
                .await
                .map_err(|e| e.to_string())?;
            let _: () = pipeline
                .expire(&key, expire, None)
                .await
                .map_err(|e| e.to_string())?;
            let (n, _): (u64, i64) = pipeline.all().await.map_err(|e| e.to_string())?;
            Ok(n)
        })
    }
}
