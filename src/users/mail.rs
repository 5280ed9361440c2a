//! Accounts by email: verification keys and their links, password reset as Django does it, and
//! the notices a password or address change sends. Mail is queued as a job (`email`), so no
//! answer waits for an SMTP server; requests that name an address answer the same whether or
//! not an account has it, and do their lookup after answering.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use serde_json::json;

use super::fields::{Email, required};
use super::store;
use crate::config::Verification;
use crate::db::entities::user;
use crate::email::{self, Template};
use crate::error::{ApiError, FieldErrors};
use crate::http::Origin;
use crate::secret::Secret;
use crate::security::passwords::{self, UserAttributes};
use crate::security::sessions;
use crate::security::signing::Signer;
use crate::state::AppState;

/// Bytes of HMAC kept in a reset token (Django keeps 10; a link carries 16 well).
const RESET_MAC_BYTES: usize = 16;
const INVALID: &str = "Invalid value";

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The base of links in mail: `AGORA_FRONTEND_URL`, else `AGORA_PUBLIC_URL`, else the
/// request's own origin.
pub fn frontend(app: &AppState, origin: &Origin) -> String {
    app.settings
        .accounts
        .frontend_url
        .as_ref()
        .or(app.settings.public_url.as_ref())
        .map_or_else(|| origin.base.to_string(), url::Url::to_string)
}

fn display_name(u: &user::Model) -> String {
    format!("{} {}", u.first_name, u.last_name)
        .trim()
        .to_owned()
}

/// Queues `template` to `to` for `u` in `txn`; the caller wakes the workers after its commit.
async fn queue(
    app: &AppState,
    txn: &DatabaseTransaction,
    u: &user::Model,
    to: &str,
    template: Template,
    mut context: serde_json::Value,
) -> Result<bool, DbErr> {
    if let Some(map) = context.as_object_mut() {
        map.insert("username".into(), u.username.clone().into());
    }
    let mail = email::render(template, to, &display_name(u), &context).map_err(DbErr::Custom)?;
    email::queue(txn, &app.settings.accounts, &mail).await
}

/// `queue` in a transaction of its own, then wakes the workers. A mail that cannot be queued is
/// logged, never an error for the request that caused it (its change stands).
async fn send(
    app: &AppState,
    u: &user::Model,
    to: &str,
    template: Template,
    context: serde_json::Value,
) {
    let queued = async {
        let txn = crate::db::begin_write(&app.db).await?;
        let queued = queue(app, &txn, u, to, template, context).await?;
        txn.commit().await?;
        Ok::<_, DbErr>(queued)
    };
    match queued.await {
        Ok(true) => app.wake_jobs(),
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, user_id = u.id, "mail not queued"),
    }
}

// ---- email verification ----

fn verify_signer(app: &AppState) -> Signer {
    Signer::new(
        app.settings.secret_key.expose(),
        "agora email verification key v1",
    )
}

/// A key naming `user_id` and the address it was sent to, from `issued` (Unix seconds).
fn verification_key(app: &AppState, user_id: i64, email_lower: &str, issued: i64) -> String {
    let body = URL_SAFE_NO_PAD.encode(format!("{user_id}:{issued}:{email_lower}"));
    let mac = verify_signer(app).sign(&body, 32);
    format!("{body}.{mac}")
}

/// The account and address a key names, if it is ours and has not expired.
fn read_key(app: &AppState, key: &str) -> Option<(i64, String)> {
    let (body, mac) = key.trim().split_once('.')?;
    if !verify_signer(app).verify(body, mac, 32) {
        return None;
    }
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let mut parts = decoded.splitn(3, ':');
    let id: i64 = parts.next()?.parse().ok()?;
    let issued: i64 = parts.next()?.parse().ok()?;
    let email = parts.next()?.to_owned();
    let ttl = i64::try_from(app.settings.accounts.verification_ttl.as_secs()).unwrap_or(0);
    let age = now_secs() - issued;
    (-60..=ttl).contains(&age).then_some((id, email))
}

/// Sends `u` a link confirming its current address (when verification is on).
pub async fn send_verification(app: &AppState, origin: &Origin, u: &user::Model) {
    if app.settings.accounts.verification == Verification::None {
        return;
    }
    let key = verification_key(app, u.id, &u.email_lower, now_secs());
    let link = email::link(
        &app.settings.accounts.verify_url,
        &frontend(app, origin),
        &[("key", &key)],
    );
    let hours = app.settings.accounts.verification_ttl.as_secs() / 3600;
    let ctx = json!({"email": u.email, "link": link, "hours": hours});
    send(app, u, &u.email, Template::Verify, ctx).await;
}

/// `POST /api/auth/email/verify/`: a key for the account's current address marks it verified
/// (again is fine); an invalid, expired or stale one is a 404, as dj-rest-auth's.
pub async fn verify(app: &AppState, key: Option<String>) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "key", key.as_deref());
    let Some(key) = key.filter(|k| !k.trim().is_empty()) else {
        return Err(ApiError::Fields(errors));
    };
    let (id, email) = read_key(app, &key).ok_or(ApiError::NotFound)?;
    // One conditional write: the address must still be the account's.
    let done = user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::EmailLower.eq(email))
        .filter(user::Column::IsActive.eq(true))
        .exec(&app.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::NotFound);
    }
    app.user_changed(id).await;
    Ok(())
}

/// The address a request names, checked as an email field, lower-cased.
fn address(raw: Option<String>) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "email", raw.as_deref());
    errors.into_result()?;
    let email = Email::parse(raw.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::field("email", e))?;
    Ok(email.as_str().to_lowercase())
}

/// The active account that has `email_lower`, if any.
async fn account_with(app: &AppState, email_lower: &str) -> Option<user::Model> {
    let found = user::Entity::find()
        .filter(user::Column::EmailLower.eq(email_lower))
        .filter(user::Column::IsActive.eq(true))
        .one(&app.db)
        .await;
    match found {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "account lookup for mail failed");
            None
        }
    }
}

/// `POST /api/auth/email/resend/`: a fresh link if an active account has `email` unverified.
/// The answer does not wait for the lookup.
pub async fn resend(app: &AppState, origin: Origin, email: Option<String>) -> Result<(), ApiError> {
    let email = address(email)?;
    app.login_limiter
        .before_email_request(origin.ip, app.settings.accounts.email_requests_per_hour)
        .await?;
    let app2 = app.clone();
    app.spawn_background(async move {
        if let Some(u) = account_with(&app2, &email).await
            && !u.email_verified
        {
            send_verification(&app2, &origin, &u).await;
        }
    });
    Ok(())
}

/// After `u`'s address changed from `old_email` by their own hand: a link to the new address
/// and a notice naming it to the old one (when verification is on).
pub async fn email_changed(app: &AppState, origin: &Origin, u: &user::Model, old_email: &str) {
    if app.settings.accounts.verification == Verification::None {
        return;
    }
    send_verification(app, origin, u).await;
    let ctx = json!({"new_email": u.email});
    send(app, u, old_email, Template::EmailChanged, ctx).await;
}

/// Counts a request that may send mail against the caller's address.
pub async fn before_email_request(app: &AppState, origin: &Origin) -> Result<(), ApiError> {
    app.login_limiter
        .before_email_request(origin.ip, app.settings.accounts.email_requests_per_hour)
        .await
}

// ---- password reset ----

fn reset_signer(app: &AppState) -> Signer {
    Signer::new(app.settings.secret_key.expose(), "agora password reset v1")
}

/// What a reset token is bound to: any change to the password, the last login, the address or
/// the reset stamp (a newer request) kills it, as do the timestamp's age.
fn reset_message(u: &user::Model, issued: i64) -> String {
    let login = u.last_login.map_or(0, |t| t.timestamp_micros());
    format!(
        "{}|{}|{}|{}|{}|{}",
        u.id,
        u.password.expose(),
        login,
        u.email_lower,
        u.reset_stamp,
        issued
    )
}

fn reset_token(app: &AppState, u: &user::Model, issued: i64) -> String {
    let mac = reset_signer(app).sign(&reset_message(u, issued), RESET_MAC_BYTES);
    format!("{}-{mac}", base36(issued))
}

fn reset_token_valid(app: &AppState, u: &user::Model, token: &str) -> bool {
    let Some((ts, mac)) = token.split_once('-') else {
        return false;
    };
    let Some(issued) = from_base36(ts) else {
        return false;
    };
    let timeout = i64::try_from(app.settings.accounts.reset_timeout.as_secs()).unwrap_or(0);
    let age = now_secs() - issued;
    (-60..=timeout).contains(&age)
        && reset_signer(app).verify(&reset_message(u, issued), mac, RESET_MAC_BYTES)
}

fn base36(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(n.rem_euclid(36)).unwrap_or(0)]);
        n /= 36;
        if n <= 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    i64::from_str_radix(s, 36).ok().filter(|n| *n >= 0)
}

/// Django's `urlsafe_base64_encode(force_bytes(pk))`.
pub fn encode_uid(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_uid(uid: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD
        .decode(uid.trim().trim_end_matches('='))
        .ok()?;
    std::str::from_utf8(&raw).ok()?.parse().ok()
}

/// `POST /api/auth/password/reset/`: if an active account has `email` (any case), a reset link
/// goes there. The lookup and the mail happen after the answer, so neither the answer nor its
/// timing tells whether an account matched.
pub async fn request_reset(
    app: &AppState,
    origin: Origin,
    email: Option<String>,
) -> Result<(), ApiError> {
    let email = address(email)?;
    before_email_request(app, &origin).await?;
    let app2 = app.clone();
    app.spawn_background(async move {
        let Some(u) = account_with(&app2, &email).await else {
            return;
        };
        // A newer request kills the older tokens: the stamp they are bound to moves on.
        let bumped = user::Entity::update_many()
            .col_expr(
                user::Column::ResetStamp,
                Expr::col(user::Column::ResetStamp).add(1),
            )
            .filter(user::Column::Id.eq(u.id))
            .exec(&app2.db)
            .await;
        let fresh = match bumped {
            Ok(_) => store::find_active(&app2.db, u.id).await,
            Err(e) => Err(e),
        };
        let u = match fresh {
            Ok(Some(u)) => u,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "password reset not prepared");
                return;
            }
        };
        let token = reset_token(&app2, &u, now_secs());
        let link = email::link(
            &app2.settings.accounts.reset_url,
            &frontend(&app2, &origin),
            &[("uid", &encode_uid(u.id)), ("token", &token)],
        );
        let minutes = app2.settings.accounts.reset_timeout.as_secs() / 60;
        let ctx = json!({"link": link, "minutes": minutes});
        send(&app2, &u, &u.email, Template::Reset, ctx).await;
    });
    Ok(())
}

/// What `POST /api/auth/password/reset/confirm/` carries.
pub struct ResetConfirm {
    pub uid: Option<String>,
    pub token: Option<String>,
    pub new_password: Option<Secret>,
}

/// Sets the new password if `token` is the account's live reset token: every token of the
/// account is revoked, its sockets closed, the address counts as verified, and a notice goes
/// to it. The password and the stamp are written only if neither changed since the token was
/// checked, so two uses of one token cannot both succeed.
pub async fn confirm_reset(app: &AppState, body: ResetConfirm) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "uid", body.uid.as_deref());
    required(&mut errors, "token", body.token.as_deref());
    required(
        &mut errors,
        "new_password",
        body.new_password.as_ref().map(Secret::expose),
    );
    let (Some(uid), Some(token), Some(new_password)) = (body.uid, body.token, body.new_password)
    else {
        return Err(ApiError::Fields(errors));
    };
    errors.into_result()?;
    let u = match decode_uid(&uid) {
        Some(id) => store::find_active(&app.db, id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::field("uid", INVALID))?;
    let attrs = UserAttributes {
        username: &u.username,
        email: &u.email,
        first_name: &u.first_name,
        last_name: &u.last_name,
    };
    let mut errors = FieldErrors::new();
    for e in passwords::validate(new_password.expose(), &attrs) {
        errors.add("new_password", e);
    }
    errors.into_result()?;
    if !reset_token_valid(app, &u, &token) {
        return Err(ApiError::field("token", INVALID));
    }
    let hash = app.passwords.hash(new_password).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    let done = user::Entity::update_many()
        .col_expr(user::Column::Password, Expr::value(hash))
        .col_expr(
            user::Column::TokenVersion,
            Expr::col(user::Column::TokenVersion).add(1),
        )
        .col_expr(
            user::Column::ResetStamp,
            Expr::col(user::Column::ResetStamp).add(1),
        )
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::ResetStamp.eq(u.reset_stamp))
        .filter(user::Column::Password.eq(u.password.clone()))
        .filter(user::Column::IsActive.eq(true))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::field("token", INVALID));
    }
    sessions::blacklist_user(&txn, u.id).await?;
    queue(
        app,
        &txn,
        &u,
        &u.email,
        Template::PasswordChanged,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    app.wake_jobs();
    app.revoke_sessions(u.id).await;
    tracing::info!(user_id = u.id, "password reset; tokens revoked");
    Ok(())
}

/// A warned or suspended user is told by mail too (`what`: `warned` or `suspended`), with the
/// moderators' words.
pub async fn moderation_notice(app: &AppState, u: &user::Model, what: &str, reason: &str) {
    let ctx = json!({"what": what, "reason": reason});
    send(app, u, &u.email, Template::Moderation, ctx).await;
}

/// After a password change by the user: a notice to the address.
pub async fn password_changed(app: &AppState, u: &user::Model) {
    send(app, u, &u.email, Template::PasswordChanged, json!({})).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_and_uids_round_trip() {
        for n in [0_i64, 35, 36, 1_733_000_000, i64::MAX] {
            assert_eq!(from_base36(&base36(n)), Some(n));
        }
        assert_eq!(base36(35), "z");
        assert_eq!(encode_uid(12), "MTI");
        assert_eq!(decode_uid("MTI"), Some(12));
        assert_eq!(decode_uid("MTI="), Some(12));
        assert_eq!(decode_uid("!!"), None);
        assert_eq!(from_base36("-1"), None);
        assert_eq!(from_base36(""), None);
    }
}
