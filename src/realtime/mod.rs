//! Real time: the `/ws/` gateway, the hub of this instance's connections, the bus that carries
//! events between instances (in-process or Redis) and presence.

pub mod bus;
pub mod event;
pub mod gateway;
pub mod hub;
pub mod presence;
pub mod redis;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::config::Settings;
use bus::{Bus, LocalBus};
use hub::Hub;
use presence::{LocalPresence, PresenceStore};

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(gateway::upgrade))
}

pub struct Realtime {
    pub hub: Arc<Hub>,
    bus: Arc<dyn Bus>,
    presence: Arc<dyn PresenceStore>,
    /// The users this instance has claimed as online in the presence store, sharded so that one
    /// user's transitions wait only for users of the same shard. A tokio mutex: it is held
    /// across the presence store's round trip on purpose.
    claimed: Vec<tokio::sync::Mutex<HashSet<i64>>>,
    /// Users another instance held and lost by dying; taken once by `AppState::build`.
    expired: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<i64>>>,
}

impl Realtime {
    /// In-process unless `AGORA_REDIS_URL` is set.
    pub async fn build(settings: &Settings) -> Result<Self, String> {
        let hub = Arc::new(Hub::default());
        match &settings.redis_url {
            None => Ok(Self {
                bus: Arc::new(LocalBus::new(hub.clone())),
                presence: Arc::new(LocalPresence::new(hub.clone())),
                hub,
                claimed: claim_shards(),
                expired: std::sync::Mutex::new(None),
            }),
            Some(url) => {
                let instance = crate::auth::tokens::new_jti();
                let (expired_tx, expired_rx) = tokio::sync::mpsc::channel(1024);
                let backend = redis::RedisBackend::connect(
                    url,
                    &settings.redis_prefix,
                    instance,
                    hub.clone(),
                    settings.presence_ttl,
                    expired_tx,
                )
                .await?;
                Ok(Self {
                    bus: backend.clone(),
                    presence: backend,
                    hub,
                    claimed: claim_shards(),
                    expired: std::sync::Mutex::new(Some(expired_rx)),
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

    pub async fn broker_healthy(&self) -> bool {
        self.bus.healthy().await
    }

    /// Which of `user_ids` are online on any instance. If the presence store is unreachable,
    /// this instance's own connections are the best answer there is.
    pub async fn online(&self, user_ids: Vec<i64>) -> HashSet<i64> {
        if user_ids.is_empty() {
            return HashSet::new();
        }
        match self.presence.online(user_ids.clone()).await {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "presence store unavailable; answering from this instance");
                user_ids
                    .into_iter()
                    .filter(|id| self.hub.is_connected(*id))
                    .collect()
            }
        }
    }
}

/// Brings this instance's presence claim for `user_id` in line with its hub: claimed while a
/// connection of the user is open here. Called after a first connection opens and after a last
/// one closes. Transitions of one user are serialised, and each re-reads the hub, so a quick
/// reconnect (a page reload) cannot apply "online" before the "offline" of the old socket.
pub async fn sync_presence(app: &AppState, user_id: i64) {
    let rt = &app.realtime;
    let shard = &rt.claimed[shard_of(user_id)];
    let mut claimed = shard.lock().await;
    let want = rt.hub.is_connected(user_id);
    if want == claimed.contains(&user_id) {
        return;
    }
    if want {
        claimed.insert(user_id);
        rt.bus.subscribe(user_id);
        let came_online = rt.presence.connect(user_id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "presence store unavailable");
            true
        });
        if came_online {
            announce(app, user_id, "online").await;
        }
    } else {
        claimed.remove(&user_id);
        rt.bus.unsubscribe(user_id);
        let gone = rt.presence.disconnect(user_id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "presence store unavailable");
            true
        });
        if gone {
            went_offline(app, user_id).await;
        }
    }
}

const CLAIM_SHARDS: usize = 64;

fn shard_of(user_id: i64) -> usize {
    usize::try_from(user_id.rem_euclid(CLAIM_SHARDS as i64)).unwrap_or(0)
}

fn claim_shards() -> Vec<tokio::sync::Mutex<HashSet<i64>>> {
    (0..CLAIM_SHARDS).map(|_| Default::default()).collect()
}

/// Reports the users whose instance died (found by the presence store) as offline.
pub async fn report_expired(app: AppState) {
    let rx = app
        .realtime
        .expired
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let Some(mut rx) = rx else { return };
    while let Some(user_id) = rx.recv().await {
        went_offline(&app, user_id).await;
    }
}

async fn went_offline(app: &AppState, user_id: i64) {
    if let Err(e) = crate::users::store::touch_last_seen(&app.db, user_id).await {
        tracing::warn!(error = %e, "could not store last_seen");
    }
    announce(app, user_id, "offline").await;
}

/// `online_status` to the friends allowed to see it (blocking ends friendships, so friends
/// are never blocked).
async fn announce(app: &AppState, user_id: i64, status: &str) {
    let user = match crate::users::store::find_by_id(&app.db, user_id).await {
        Ok(Some(u)) if u.show_online_status => u,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not load user for presence");
            return;
        }
    };
    let friends = match crate::friends::store::friend_ids(&app.db, user_id).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "could not load friends for presence");
            return;
        }
    };
    app.realtime.publish(
        &friends,
        "online_status",
        &json!({"user_id": user_id, "status": status, "last_seen": user.last_seen}),
    );
}
