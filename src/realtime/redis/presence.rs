//! Presence in Redis: each user's claims, renewed by their instance, swept when it dies.

use std::collections::HashSet;
use std::sync::Arc;

use fred::prelude::*;
use fred::types::sorted_sets::Ordering;
use futures_util::future::BoxFuture;

use super::RedisBackend;
use crate::realtime::presence::{PresenceResult, PresenceStore};

impl RedisBackend {
    pub(super) async fn renew_presence(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.presence_ttl / 3);
        loop {
            tick.tick().await;
            self.renew_claims().await;
        }
    }

    /// Claims every user connected here again, until a TTL from now (a restarted Redis lost
    /// them: `recover` calls this at once).
    pub(super) async fn renew_claims(&self) {
        let users = self.hub.users();
        if users.is_empty() || !self.client.is_connected() {
            return;
        }
        let expiry = self.expiry_score();
        let pipeline = self.client.pipeline();
        for id in users {
            if let Err(e) = self.queue_claim(&pipeline, id, expiry).await {
                tracing::warn!(error = %e, "could not queue a presence renewal");
            }
        }
        let sent: Result<Vec<Value>, Error> = pipeline.all().await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "presence renewal failed");
        }
    }

    fn now_ms() -> f64 {
        chrono::Utc::now().timestamp_millis() as f64
    }

    fn expiry_score(&self) -> f64 {
        Self::now_ms() + self.presence_ttl.as_millis() as f64
    }

    fn key_ttl(&self) -> i64 {
        i64::try_from(self.presence_ttl.as_secs() * 2)
            .unwrap_or(120)
            .max(2)
    }

    /// Queues this instance's claim on `user_id` until `expiry`, the key's own expiry, and the
    /// user's entry in the index the sweeper reads.
    async fn queue_claim<C>(&self, c: &C, user_id: i64, expiry: f64) -> Result<(), Error>
    where
        C: SortedSetsInterface + KeysInterface + Sync,
    {
        let key = self.presence_key(user_id);
        let _: () = c
            .zadd(
                &key,
                None,
                None,
                false,
                false,
                (expiry, self.instance.as_str()),
            )
            .await?;
        let _: () = c.expire(&key, self.key_ttl(), None).await?;
        let index = self.presence_index();
        let ordering = Some(Ordering::GreaterThan);
        c.zadd(index, None, ordering, false, false, (expiry, user_id))
            .await
    }

    /// Runs MULTI: drop expired claims, add or remove this instance's, count the rest.
    async fn transition(&self, user_id: i64, add: bool) -> Result<i64, Error> {
        self.connected()?;
        let key = self.presence_key(user_id);
        let tx = self.client.multi();
        let _: () = tx.zremrangebyscore(&key, "-inf", Self::now_ms()).await?;
        if add {
            self.queue_claim(&tx, user_id, self.expiry_score()).await?;
        } else {
            let _: () = tx.zrem(&key, self.instance.as_str()).await?;
        }
        let _: () = tx.zcard(&key).await?;
        let results: Vec<Value> = tx.exec(true).await?;
        // ZCARD is the last command queued.
        let remaining = results.last().and_then(Value::as_i64).unwrap_or(0);
        if !add && remaining == 0 {
            let _: i64 = self.client.zrem(self.presence_index(), user_id).await?;
        }
        Ok(remaining)
    }

    /// Finds users whose every claim expired: their instance died. Runs on every instance; the
    /// ZREM that removes a user from the index decides which one reports them.
    pub(super) async fn sweep_dead_instances(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.presence_ttl / 3);
        loop {
            tick.tick().await;
            if !self.link_up() {
                continue;
            }
            if let Err(e) = self.sweep_once().await {
                tracing::warn!(error = %e, "presence sweep failed");
            }
        }
    }

    async fn sweep_once(&self) -> Result<(), Error> {
        let now = Self::now_ms();
        let stale: Vec<i64> = self
            .client
            .zrangebyscore(self.presence_index(), "-inf", now, false, Some((0, 1000)))
            .await?;
        for user_id in stale {
            let key = self.presence_key(user_id);
            let _: i64 = self.client.zremrangebyscore(&key, "-inf", now).await?;
            let live: i64 = self.client.zcard(&key).await?;
            if live > 0 {
                continue;
            }
            let removed: i64 = self.client.zrem(self.presence_index(), user_id).await?;
            if removed == 1 && self.expired.try_send(user_id).is_err() {
                tracing::warn!(user_id, "offline notice dropped: queue full");
            }
        }
        Ok(())
    }
}

impl PresenceStore for RedisBackend {
    fn connect(&self, user_id: i64) -> BoxFuture<'_, PresenceResult<bool>> {
        Box::pin(async move {
            self.transition(user_id, true)
                .await
                .map(|n| n == 1)
                .map_err(|e| e.to_string())
        })
    }

    fn disconnect(&self, user_id: i64) -> BoxFuture<'_, PresenceResult<bool>> {
        Box::pin(async move {
            self.transition(user_id, false)
                .await
                .map(|n| n == 0)
                .map_err(|e| e.to_string())
        })
    }

    fn online(&self, user_ids: Vec<i64>) -> BoxFuture<'_, PresenceResult<HashSet<i64>>> {
        Box::pin(async move {
            if user_ids.is_empty() {
                return Ok(HashSet::new());
            }
            self.connected().map_err(|e| e.to_string())?;
            // Just after a gap, a restarted Redis holds no claims until every instance has
            // made its own again: the caller answers from what it knew before.
            if self.settling() {
                return Err("presence settling after a broker gap".into());
            }
            let now = Self::now_ms();
            let keys: Vec<String> = user_ids.iter().map(|id| self.presence_key(*id)).collect();
            // One command for the whole list (a page of 20 friends was 20 ZCOUNTs, and their
            // encoding and replies were most of the request's CPU).
            let live: Vec<i64> = self
                .client
                .eval(ONLINE_SCRIPT, keys, now)
                .await
                .map_err(|e| e.to_string())?;
            Ok(user_ids
                .into_iter()
                .zip(live)
                .filter(|(_, on)| *on > 0)
                .map(|(id, _)| id)
                .collect())
        })
    }
}

/// For each key (a user's presence claims), 1 when a claim has not expired at ARGV[1], else 0.
const ONLINE_SCRIPT: &str = "local out = {} \
    for i, key in ipairs(KEYS) do \
        out[i] = redis.call('ZCOUNT', key, ARGV[1], '+inf') > 0 and 1 or 0 \
    end \
    return out";
