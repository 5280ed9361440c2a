//! The account use cases, each one function whatever calls it: creating an account (behind
//! `POST /api/auth/register/` and `agora createsuperuser`, so both apply the same rules:
//! Django's validators, one namespace for usernames and emails, Argon2id), changing it,
//! changing its password, and closing it.

use sea_orm::{ActiveValue::Set, IntoActiveModel};

use super::fields::{self, EMAIL_TAKEN, Email, USERNAME_TAKEN, Username, required};
use super::model::{UserPatch, UserUpdateBody};
use super::store::{self, NewUser};
use crate::db::entities::user;
use crate::error::{ApiError, FieldErrors};
use crate::http::CurrentUser;
use crate::media;
use crate::secret::Secret;
use crate::security::passwords::{self, UserAttributes};
use crate::security::sessions;
use crate::state::AppState;

/// What a new account is made of, as a client sent it.
pub struct NewAccount {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<Secret>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A staff superuser (`createsuperuser`), or an ordinary user.
    pub staff: bool,
}

/// Validates every field (all errors at once, as DRF does), checks that the username and the
/// email name no one else, hashes the password and stores the user.
#[tracing::instrument(skip_all)]
pub async fn create(app: &AppState, new: NewAccount) -> Result<user::Model, ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "username", new.username.as_deref());
    required(&mut errors, "email", new.email.as_deref());
    required(
        &mut errors,
        "password",
        new.password.as_ref().map(Secret::expose),
    );
    let username = new
        .username
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| {
            Username::parse(s)
                .map_err(|e| errors.add("username", e))
                .ok()
        });
    let email = new
        .email
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| Email::parse(s).map_err(|e| errors.add("email", e)).ok());
    let first_name = fields::bounded(new.first_name.as_deref().unwrap_or(""), 150)
        .map_err(|e| errors.add("first_name", e))
        .unwrap_or_default();
    let last_name = fields::bounded(new.last_name.as_deref().unwrap_or(""), 150)
        .map_err(|e| errors.add("last_name", e))
        .unwrap_or_default();
    if let Some(password) = new
        .password
        .as_ref()
        .map(Secret::expose)
        .filter(|p| !p.trim().is_empty())
    {
        let attrs = UserAttributes {
            username: username.as_ref().map_or("", Username::as_str),
            email: email.as_ref().map_or("", Email::as_str),
            first_name: &first_name,
            last_name: &last_name,
        };
        for e in passwords::validate(password, &attrs) {
            errors.add("password", e);
        }
    }
    if let Some(u) = &username
        && store::login_taken(&app.db, u.as_str(), None).await?
    {
        errors.add("username", USERNAME_TAKEN);
    }
    if let Some(e) = &email
        && store::login_taken(&app.db, e.as_str(), None).await?
    {
        errors.add("email", EMAIL_TAKEN);
    }
    // A field that did not parse has its error in `errors`.
    let (Some(username), Some(email), Some(password)) = (username, email, new.password) else {
        return Err(ApiError::Fields(errors));
    };
    errors.into_result()?;
    let password_hash = app.passwords.hash(password).await?;
    let user = store::insert(
        &app.db,
        NewUser {
            username: username.into_inner(),
            email: email.into_inner(),
            password_hash,
            first_name,
            last_name,
            is_staff: new.staff,
            is_superuser: new.staff,
            email_verified: new.staff,
        },
    )
    .await
    // Lost a race with an identical registration.
    .map_err(taken)?;
    tracing::info!(user_id = user.id, staff = new.staff, "account created");
    Ok(user)
}

/// Changes `target` (a user `me` can see) by `body`: all of it (`full`, a PUT) or the fields
/// present (a PATCH). Only the user themself or staff may; the username and email must name no
/// one else; an avatar or cover must be an image of the user's own.
pub async fn update(
    app: &AppState,
    me: &CurrentUser,
    target: user::Model,
    body: UserUpdateBody,
    full: bool,
) -> Result<user::Model, ApiError> {
    if target.id != me.id && !me.is_staff {
        return Err(ApiError::Forbidden);
    }
    let (patch, mut errors) = body.parse(full);
    check_unique_and_media(app, target.id, &patch, &mut errors).await?;
    errors.into_result()?;
    let renamed = patch.username.is_some();
    let txn = crate::db::begin_write(&app.db).await?;
    let updated = store::save(&txn, apply(target, patch))
        .await
        .map_err(taken)?;
    if renamed {
        // The friends lists of the user's friends are in username order.
        crate::social::store::refresh_as_friend(&txn, updated.id).await?;
    }
    txn.commit().await?;
    app.user_changed(updated.id).await;
    Ok(updated)
}

/// Changes `me`'s password after checking the old one; every token issued before is revoked.
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn change_password(
    app: &AppState,
    me: &CurrentUser,
    old: Option<Secret>,
    new: Option<Secret>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    required(
        &mut errors,
        "old_password",
        old.as_ref().map(Secret::expose),
    );
    required(
        &mut errors,
        "new_password",
        new.as_ref().map(Secret::expose),
    );
    if let Some(password) = new
        .as_ref()
        .map(Secret::expose)
        .filter(|p| !p.trim().is_empty())
    {
        let u = &me.user;
        let attrs = UserAttributes {
            username: &u.username,
            email: &u.email,
            first_name: &u.first_name,
            last_name: &u.last_name,
        };
        for e in passwords::validate(password, &attrs) {
            errors.add("new_password", e);
        }
    }
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::Fields(errors));
    };
    errors.into_result()?;
    if !app
        .passwords
        .verify(old, Some(me.user.password.clone()))
        .await?
    {
        return Err(ApiError::field(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    let hash = app.passwords.hash(new).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    store::set_password(&txn, me.id, hash).await?;
    sessions::blacklist_user(&txn, me.id).await?;
    txn.commit().await?;
    app.revoke_sessions(me.id).await;
    super::mail::password_changed(app, &me.user).await;
    tracing::info!("password changed; tokens revoked");
    Ok(())
}

/// The job kind that erases a deleted account's data.
pub const DELETE_JOB: &str = "delete_account";

/// Deletes `me`'s account once `password` is confirmed. At once, in one transaction: the
/// account becomes an inactive shell (`store::erase_profile`: every token ended, the profile
/// gone, the username and email free) and a `delete_account` job is queued; after the commit
/// every instance closes the user's sockets. The job erases the rest and resumes after a crash.
pub async fn close(
    app: &AppState,
    me: &CurrentUser,
    password: Option<Secret>,
) -> Result<(), ApiError> {
    let password = password
        .filter(|p| !p.expose().is_empty())
        .ok_or_else(|| ApiError::field("password", fields::REQUIRED))?;
    if !app
        .passwords
        .verify(password, Some(me.user.password.clone()))
        .await?
    {
        return Err(ApiError::field("password", "Incorrect password."));
    }
    let txn = crate::db::begin_write(&app.db).await?;
    if !store::erase_profile(&txn, me.id).await? {
        // Deleted by a racing request meanwhile: this token was revoked with it.
        return Err(ApiError::token_not_valid());
    }
    sessions::blacklist_user(&txn, me.id).await?;
    crate::jobs::enqueue(
        &txn,
        crate::jobs::NewJob {
            kind: DELETE_JOB,
            key: Some(me.id.to_string()),
            payload: serde_json::json!({"user_id": me.id}),
            max_attempts: 10,
        },
    )
    .await?;
    txn.commit().await?;
    app.revoke_sessions(me.id).await;
    app.wake_jobs();
    tracing::info!(user_id = me.id, "account deleted; its data is being erased");
    Ok(())
}

/// A unique violation on save (a concurrent change took the name) as the field error it is.
pub fn taken(e: sea_orm::DbErr) -> ApiError {
    match crate::db::unique_violation_column(&e) {
        Some(col) if col.starts_with("email") => ApiError::field("email", fields::EMAIL_TAKEN),
        Some(_) => ApiError::field("username", fields::USERNAME_TAKEN),
        None => e.into(),
    }
}

async fn check_unique_and_media(
    app: &AppState,
    id: i64,
    patch: &UserPatch,
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    if let Some(u) = &patch.username
        && store::login_taken(&app.db, u.as_str(), Some(id)).await?
    {
        errors.add("username", fields::USERNAME_TAKEN);
    }
    if let Some(e) = &patch.email
        && store::login_taken(&app.db, e.as_str(), Some(id)).await?
    {
        errors.add("email", fields::EMAIL_TAKEN);
    }
    // An avatar or cover is an image of the user's own.
    let mut profile = FieldErrors::new();
    for (field, value) in [("avatar", patch.avatar), ("cover", patch.cover)] {
        if let Some(Some(media_id)) = value
            && let Err(e) = media::owned(app, id, &[media_id], media::Use::Image).await?
        {
            profile.add(field, e);
        }
    }
    errors.merge_nested("profile", profile);
    Ok(())
}

fn apply(target: user::Model, p: UserPatch) -> user::ActiveModel {
    let mut m = target.into_active_model();
    if let Some(v) = p.username {
        m.username_lower = Set(v.as_str().to_lowercase());
        m.username = Set(v.into_inner());
    }
    if let Some(v) = p.email {
        let lower = v.as_str().to_lowercase();
        // A new address is unconfirmed until its link is followed.
        if *m.email_lower.as_ref() != lower {
            m.email_verified = Set(false);
        }
        m.email_lower = Set(lower);
        m.email = Set(v.into_inner());
    }
    if let Some(v) = p.first_name {
        m.first_name = Set(v);
    }
    if let Some(v) = p.last_name {
        m.last_name = Set(v);
    }
    if let Some(v) = p.bio {
        m.bio = Set(v);
    }
    if let Some(v) = p.location {
        m.location = Set(v);
    }
    if let Some(v) = p.website {
        m.website = Set(v);
    }
    if let Some(v) = p.birth_date {
        m.birth_date = Set(v);
    }
    if let Some(v) = p.visibility {
        m.visibility = Set(v);
    }
    if let Some(v) = p.show_online_status {
        m.show_online_status = Set(v);
    }
    if let Some(v) = p.allow_messages_from {
        m.allow_messages_from = Set(v);
    }
    if let Some(v) = p.avatar {
        m.avatar_id = Set(v);
    }
    if let Some(v) = p.cover {
        m.cover_id = Set(v);
    }
    m
}
