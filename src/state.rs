//! `AppState`: what every handler, feature function and socket task shares — settings, the
//! database, credentials, the realtime transport and the shutdown signal — and the one place a
//! bearer token becomes a `CurrentUser`.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::db;
use crate::db::entities::user;
use crate::error::ApiError;
use crate::events::{Events, Subscriber};
use crate::http::{Authenticator, CurrentUser};
use crate::realtime::hub::{Control, Invalidate};
use crate::realtime::{Realtime, Tasks};
use crate::security::LoginLimiter;
use crate::security::limiter::UserLimiter;
use crate::security::passwords::Passwords;
use crate::security::signing::LinkSigner;
use crate::security::tokens::{TokenService, TokenType};
use crate::storage::MediaStore;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub tokens: TokenService,
    pub passwords: Passwords,
    pub login_limiter: LoginLimiter,
    /// Chat sends per user, REST and WebSocket together.
    pub send_limiter: UserLimiter,
    /// Media uploads per user.
    pub upload_limiter: UserLimiter,
    /// Media bytes: local disk or S3.
    pub media: MediaStore,
    /// Signs and checks media links.
    pub links: LinkSigner,
    pub realtime: Realtime,
    pub users: Arc<UserCache>,
    /// Statements run on `db` since start-up.
    pub queries: Arc<AtomicU64>,
    /// Flipped to true when the server begins shutting down; WebSocket tasks watch it.
    shutdown: watch::Sender<bool>,
    /// One permit per open WebSocket (`AGORA_WS_MAX_CONNECTIONS`).
    pub ws_slots: Arc<Semaphore>,
    /// Each user's share of `ws_slots` (`AGORA_WS_MAX_PER_USER`).
    pub ws_user_slots: Arc<crate::realtime::slots::UserSlots>,
    /// Every socket task, so shutdown can wait for them to end.
    pub sockets: TaskTracker,
    /// Every background task (the Redis ones included).
    pub tasks: Tasks,
    /// The after-commit seam: features publish here, `app.rs` chose the subscribers.
    pub events: Events<AppState>,
    /// One instance per type of what the features above keep for the application's lifetime
    /// (the chat writer), made on first use: `AppState::feature`.
    features: std::sync::Mutex<HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Tells every WebSocket task that the server is going away.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// This application's `T`, made by `make` the first time it is asked for.
    pub fn feature<T: std::any::Any + Send + Sync>(&self, make: impl FnOnce(&Self) -> T) -> Arc<T> {
        let mut map = self
            .features
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = std::any::TypeId::of::<T>();
        if let Some(found) = map.get(&key).and_then(|v| v.clone().downcast::<T>().ok()) {
            return found;
        }
        let made = Arc::new(make(self));
        map.insert(key, made.clone());
        made
    }

    /// Runs `task` until it ends or the background tasks are stopped, tracked for shutdown.
    pub fn spawn_background<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// After `begin_shutdown`: waits for every socket to close, then stops the background
    /// tasks and waits for them, all within `AGORA_SHUTDOWN_TIMEOUT_SECS`. False when the
    /// deadline passed first.
    pub async fn wait_for_tasks(&self) -> bool {
        let deadline = tokio::time::Instant::now() + self.settings.shutdown_timeout;
        self.sockets.close();
        self.tasks.tracker.close();
        // Sockets first: closing one releases its presence, which needs the broker.
        let sockets = tokio::time::timeout_at(deadline, self.sockets.wait())
            .await
            .is_ok();
        self.tasks.stop.cancel();
        let rest = tokio::time::timeout_at(deadline, self.tasks.tracker.wait())
            .await
            .is_ok();
        sockets && rest
    }

    /// Connects to the database and, unless turned off, migrates it; `subscribers` receive
    /// every after-commit event (`app::state` passes the application's).
    pub async fn build(
        settings: Settings,
        subscribers: Vec<Subscriber<AppState>>,
    ) -> Result<Self, ApiError> {
        let queries = Arc::new(AtomicU64::new(0));
        let db = db::connect(
            &settings.database_url,
            settings.database_pool,
            queries.clone(),
        )
        .await?;
        if settings.auto_migrate {
            db::migrate(&db).await?;
        }
        let tasks = Tasks::default();
        let realtime = Realtime::build(&settings, &tasks)
            .await
            .map_err(ApiError::Internal)?;
        let users = Arc::new(UserCache::default());
        realtime.hub.add_cache(users.clone());
        let login_limiter = LoginLimiter::new(
            settings.login_rate_per_address,
            settings.login_failures_per_username,
            realtime.counters.clone(),
        )
        .with_registrations(settings.register_rate_per_address);
        Ok(Self(Arc::new(Inner {
            realtime,
            users,
            queries,
            shutdown: watch::channel(false).0,
            ws_slots: Arc::new(Semaphore::new(settings.ws_max_connections)),
            ws_user_slots: crate::realtime::slots::UserSlots::new(settings.ws_max_per_user),
            sockets: TaskTracker::new(),
            tasks,
            events: Events::new(subscribers),
            features: std::sync::Mutex::default(),
            tokens: TokenService::new(
                settings.secret_key.expose(),
                settings.access_token_lifetime,
                settings.refresh_token_lifetime,
            ),
            passwords: Passwords::new(settings.argon2_memory_kib, settings.argon2_iterations)?,
            login_limiter,
            send_limiter: UserLimiter::new(settings.chat_rate_per_second, settings.chat_burst),
            upload_limiter: UserLimiter::per_minute(settings.media.uploads_per_minute),
            media: MediaStore::build(&settings.media).map_err(ApiError::Internal)?,
            links: LinkSigner::new(settings.secret_key.expose()),
            db,
            settings,
        })))
    }
}

impl AppState {
    /// A user row changed (profile, counts, `last_seen`): every instance drops its copy.
    /// Call after the change committed.
    pub async fn user_changed(&self, user_id: i64) {
        self.realtime.broadcast(Control::Changed(user_id)).await;
    }

    /// The user's tokens were revoked (password change, deactivation): every instance drops
    /// its copy of the user and closes the user's sockets with 4401. Call after the commit.
    pub async fn revoke_sessions(&self, user_id: i64) {
        self.realtime.broadcast(Control::Revoked(user_id)).await;
    }

    /// Whether `me`'s user is still active at the token version `me` was authenticated with.
    /// A database error keeps the session: it is no proof of revocation.
    pub async fn still_valid(&self, me: &CurrentUser) -> bool {
        match self.load_user(me.id).await {
            Ok(Some(u)) => u.is_active && u.token_version == me.user.token_version,
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// The rows of those of `ids` that exist, from the cache, the misses loaded in one query.
    pub async fn users_by_id(&self, ids: &[i64]) -> Result<Vec<Arc<user::Model>>, ApiError> {
        let mut rows = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.users.get(*id) {
                Some(u) => rows.push(u),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let generation = self.users.generation();
            let loaded = user::Entity::find()
                .filter(user::Column::Id.is_in(missing))
                .all(&self.db)
                .await?;
            for row in loaded {
                let row = Arc::new(row);
                self.users.put(generation, row.clone());
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// The user's row, from the cache or else the database.
    async fn load_user(&self, id: i64) -> Result<Option<Arc<user::Model>>, ApiError> {
        if let Some(u) = self.users.get(id) {
            return Ok(Some(u));
        }
        let generation = self.users.generation();
        let Some(row) = user::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let row = Arc::new(row);
        self.users.put(generation, row.clone());
        Ok(Some(row))
    }
}

impl Authenticator for AppState {
    /// A valid access token of an active user, issued after the user's last password change.
    async fn authenticate(&self, token: &str) -> Result<CurrentUser, ApiError> {
        let claims = self
            .tokens
            .decode(token, TokenType::Access)
            .map_err(|_| ApiError::token_not_valid())?;
        let user = self
            .load_user(claims.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(|| ApiError::TokenNotValid("User not found".into()))?;
        if claims.ver != user.token_version {
            return Err(ApiError::token_not_valid());
        }
        Ok(CurrentUser {
            id: user.id,
            is_staff: user.is_staff,
            user,
            token_expires_at: claims.exp,
        })
    }
}

/// How long a cached user row is trusted without an invalidation: bounds the staleness left by
/// a control message lost while the broker was cut off from one instance only.
const USER_CACHE_TTL: Duration = Duration::from_secs(30);
/// Entries past which the cache starts over; a user row is about 1 KiB.
const USER_CACHE_MAX: usize = 100_000;

/// A cached value and when it was cached.
type Stamped<T> = (T, Instant);

/// One cached id list.
type StampedIds = Stamped<Arc<[i64]>>;

/// The id lists kept per user beside their row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdList {
    Friends,
    /// Users who blocked them or whom they blocked.
    Blocked,
}

/// The authenticated users' rows, so an authenticated request needs no query for its caller.
/// Every change to a user row goes through `AppState::user_changed` or `revoke_sessions`,
/// which invalidate it here and, through the bus, on every other instance.
#[derive(Default)]
pub struct UserCache {
    // A std lock: held for a map operation only, never across an `.await`.
    entries: RwLock<HashMap<i64, Stamped<Arc<user::Model>>>>,
    /// Each user's friend ids and the ids of users blocked either way with them. A friendship
    /// change changes both users' `friend_count`, and a block or unblock is announced for
    /// both users, so each invalidates both users' lists like any other change to their rows.
    lists: RwLock<HashMap<(i64, IdList), StampedIds>>,
    /// Bumped by every invalidation: a row read before one is not cached after it.
    generation: AtomicU64,
}

impl UserCache {
    pub fn get(&self, id: i64) -> Option<Arc<user::Model>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|(_, at)| at.elapsed() < USER_CACHE_TTL)
            .map(|(u, _)| u.clone())
    }

    pub fn ids(&self, user_id: i64, list: IdList) -> Option<Arc<[i64]>> {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .get(&(user_id, list))
            .filter(|(_, at)| at.elapsed() < USER_CACHE_TTL)
            .map(|(ids, _)| ids.clone())
    }

    /// Caches one of `user_id`'s id lists unless an invalidation happened since `generation`.
    pub fn put_ids(&self, generation: u64, user_id: i64, list: IdList, ids: Arc<[i64]>) {
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if lists.len() >= USER_CACHE_MAX {
            lists.clear();
        }
        lists.insert((user_id, list), (ids, Instant::now()));
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `user` unless an invalidation happened since `generation` was read.
    fn put(&self, generation: u64, user: Arc<user::Model>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= USER_CACHE_MAX {
            entries.clear();
        }
        entries.insert(user.id, (user, Instant::now()));
    }
}

impl Invalidate for UserCache {
    fn invalidate(&self, control: Control) {
        let (Control::Changed(user_id) | Control::Revoked(user_id)) = control else {
            return;
        };
        // Both locks, entries first as in `put`, so no put slips between bump and removal.
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&user_id);
        lists.remove(&(user_id, IdList::Friends));
        lists.remove(&(user_id, IdList::Blocked));
    }

    fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let mut lists = self.lists.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        lists.clear();
    }
}

/// Builds signed, absolute media links for one response or event: the base of the request
/// (or socket) being served, else `AGORA_PUBLIC_URL`, else the bound address; one expiry for
/// all of them, rounded up to the minute so a link stays the same for a minute (cacheable).
#[derive(Clone)]
pub struct MediaLinks {
    signer: LinkSigner,
    base: Arc<str>,
    expires: i64,
}

impl MediaLinks {
    /// `variant` is `content` or `thumbnail`.
    pub fn url(&self, id: i64, variant: &str) -> String {
        format!(
            "{}/api/media/{id}/{variant}/?expires={}&signature={}",
            self.base,
            self.expires,
            self.signer.sign(id, variant, self.expires)
        )
    }
}

impl AppState {
    /// Links for the response being served: on the request's (or socket's) origin, which is
    /// `AGORA_PUBLIC_URL` when set; outside a request, `event_links`.
    pub fn media_links(&self) -> MediaLinks {
        let base = crate::http::origin::current_base().unwrap_or_else(|| self.event_base());
        self.links_on(base)
    }

    /// Links for what is delivered to other users (events, notifications): never built from
    /// the headers of the request that caused them. Absolute on `AGORA_PUBLIC_URL` when set,
    /// else relative to the server (`/api/media/...`), which each client resolves against the
    /// address it reached the server at.
    pub fn event_links(&self) -> MediaLinks {
        self.links_on(self.event_base())
    }

    fn event_base(&self) -> Arc<str> {
        match &self.settings.public_url {
            Some(u) => u.as_str().trim_end_matches('/').into(),
            None => "".into(),
        }
    }

    /// Runs `f`, which builds something for other users than the caller (a view inside an
    /// event), with `event_links` as the links of everything it builds.
    pub async fn for_others<F: Future>(&self, f: F) -> F::Output {
        crate::http::origin::with_base(self.event_base(), f).await
    }

    fn links_on(&self, base: Arc<str>) -> MediaLinks {
        let ttl = i64::try_from(self.settings.media.url_ttl.as_secs()).unwrap_or(3600);
        let expires = (chrono::Utc::now().timestamp() + ttl).div_euclid(60) * 60 + 60;
        MediaLinks {
            signer: self.links.clone(),
            base,
            expires,
        }
    }
}
