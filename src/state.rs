//! `AppState`: what every handler, feature function and socket task shares — settings, the
//! database, credentials, the realtime transport and the shutdown signal — and the one place a
//! bearer token becomes a `CurrentUser`.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::watch;

use crate::config::Settings;
use crate::db;
use crate::db::entities::user;
use crate::error::ApiError;
use crate::http::{Authenticator, CurrentUser};
use crate::realtime::Realtime;
use crate::security::LoginLimiter;
use crate::security::passwords::Passwords;
use crate::security::tokens::{TokenService, TokenType};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub tokens: TokenService,
    pub passwords: Passwords,
    pub login_limiter: LoginLimiter,
    pub realtime: Realtime,
    /// Flipped to true when the server begins shutting down; WebSocket tasks watch it.
    shutdown: watch::Sender<bool>,
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

    /// Tells every WebSocket task that the server is going away.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Connects to the database and, unless turned off, migrates it.
    pub async fn build(settings: Settings) -> Result<Self, ApiError> {
        let db = db::connect(&settings.database_url).await?;
        if settings.auto_migrate {
            db::migrate(&db).await?;
        }
        let realtime = Realtime::build(&settings)
            .await
            .map_err(ApiError::Internal)?;
        Ok(Self(Arc::new(Inner {
            realtime,
            shutdown: watch::channel(false).0,
            tokens: TokenService::new(
                settings.secret_key.expose(),
                settings.access_token_lifetime,
                settings.refresh_token_lifetime,
            ),
            passwords: Passwords::new(settings.argon2_memory_kib, settings.argon2_iterations)?,
            login_limiter: LoginLimiter::new(settings.login_rate_per_minute),
            db,
            settings,
        })))
    }
}

impl Authenticator for AppState {
    /// A valid access token of an active user, issued after the user's last password change.
    async fn authenticate(&self, token: &str) -> Result<CurrentUser, ApiError> {
        let claims = self
            .tokens
            .decode(token, TokenType::Access)
            .map_err(|_| ApiError::token_not_valid())?;
        let user = user::Entity::find_by_id(claims.user_id)
            .one(&self.db)
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
