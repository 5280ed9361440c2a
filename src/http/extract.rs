//! Extractors that wrap axum's so that every rejection becomes an `ApiError`: path ids, query
//! parameters and the authenticated user (bodies: `body`).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use crate::db::entities::user;
use crate::error::ApiError;

/// Path parameters, which are ids (but `TEXT_PARAMS`): plain ASCII digits (Django's `<int:pk>`), so `+1`, ` 1` or
/// `1e3` is a 404 like any other id that does not parse.
pub struct Path<T>(pub T);

/// The path parameters that are not ids: checked by their handlers (a reaction's emoji).
const TEXT_PARAMS: &[&str] = &["emoji"];

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        if raw
            .iter()
            .filter(|(name, _)| !TEXT_PARAMS.contains(name))
            .any(|(_, v)| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ApiError::NotFound);
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::NotFound)
    }
}

/// Query parameters; a value of the wrong type is a 400 in the DRF shape.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::rejected(e.body_text()))
    }
}

/// The bearer token of a request's `Authorization` header.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `?token=`: only where a browser cannot send a header (the WebSocket upgrade), so a token
/// does not travel in the URLs of other requests, their logs and their pagination links.
fn query_token(parts: &Parts) -> Option<String> {
    url::form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The authenticated caller: a valid access token of an active user, issued after the user's
/// last password change.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub is_staff: bool,
    pub user: std::sync::Arc<user::Model>,
    /// When the presented access token expires (Unix seconds); the WebSocket closes then.
    pub token_expires_at: i64,
    /// The login (refresh-token family) the access token came from, when it says: what a push
    /// subscription made with it belongs to.
    pub login: Option<std::sync::Arc<str>>,
}

impl CurrentUser {
    /// The user as their own viewer, for responses right after register or login.
    pub fn of(user: user::Model) -> Self {
        Self {
            id: user.id,
            is_staff: user.is_staff,
            token_expires_at: 0,
            login: None,
            user: user.into(),
        }
    }
}

/// What checks a bearer token: `AppState` implements it, so this folder needs no feature.
pub trait Authenticator: Send + Sync {
    fn authenticate(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<CurrentUser, ApiError>> + Send;

    /// Whether an account must have confirmed its address before using anything but its own
    /// account routes (`AGORA_EMAIL_VERIFICATION=mandatory`).
    fn email_required(&self) -> bool {
        false
    }
}

/// What an account whose address is not confirmed may still use under
/// `AGORA_EMAIL_VERIFICATION=mandatory`: `/api/auth/`, and its own account (read, change,
/// delete, export). Paths arrive without their trailing slash.
fn open_before_verification(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    path == "/api/auth"
        || path.starts_with("/api/auth/")
        || path == "/api/users/me/export"
        || (path == "/api/users/me"
            && [
                Method::GET,
                Method::HEAD,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ]
            .contains(method))
}

/// Refuses `me` where `open_before_verification` does not let an unconfirmed account in.
fn check_verified<S: Authenticator>(
    app: &S,
    me: &CurrentUser,
    parts: &Parts,
    socket: bool,
) -> Result<(), ApiError> {
    if app.email_required()
        && !me.user.email_verified
        && (socket || !open_before_verification(&parts.method, parts.uri.path()))
    {
        return Err(ApiError::EmailNotVerified);
    }
    Ok(())
}

impl<S: Authenticator> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &S) -> Result<Self, ApiError> {
        if let Some(me) = parts.extensions.get::<CurrentUser>() {
            return Ok(me.clone());
        }
        let token = bearer_token(parts).ok_or(ApiError::NotAuthenticated)?;
        let me = app.authenticate(&token).await?;
        check_verified(app, &me, parts, false)?;
        parts.extensions.insert(me.clone());
        Ok(me)
    }
}

/// The caller of a WebSocket upgrade: the `Authorization` header, else `?token=`, which only
/// this extractor reads (a browser's WebSocket cannot set headers).
pub struct SocketUser(pub CurrentUser);

impl<S: Authenticator> FromRequestParts<S> for SocketUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &S) -> Result<Self, ApiError> {
        let token = bearer_token(parts)
            .or_else(|| query_token(parts))
            .ok_or(ApiError::NotAuthenticated)?;
        let me = app.authenticate(&token).await?;
        check_verified(app, &me, parts, true)?;
        Ok(Self(me))
    }
}
