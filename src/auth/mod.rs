//! Accounts and JWT authentication: register, login, refresh with rotation and reuse
//! detection, verify, logout and password change. The credentials they use (tokens, hashes,
//! refresh-token records, the login limit) live in `security/`.

mod email;
pub mod model;
mod routes;

use axum::Router;
use axum::routing::post;

use crate::db::entities::user;
use crate::error::ApiError;
use crate::security::sessions as store;
use crate::security::tokens::{self, TokenType};
use crate::state::AppState;
use model::TokenPair;

pub use email::ApiDoc as EmailApiDoc;
pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(routes::register))
        .route("/api/auth/login", post(routes::login))
        .route("/api/auth/refresh", post(routes::refresh))
        .route("/api/auth/verify", post(routes::verify))
        .route("/api/auth/logout", post(routes::logout))
        .route("/api/auth/password/change", post(routes::change_password))
        .route("/api/auth/email/verify", post(email::verify_email))
        .route("/api/auth/email/resend", post(email::resend_email))
        .route("/api/auth/password/reset", post(email::password_reset))
        .route(
            "/api/auth/password/reset/confirm",
            post(email::password_reset_confirm),
        )
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
        .issue(
            TokenType::Access,
            user.id,
            user.token_version,
            Some(&family),
        )
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
    Ok(TokenPair {
        access: access.into(),
        refresh: refresh.into(),
    })
}
