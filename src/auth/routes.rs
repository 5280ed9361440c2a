//! Handlers of /api/auth/.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{
    AuthResponse, Empty, LoginBody, PasswordChangeBody, RefreshBody, RegisterBody, TokenPair,
    VerifyBody,
};
use super::{issue_pair, store};
use crate::error::{ApiError, FieldErrors};
use crate::http::{CurrentUser, Json, Origin};
use crate::secret::Secret;
use crate::security::LoginLimiter;
use crate::security::tokens::{Claims, TokenError, TokenType};
use crate::state::AppState;
use crate::users::fields::{self, MAX_CREDENTIAL_CHARS, REQUIRED, required, too_long};
use crate::users::{self, store as user_store};

#[derive(OpenApi)]
#[openapi(paths(register, login, refresh, verify, logout, change_password))]
pub struct ApiDoc;

#[utoipa::path(post, path = "/api/auth/register/", summary = "Register",
    description = "Creates an account (username, email, password, optional names) and logs it in. Usernames and emails share one namespace. 429 past AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS registrations a minute from one address.", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = AuthResponse), (status = 400, description = "Field errors"),
        (status = 429, description = "Too many registrations from this address; see Retry-After")))]
#[tracing::instrument(skip_all)]
pub async fn register(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, Json<AuthResponse>), ApiError> {
    // Throttled before anything else, as DRF's throttles run before the view.
    app.login_limiter.before_register(origin.ip).await?;
    let user = users::accounts::create(
        &app,
        users::accounts::NewAccount {
            username: body.username,
            email: body.email,
            password: body.password,
            first_name: body.first_name,
            last_name: body.last_name,
            staff: false,
        },
    )
    .await?;
    tracing::info!(user_id = user.id, "registered");
    users::mail::send_verification(&app, &users::mail::frontend(&app, &origin), &user).await;
    let pair = issue_pair(&app, &user, None).await?;
    let me = CurrentUser::of(user.clone());
    let view = users::view(&app, &me, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(AuthResponse {
            user: view,
            access: pair.access,
            refresh: pair.refresh,
        }),
    ))
}

#[utoipa::path(post, path = "/api/auth/login/", summary = "Log in",
    description = "Takes a username or an email (any case) and the password; answers an access and a refresh token with the user. 401 for wrong credentials; 429 with Retry-After past the per-address limit or the per-account failure limit.", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = AuthResponse), (status = 400), (status = 401, description = "No active account found with the given credentials"),
        (status = 429, description = "Too many attempts; see Retry-After")))]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<LoginBody>,
) -> Result<Json<AuthResponse>, ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "username", body.username.as_deref());
    required(
        &mut errors,
        "password",
        body.password.as_ref().map(Secret::expose),
    );
    let (Some(login), Some(password)) = (body.username, body.password) else {
        return Err(ApiError::Fields(errors));
    };
    errors.into_result()?;
    app.login_limiter.before_attempt(origin.ip).await?;

    let user = user_store::find_by_login(&app.db, &login).await?;
    // Failures count against the account, whether its username or its email was typed.
    let account = LoginLimiter::account_key(user.as_ref().map(|u| u.id), &login);
    app.login_limiter.before_password(&account).await?;
    let hash = user.as_ref().map(|u| u.password.clone());
    let ok = app.passwords.verify(password, hash).await?;
    let user = match user {
        Some(u) if ok && u.is_active => u,
        // The right password of a suspended account learns why (a wrong one the usual 401).
        Some(u) if ok && u.suspended => users::suspension::admit(&app, u).await?,
        _ => {
            app.login_limiter.failed(&account).await;
            return Err(ApiError::InvalidCredentials);
        }
    };
    user_store::touch_last_login(&app.db, user.id).await?;
    app.user_changed(user.id).await;
    tracing::info!(user_id = user.id, "logged in");
    let pair = issue_pair(&app, &user, None).await?;
    let me = CurrentUser::of(user.clone());
    let view = users::view(&app, &me, &user).await?;
    Ok(Json(AuthResponse {
        user: view,
        access: pair.access,
        refresh: pair.refresh,
    }))
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Invalid => ApiError::TokenNotValid("Token is invalid or expired".into()),
        TokenError::WrongType => ApiError::TokenNotValid("Token has wrong type".into()),
    }
}

fn blacklisted() -> ApiError {
    ApiError::TokenNotValid("Token is blacklisted".into())
}

/// A refresh token that is signed, unexpired, on record and not blacklisted. Presenting a
/// blacklisted one revokes its whole family (reuse detection).
async fn live_refresh(app: &AppState, token: &str) -> Result<Claims, ApiError> {
    let claims = app
        .tokens
        .decode(token, TokenType::Refresh)
        .map_err(token_error)?;
    let row = store::find(&app.db, &claims.jti)
        .await?
        .ok_or_else(|| token_error(TokenError::Invalid))?;
    // A suspended account is told so, even with a token its suspension revoked.
    if let Some(u) = user_store::find_by_id(&app.db, claims.user_id).await?
        && u.suspended
    {
        users::suspension::admit(app, u).await?;
    }
    if row.blacklisted_at.is_some() {
        tracing::warn!(
            user_id = row.user_id,
            "refresh token reused; revoking its family"
        );
        store::blacklist_family(&app.db, &row.family).await?;
        return Err(blacklisted());
    }
    Ok(claims)
}

fn required_token(field: &str, v: Option<Secret>) -> Result<String, ApiError> {
    match v.as_ref().map(Secret::expose) {
        None => Err(ApiError::field(field, REQUIRED)),
        Some(s) if s.trim().is_empty() => Err(ApiError::field(field, fields::BLANK)),
        Some(s) if s.chars().count() > MAX_CREDENTIAL_CHARS => {
            Err(ApiError::field(field, too_long()))
        }
        Some(s) => Ok(s.trim().to_owned()),
    }
}

#[utoipa::path(post, path = "/api/auth/refresh/", summary = "Refresh the access token",
    description = "Rotates: the refresh token given is blacklisted and a new pair is returned. Presenting a blacklisted token again revokes its whole family (reuse detection).", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 400), (status = 401, description = "Invalid, expired or blacklisted")))]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    State(app): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let token = required_token("refresh", body.refresh)?;
    let claims = live_refresh(&app, &token).await?;
    let user = user_store::find_active(&app.db, claims.user_id)
        .await?
        .filter(|u| u.token_version == claims.ver)
        .ok_or_else(|| token_error(TokenError::Invalid))?;
    let family = claims.fam.clone().unwrap_or_else(|| claims.jti.clone());
    if !store::blacklist(&app.db, &claims.jti).await? {
        // A concurrent refresh with the same token won: this is a reuse.
        store::blacklist_family(&app.db, &family).await?;
        return Err(blacklisted());
    }
    Ok(Json(issue_pair(&app, &user, Some(&family)).await?))
}

#[utoipa::path(post, path = "/api/auth/verify/", summary = "Verify a token",
    description = "200 with an empty object when the token (access or refresh) is valid, 401 otherwise.", tag = "auth", request_body = VerifyBody,
    responses((status = 200, body = Empty), (status = 400), (status = 401)))]
pub async fn verify(
    State(app): State<AppState>,
    Json(body): Json<VerifyBody>,
) -> Result<Json<Empty>, ApiError> {
    let token = required_token("token", body.token)?;
    let claims = app.tokens.decode_any(&token).map_err(token_error)?;
    if claims.token_type == "refresh" {
        let row = store::find(&app.db, &claims.jti).await?;
        if row.is_none_or(|r| r.blacklisted_at.is_some()) {
            return Err(blacklisted());
        }
    }
    // Tokens of a deactivated account or from before a password change are no longer valid.
    user_store::find_active(&app.db, claims.user_id)
        .await?
        .filter(|u| u.token_version == claims.ver)
        .ok_or_else(|| token_error(TokenError::Invalid))?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/auth/logout/", summary = "Log out",
    description = "Blacklists the given refresh token (and its rotation family), so it can no longer be refreshed. 204.", tag = "auth", request_body = RefreshBody,
    responses((status = 204, description = "The refresh token is blacklisted"), (status = 400), (status = 401)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn logout(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    let token = required_token("refresh", body.refresh)?;
    let claims = live_refresh(&app, &token).await?;
    // Someone else's refresh token is treated as any invalid token: nothing is revealed.
    if claims.user_id != me.id {
        return Err(token_error(TokenError::Invalid));
    }
    if !store::blacklist(&app.db, &claims.jti).await? {
        return Err(blacklisted());
    }
    if let Some(family) = &claims.fam {
        store::end_login(&app.db, family).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/auth/password/change/", summary = "Change the password",
    description = "Needs the old password; the new one passes Django's validators. Every token issued before is revoked and open sockets close with 4401; new tokens are returned.", tag = "auth", request_body = PasswordChangeBody,
    responses((status = 204, description = "Changed; every refresh token and earlier access token revoked"), (status = 400), (status = 401)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn change_password(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<PasswordChangeBody>,
) -> Result<StatusCode, ApiError> {
    users::accounts::change_password(&app, &me, body.old_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
