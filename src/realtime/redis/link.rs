//! The link to Redis: probed in the background so that nothing waits on a broker that is
//! away, and re-established after a gap (re-subscribe, then `recover`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use fred::prelude::*;

use super::{PROBE_EVERY, PROBE_TIMEOUT, RedisBackend};

impl RedisBackend {
    pub(super) async fn resubscribe_on_reconnect(self: Arc<Self>) {
        let mut rx = self.subscriber.reconnect_rx();
        while rx.recv().await.is_ok() {
            let since = self.gap_since();
            // Control messages published while we were away are lost: trust no cache.
            self.hub.clear_caches();
            let mut channels: Vec<String> = self
                .hub
                .users()
                .into_iter()
                .map(|id| self.channel(id))
                .collect();
            channels.extend(self.own_channels());
            tracing::info!(
                channels = channels.len(),
                "Redis reconnected; re-subscribing"
            );
            if let Err(e) = self.subscriber.subscribe(channels).await {
                tracing::warn!(error = %e, "re-subscribe failed");
            }
            // Subscribed again: whatever is published from now on arrives; what came before
            // is fetched again by the clients told to.
            self.recover(true, since).await;
        }
    }

    /// A gap in the link ended less than a few seconds ago (see `watch_link`).
    pub(super) fn settling(&self) -> bool {
        self.gap_start_ms.load(Ordering::Acquire) != 0
    }

    /// When the current gap in the link began (as far as the probes can tell).
    pub(super) fn gap_since(&self) -> chrono::DateTime<chrono::Utc> {
        let start = self.gap_start_ms.load(Ordering::Acquire);
        let last = self.last_up();
        match chrono::DateTime::from_timestamp_millis(start) {
            Some(at) if start > 0 => at.min(last),
            _ => last,
        }
    }

    /// Probes the link every `PROBE_EVERY`, so that `connected` (and `/health/`) know within
    /// a fraction of a second that Redis went away, and no request waits on it meanwhile.
    pub(super) async fn watch_link(self: Arc<Self>) {
        // Probes in a row that found the link up: after a few seconds of it, a gap is over.
        let mut steady = 0u32;
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let probe = tokio::time::timeout(PROBE_TIMEOUT, self.client.ping::<String>(None));
            let up = matches!(probe.await, Ok(Ok(_))) && self.subscriber.is_connected();
            let was = self.up.swap(up, Ordering::AcqRel);
            if was && !up {
                let last = self.last_up_ms.load(Ordering::Acquire);
                self.gap_start_ms.store(last, Ordering::Release);
            }
            if up {
                self.last_up_ms
                    .store(chrono::Utc::now().timestamp_millis(), Ordering::Release);
                steady = steady.saturating_add(1);
                if steady == 20 {
                    self.gap_start_ms.store(0, Ordering::Release);
                }
            } else {
                steady = 0;
            }
            if was != up {
                tracing::warn!(up, "Redis link changed");
            }
            // Back after a gap the subscriber may not have noticed (the publisher's link
            // alone failed), or events failed to go out while it was up (a full queue, a
            // publish past its wait): their recipients are told.
            if up && (!was || self.has_missed()) {
                let since = self.gap_since();
                self.recover(false, since).await;
            }
        }
    }

    /// Whether the link to Redis works, as last probed (no round trip).
    pub(super) fn link_up(&self) -> bool {
        self.up.load(Ordering::Acquire) && self.client.is_connected()
    }

    /// Fails at once while Redis is away, rather than after the command timeout, so callers
    /// fall back to this instance's own knowledge without slowing requests down.
    pub(super) fn connected(&self) -> Result<(), Error> {
        if self.link_up() {
            Ok(())
        } else {
            Err(Error::new(
                fred::error::ErrorKind::IO,
                "Redis is not connected",
            ))
        }
    }
}
