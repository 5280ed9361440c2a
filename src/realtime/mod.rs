//! Real-time transport: the hub of this instance's connections, the bus that carries events
//! between instances (in-process or Redis), presence claims and event encoding. It knows no
//! feature: the `/ws/` gateway in `ws/` decides what a frame or a presence change means.

pub mod bus;
pub mod event;
pub mod hub;
pub mod presence;
pub mod redis;
pub mod slots;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::security::limiter::{Counters, LocalCounters};
use bus::{Bus, LocalBus};
use hub::Hub;
use presence::{LocalPresence, PresenceStore};

pub struct Realtime {
    pub hub: Arc<Hub>,
    bus: Arc<dyn Bus>,
    presence: Arc<dyn PresenceStore>,
    /// Rate-limit counts, shared by every instance when Redis is in use.
    pub counters: Arc<dyn Counters>,
    /// The users this instance has claimed as online in the presence store, sharded so that one
    /// user's transitions wait only for users of the same shard. A tokio mutex: it is held
    /// across the presence store's round trip on purpose.
    claimed: Vec<tokio::sync::Mutex<HashSet<i64>>>,
    /// Users another instance held and lost by dying; taken once by `take_expired`.
    expired: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<i64>>>,
    /// What the presence store last said of each user asked about, for when it cannot answer:
    /// nobody connected on another instance reads as offline because the broker is away.
    last_known: std::sync::Mutex<HashMap<i64, bool>>,
}

/// Users whose last known presence is kept; past it the record starts over.
const LAST_KNOWN_MAX: usize = 100_000;

impl Realtime {
    /// In-process unless `AGORA_REDIS_URL` is set.
    pub async fn build(settings: &Settings, tasks: &Tasks) -> Result<Self, String> {
        let hub = Arc::new(Hub::default());
        match &settings.redis_url {
            None => Ok(Self {
                bus: Arc::new(LocalBus::new(hub.clone())),
                presence: Arc::new(LocalPresence::new(hub.clone())),
                counters: Arc::new(LocalCounters::default()),
                hub,
                claimed: claim_shards(),
                expired: std::sync::Mutex::new(None),
                last_known: std::sync::Mutex::default(),
            }),
            Some(url) => {
                let instance = instance_id();
                let (expired_tx, expired_rx) = tokio::sync::mpsc::channel(1024);
                let backend = redis::RedisBackend::connect(
                    url,
                    &settings.redis_prefix,
                    instance,
                    hub.clone(),
                    settings.presence_ttl,
                    expired_tx,
                    tasks,
                )
                .await?;
                Ok(Self {
                    bus: backend.clone(),
                    counters: backend.clone(),
                    presence: backend,
                    hub,
                    claimed: claim_shards(),
                    expired: std::sync::Mutex::new(Some(expired_rx)),
                    last_known: std::sync::Mutex::default(),
                })
            }
        }
    }

    /// Sends `{type, data}` to every connection of `recipients`, encoding it once.
    pub fn publish<T: Serialize>(&self, recipients: &[i64], kind: &str, data: &T) {
        if recipients.is_empty() {
            return;
        }
        metrics::counter!("agora_events_published_total", "type" => kind.to_owned()).increment(1);
        self.bus.publish(recipients, event::encode(kind, data));
    }

    /// `publish`, returning once the event is on the bus (see `Bus::publish_confirmed`).
    pub async fn publish_confirmed<T: Serialize>(&self, recipients: &[i64], kind: &str, data: &T) {
        if recipients.is_empty() {
            return;
        }
        metrics::counter!("agora_events_published_total", "type" => kind.to_owned()).increment(1);
        self.bus
            .publish_confirmed(recipients, event::encode(kind, data))
            .await;
    }

    /// Applies `control` on this instance and hands it to every other one before returning.
    pub async fn broadcast(&self, control: hub::Control) {
        self.bus.broadcast(control).await;
    }

    pub async fn broker_healthy(&self) -> bool {
        self.bus.healthy().await
    }

    /// Which of `user_ids` are online on any instance. If the presence store is unreachable,
    /// this instance's own connections and what the store said last are the best answer there
    /// is.
    pub async fn online(&self, user_ids: Vec<i64>) -> HashSet<i64> {
        // A user with a connection on this instance is online: only the others are asked of
        // the presence store (a round trip to Redis saved when all are here).
        let (here, elsewhere): (HashSet<i64>, Vec<i64>) = {
            let (h, e) = self.hub.partition_connected(user_ids);
            (h.into_iter().collect(), e)
        };
        // One instance: nobody is online elsewhere (a 20,000-friend list is asked at once).
        if elsewhere.is_empty() || !self.presence.shared() {
            return here;
        }
        match self.presence.online(elsewhere.clone()).await {
            Ok(mut set) => {
                let mut known = self.last_known.lock().unwrap_or_else(|e| e.into_inner());
                if known.len() + elsewhere.len() > LAST_KNOWN_MAX {
                    known.clear();
                }
                for id in elsewhere {
                    known.insert(id, set.contains(&id));
                }
                set.extend(here);
                set
            }
            Err(e) => {
                // Per request, so not a warning: the link watcher warns once when Redis goes.
                tracing::debug!(error = %e, "presence store unavailable; answering from what it said last");
                let known = self.last_known.lock().unwrap_or_else(|e| e.into_inner());
                let mut set = here;
                set.extend(
                    elsewhere
                        .into_iter()
                        .filter(|id| known.get(id) == Some(&true)),
                );
                set
            }
        }
    }
}

/// A presence change that a claim caused, for the gateway to announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Online,
    Offline,
}

impl Realtime {
    /// Brings this instance's presence claim for `user_id` in line with its hub: claimed while a
    /// connection of the user is open here. Called after a first connection opens and after a
    /// last one closes; returns the user's transition across all instances, if there was one.
    /// Transitions of one user are serialised, and each re-reads the hub, so a quick reconnect (a
    /// page reload) cannot apply "online" before the "offline" of the old socket. The guard
    /// comes back with the transition: hold it while announcing, so one user's announcements
    /// go out in order.
    pub async fn sync_claim(
        &self,
        user_id: i64,
    ) -> (
        Option<Transition>,
        tokio::sync::MutexGuard<'_, HashSet<i64>>,
    ) {
        let mut claimed = self.claimed[shard_of(user_id)].lock().await;
        let want = self.hub.is_connected(user_id);
        if want == claimed.contains(&user_id) {
            return (None, claimed);
        }
        let changed = if want {
            claimed.insert(user_id);
            self.bus.subscribe(user_id);
            let came_online = self.presence.connect(user_id).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "presence store unavailable");
                true
            });
            came_online.then_some(Transition::Online)
        } else {
            claimed.remove(&user_id);
            self.bus.unsubscribe(user_id);
            let gone = self.presence.disconnect(user_id).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "presence store unavailable");
                true
            });
            gone.then_some(Transition::Offline)
        };
        (changed, claimed)
    }

    /// Users another instance held and lost by dying, as the presence store finds them; taken
    /// once (the gateway's sweeper reports them offline).
    pub fn take_expired(&self) -> Option<tokio::sync::mpsc::Receiver<i64>> {
        self.expired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// A random name for this instance in the presence store.
fn instance_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

const CLAIM_SHARDS: usize = 64;

fn shard_of(user_id: i64) -> usize {
    usize::try_from(user_id.rem_euclid(CLAIM_SHARDS as i64)).unwrap_or(0)
}

fn claim_shards() -> Vec<tokio::sync::Mutex<HashSet<i64>>> {
    (0..CLAIM_SHARDS).map(|_| Default::default()).collect()
}

/// Background tasks that shutdown waits for: each ends at its next `.await` once `stop` is
/// cancelled.
#[derive(Clone, Default)]
pub struct Tasks {
    pub tracker: TaskTracker,
    pub stop: CancellationToken,
}

impl Tasks {
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = task => {}
            }
        });
    }
}
