//! Accounts and JWT authentication: register, login, refresh with rotation and reuse
//! detection, verify, logout and password change, plus the login rate limit.

pub mod model;
pub mod passwords;
mod routes;
pub mod store;
pub mod tokens;

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::Router;
use axum::routing::post;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::app::AppState;
use crate::db::entities::user;
use crate::error::ApiError;
use model::TokenPair;
use tokens::TokenType;

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(routes::register))
        .route("/api/auth/login", post(routes::login))
        .route("/api/auth/refresh", post(routes::refresh))
        .route("/api/auth/verify", post(routes::verify))
        .route("/api/auth/logout", post(routes::logout))
        .route("/api/auth/password/change", post(routes::change_password))
}

/// Issues an access and a refresh token; the refresh token is recorded under `family`
/// (a new login starts a new family).
pub async fn issue_pair(
    app: &AppState,
    user: &user::Model,
    family: Option<&str>,
) -> Result<TokenPair, ApiError> {
    let family = family.map_or_else(tokens::new_jti, str::to_owned);
    let sign_err =
        |e: jsonwebtoken::errors::Error| ApiError::Internal(format!("signing failed: {e}"));
    let (access, _) = app
        .tokens
        .issue(TokenType::Access, user.id, user.token_version, None)
        .map_err(sign_err)?;
    let (refresh, claims) = app
        .tokens
        .issue(
            TokenType::Refresh,
            user.id,
            user.token_version,
            Some(&family),
        )
        .map_err(sign_err)?;
    store::insert(&app.db, &claims.jti, user.id, &family, claims.expires_at()).await?;
    Ok(TokenPair { access, refresh })
}

/// Deactivates an account: no login, every refresh token blacklisted, every access token
/// invalid (the token version moves on).
pub async fn deactivate_account(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    crate::users::store::deactivate(&app.db, user_id).await?;
    store::blacklist_user(&app.db, user_id).await?;
    Ok(())
}

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
