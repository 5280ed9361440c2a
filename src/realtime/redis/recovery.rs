//! What an instance does after a gap in its link to Redis: events published on the bus while
//! it was cut off are lost, so every client that may have missed one is told to fetch again
//! (`resync`), and its users' presence claims (which a restarted Redis no longer holds) are
//! made again at once.
//!
//! Who may have missed an event: this instance's own clients, when its subscriber was away (it
//! heard nothing meanwhile); and the recipients of what this instance failed to publish, on
//! whatever instance they are (kept in `Missed` until the link is back).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Command, RedisBackend};
use crate::realtime::event::{self, Frame};

/// Recipients of failed publishes kept for their `resync`; past this the oldest gap's
/// recipients still get theirs, the rest are logged (bounded memory: 8 bytes an id).
pub(super) const MISSED_MAX: usize = 100_000;

/// Recipients of events this instance could not publish, and since when.
#[derive(Default)]
pub(super) struct Missed {
    pub(super) users: HashSet<i64>,
    pub(super) since: Option<DateTime<Utc>>,
    pub(super) overflowed: bool,
}

/// The `resync` event: `since` is when the gap may have begun.
pub fn resync_frame(since: DateTime<Utc>) -> Frame {
    event::encode("resync", &json!({ "since": since }))
}

impl RedisBackend {
    /// Notes that an event for `recipients` did not reach the bus.
    pub(super) fn missed(&self, recipients: &[i64]) {
        metrics::counter!("agora_bus_events_missed_total").increment(1);
        let mut missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
        missed.since.get_or_insert_with(|| self.last_up());
        for id in recipients {
            if missed.users.len() >= MISSED_MAX {
                missed.overflowed = true;
                break;
            }
            missed.users.insert(*id);
        }
    }

    /// Whether some recipients are owed a `resync`.
    pub(super) fn has_missed(&self) -> bool {
        let missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
        !missed.users.is_empty() || missed.overflowed
    }

    /// When the link was last seen up, less a probe period: a gap began after it.
    pub(super) fn last_up(&self) -> DateTime<Utc> {
        let ms = self.last_up_ms.load(Ordering::Acquire);
        DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
            - chrono::Duration::from_std(super::PROBE_EVERY + super::PROBE_TIMEOUT)
                .unwrap_or_default()
    }

    /// After a gap: this instance's clients (when `heard_nothing`: its subscriber was away)
    /// and the recipients of every failed publish get `resync`; presence claims are renewed.
    pub(super) async fn recover(&self, heard_nothing: bool, since: DateTime<Utc>) {
        let missed = std::mem::take(&mut *self.missed.lock().unwrap_or_else(|e| e.into_inner()));
        if missed.overflowed {
            tracing::warn!(
                kept = MISSED_MAX,
                "more recipients missed events than are kept; the rest are not told to resync"
            );
        }
        let since = missed.since.map_or(since, |m| m.min(since));
        let frame = resync_frame(since);
        if heard_nothing {
            let local = self.hub.users();
            tracing::info!(clients = local.len(), %since, "telling this instance's users to resync");
            self.hub.deliver(&local, &frame);
        }
        if !missed.users.is_empty() {
            let ids: Vec<i64> = missed.users.into_iter().collect();
            tracing::info!(users = ids.len(), %since, "telling the recipients of lost events to resync");
            if heard_nothing {
                // This instance's own were told above; the others hear it through the bus.
                let _ = self.queue.try_send(Command::Publish(ids, frame, None));
            } else {
                self.hub.deliver(&ids, &frame);
                let _ = self.queue.try_send(Command::Publish(ids, frame, None));
            }
        }
        self.renew_claims().await;
    }
}
