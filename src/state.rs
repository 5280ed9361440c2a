//! `AppState`: what every handler, feature function and socket task shares — settings, the
//! database, credentials, the realtime transport and the shutdown signal — and the one place a
//! bearer token becomes a `CurrentUser`.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::db;
use crate::db::entities::user;
use crate::error::ApiError;
use crate::events::{Events, Subscriber};
use crate::http::{Authenticator, CurrentUser};
use crate::realtime::hub::Control;
use crate::realtime::{Realtime, Tasks};
use crate::security::LoginLimiter;
use crate::security::limiter::UserLimiter;
use crate::security::passwords::Passwords;
use crate::security::signing::LinkSigner;
use crate::security::tokens::{TokenService, TokenType};
use crate::storage::MediaStore;

pub mod cache;
pub mod queues;
pub mod rooms;
pub mod users;

pub use users::{IdList, UserCache};

/// Chat writers on PostgreSQL (rooms are spread over them by id). Fewer writers make bigger
/// batches (fewer statements and commits); more keep a slow commit from holding up every
/// room. On PostgreSQL + Redis, two instances: four writers sustained 5,000-6,200 REST sends/s,
/// one 6,400-7,200 but with a p99 up to 10-30 ms at 2,000 msg/s, two 6,300-6,600 with a p99 of
/// 3-8 ms.
const CHAT_WRITERS_POSTGRES: usize = 2;

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
    /// The statements themselves, while a test records them.
    pub statements: Arc<db::StatementLog>,
    /// Whether the database answered its last probe (every second, in the background), so
    /// `/health/` answers at once whatever the database does.
    pub database_up: Arc<AtomicBool>,
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
    /// Rooms' members and kind (`chat::members` loads and invalidates them).
    pub rooms: Arc<rooms::RoomCache>,
    /// The chat writers' queues (`chat::writer` consumes them).
    pub messages: queues::MessageQueues,
    /// Wakes this instance's job workers (`AppState::wake_jobs`).
    pub job_wake: Arc<tokio::sync::Notify>,
    /// One image decoded at a time per core (`media`).
    pub image_decoding: Semaphore,
    /// KiB of upload bodies held in memory at once (`AGORA_MEDIA_BUFFER_BYTES`).
    pub media_buffer_kib: Arc<Semaphore>,
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
    /// every after-commit event (`app::state` passes the application's). Also returns the
    /// receiving ends of the chat writers' queues, for `chat::writer::start`.
    pub async fn build(
        settings: Settings,
        subscribers: Vec<Subscriber<AppState>>,
    ) -> Result<(Self, Vec<mpsc::Receiver<queues::MessageJob>>), ApiError> {
        let queries = Arc::new(AtomicU64::new(0));
        let statements = Arc::new(db::StatementLog::default());
        let db = db::connect(
            &settings.database_url,
            settings.database_pool,
            queries.clone(),
            statements.clone(),
        )
        .await?;
        if settings.auto_migrate {
            db::migrate(&db).await?;
        }
        let tasks = Tasks::default();
        let database_up = Arc::new(AtomicBool::new(true));
        tasks.spawn(probe_database(db.clone(), database_up.clone()));
        let realtime = Realtime::build(&settings, &tasks)
            .await
            .map_err(ApiError::Internal)?;
        let users = Arc::new(UserCache::default());
        realtime.hub.add_cache(users.clone());
        let rooms = Arc::new(rooms::RoomCache::default());
        realtime.hub.add_cache(rooms.clone());
        // PostgreSQL gets several chat writers (rooms spread over them), SQLite one (it has one
        // writer anyway).
        let writers = if db.get_database_backend() == DbBackend::Postgres {
            CHAT_WRITERS_POSTGRES
        } else {
            1
        };
        let (messages, message_jobs) = queues::MessageQueues::new(writers);
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let buffer_kib = usize::try_from(settings.media.buffer_bytes.div_ceil(1024))
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        let login_limiter = LoginLimiter::new(
            settings.login_rate_per_address,
            settings.login_failures_per_username,
            realtime.counters.clone(),
        )
        .with_registrations(settings.register_rate_per_address);
        let state = Self(Arc::new(Inner {
            realtime,
            users,
            rooms,
            messages,
            job_wake: Arc::new(tokio::sync::Notify::new()),
            image_decoding: Semaphore::new(cores),
            media_buffer_kib: Arc::new(Semaphore::new(buffer_kib)),
            queries,
            statements,
            database_up,
            shutdown: watch::channel(false).0,
            ws_slots: Arc::new(Semaphore::new(settings.ws_max_connections)),
            ws_user_slots: crate::realtime::slots::UserSlots::new(settings.ws_max_per_user),
            sockets: TaskTracker::new(),
            tasks,
            events: Events::new(subscribers),
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
        }));
        Ok((state, message_jobs))
    }
}

/// How often the database is probed for `/health/`, and how long a probe may take.
const DATABASE_PROBE: Duration = Duration::from_secs(1);

async fn probe_database(db: DatabaseConnection, up: Arc<AtomicBool>) {
    loop {
        let ok = matches!(
            tokio::time::timeout(DATABASE_PROBE, db.ping()).await,
            Ok(Ok(()))
        );
        if up.swap(ok, Ordering::AcqRel) != ok {
            tracing::warn!(up = ok, "database link changed");
        }
        tokio::time::sleep(DATABASE_PROBE).await;
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

    /// A job was enqueued and committed: a worker of this instance takes it now rather than at
    /// its next look (other instances look every second).
    pub fn wake_jobs(&self) {
        self.job_wake.notify_one();
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
            match self.users.rows.get(id) {
                Some(u) => rows.push(u),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let generation = self.users.rows.generation();
            let loaded = user::Entity::find()
                .filter(user::Column::Id.is_in(missing))
                .all(&self.db)
                .await?;
            for row in loaded {
                let row = Arc::new(row);
                self.users.rows.put(generation, row.id, row.clone());
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// The user's row, from the cache or else the database.
    async fn load_user(&self, id: i64) -> Result<Option<Arc<user::Model>>, ApiError> {
        if let Some(u) = self.users.rows.get(&id) {
            return Ok(Some(u));
        }
        let generation = self.users.rows.generation();
        let Some(row) = user::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let row = Arc::new(row);
        self.users.rows.put(generation, id, row.clone());
        Ok(Some(row))
    }
}

impl Authenticator for AppState {
    fn email_required(&self) -> bool {
        self.settings.accounts.verification == crate::config::Verification::Mandatory
    }

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
            login: claims.fam.map(Into::into),
        })
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

    /// A link to a deleted file an open report holds (`media::hold`): signed for `held-` and
    /// the variant, so no link made before the deletion serves it.
    pub fn held_url(&self, id: i64, variant: &str) -> String {
        format!(
            "{}/api/media/{id}/{variant}/?expires={}&signature={}",
            self.base,
            self.expires,
            self.signer
                .sign(id, &format!("held-{variant}"), self.expires)
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
