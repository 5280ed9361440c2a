//! Accounts by email: verification keys and their links, password reset as Django does it, and
//! the notices a password or address change sends. Mail is queued as a job (`email`), so no
//! answer waits for an SMTP server; requests that name an address answer the same whether or
//! not an account has it, and do their lookup after answering.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use serde_json::json;

use super::fields::{Email, required};
use crate::config::Verification;
use crate::db::entities::user;
use crate::email::{self, Template};
use crate::error::{ApiError, FieldErrors};
use crate::http::Origin;
use crate::security::signing::Signer;
use crate::state::AppState;

pub use super::reset::{ResetConfirm, confirm_reset, encode_uid, request_reset};

pub(super) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Whether something issued at `issued` still works at `now` for `ttl` seconds (a minute of
/// clock skew between instances allowed the other way).
pub(super) fn fresh(issued: i64, now: i64, ttl: i64) -> bool {
    (-60..=ttl).contains(&(now - issued))
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
pub(super) async fn queue(
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
pub(super) async fn send(
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
    fresh(issued, now_secs(), ttl).then_some((id, email))
}

/// Sends `u` a link confirming its current address (when verification is on).
pub async fn send_verification(app: &AppState, base: &str, u: &user::Model) {
    if app.settings.accounts.verification == Verification::None {
        return;
    }
    let key = verification_key(app, u.id, &u.email_lower, now_secs());
    let link = email::link(&app.settings.accounts.verify_url, base, &[("key", &key)]);
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
pub(super) fn address(raw: Option<String>) -> Result<String, ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "email", raw.as_deref());
    errors.into_result()?;
    let email = Email::parse(raw.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::field("email", e))?;
    Ok(email.as_str().to_lowercase())
}

/// The active account that has `email_lower`, if any.
pub(super) async fn account_with(
    app: &AppState,
    email_lower: &str,
) -> Result<Option<user::Model>, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailLower.eq(email_lower))
        .filter(user::Column::IsActive.eq(true))
        .one(&app.db)
        .await?)
}

/// `POST /api/auth/email/resend/`: a fresh link if an active account has `email` unverified.
/// The answer does not wait for the lookup.
pub async fn resend(app: &AppState, origin: Origin, email: Option<String>) -> Result<(), ApiError> {
    let email = address(email)?;
    before_email_request(app, &origin).await?;
    queue_request(app, "resend", email, frontend(app, &origin)).await
}

/// The job kind of a request that names an address (a reset or a resend): the request queues
/// it, whether or not an account has the address, and the job looks.
pub const REQUEST_JOB: &str = "mail_request";

/// Queues the `mail_request` job `what` (`reset` or `resend`) for `email`, links on `base`.
pub(super) async fn queue_request(
    app: &AppState,
    what: &str,
    email: String,
    base: String,
) -> Result<(), ApiError> {
    crate::jobs::enqueue(
        &app.db,
        crate::jobs::NewJob {
            kind: REQUEST_JOB,
            key: None,
            payload: json!({"what": what, "email": email, "base": base}),
            max_attempts: 4,
        },
    )
    .await?;
    app.wake_jobs();
    Ok(())
}

/// The `mail_request` job: a reset link or a fresh verification link, if an active account
/// has the address (unverified, for a resend).
pub async fn run_request(
    app: &AppState,
    what: &str,
    email: &str,
    base: &str,
) -> Result<(), ApiError> {
    match what {
        "reset" => super::reset::prepare_reset(app, email, base).await,
        _ => {
            if let Some(u) = account_with(app, email).await?
                && !u.email_verified
            {
                send_verification(app, base, &u).await;
            }
            Ok(())
        }
    }
}

/// After `u`'s address changed from `old_email` by their own hand: a link to the new address
/// and a notice naming it to the old one (when verification is on).
pub async fn email_changed(app: &AppState, origin: &Origin, u: &user::Model, old_email: &str) {
    if app.settings.accounts.verification == Verification::None {
        return;
    }
    send_verification(app, &frontend(app, origin), u).await;
    let ctx = json!({"new_email": u.email});
    send(app, u, old_email, Template::EmailChanged, ctx).await;
}

/// Counts a request that may send mail against the caller's address.
pub async fn before_email_request(app: &AppState, origin: &Origin) -> Result<(), ApiError> {
    app.login_limiter
        .before_email_request(origin.ip, app.settings.accounts.email_requests_per_hour)
        .await
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
    fn keys_and_tokens_expire() {
        assert!(fresh(1000, 1000, 3600));
        assert!(fresh(1000, 4600, 3600));
        assert!(!fresh(1000, 4601, 3600), "expired");
        assert!(fresh(1000, 940, 3600), "a little clock skew");
        assert!(!fresh(1000, 900, 3600), "issued in the future");
    }
}
