//! Password reset as Django does it: a link with the account's id in URL-safe base64 and a
//! token bound to the password hash, the last login, the address and a reset stamp that every
//! newer request moves on; single use by one conditional write.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::fields::required;
use super::mail::{
    account_with, address, before_email_request, fresh, frontend, now_secs, queue, queue_request,
    send,
};
use super::store;
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
    fresh(issued, now_secs(), timeout)
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
/// goes there. The request only queues a `mail_request` job, the same one whether or not an
/// account matches; the lookup and the mail are the job's, so neither the answer nor its
/// timing tells whether an account matched.
pub async fn request_reset(
    app: &AppState,
    origin: Origin,
    email: Option<String>,
) -> Result<(), ApiError> {
    let email = address(email)?;
    before_email_request(app, &origin).await?;
    queue_request(app, "reset", email, frontend(app, &origin)).await
}

/// The `mail_request` job of a reset: if an active account has `email`, a link goes there.
pub async fn prepare_reset(app: &AppState, email: &str, base: &str) -> Result<(), ApiError> {
    let Some(u) = account_with(app, email).await? else {
        return Ok(());
    };
    // A newer request kills the older tokens: the stamp they are bound to moves on.
    user::Entity::update_many()
        .col_expr(
            user::Column::ResetStamp,
            Expr::col(user::Column::ResetStamp).add(1),
        )
        .filter(user::Column::Id.eq(u.id))
        .exec(&app.db)
        .await?;
    let Some(u) = store::find_active(&app.db, u.id).await? else {
        return Ok(());
    };
    let token = reset_token(app, &u, now_secs());
    let link = email::link(
        &app.settings.accounts.reset_url,
        base,
        &[("uid", &encode_uid(u.id)), ("token", &token)],
    );
    let minutes = app.settings.accounts.reset_timeout.as_secs() / 60;
    let ctx = json!({"link": link, "minutes": minutes});
    send(app, &u, &u.email, Template::Reset, ctx).await;
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
