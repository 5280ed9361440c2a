//! Suspensions: a suspended account is inactive while it lasts, so every rule that hides an
//! inactive user (profile, posts, comments, lists, search, friend requests, direct rooms) hides
//! it, while its friendships, memberships and messages stay; lifting it restores all of it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::store;
use crate::db::entities::user;
use crate::error::ApiError;
use crate::state::AppState;

/// Suspends `id` (by staff member `by`) until `until` (None: until lifted) for `reason`,
/// ending every session; suspending again replaces the terms. False for no such account (or a
/// deleted one).
pub async fn suspend(
    txn: &impl ConnectionTrait,
    id: i64,
    by: i64,
    until: Option<DateTime<Utc>>,
    reason: &str,
) -> Result<bool, DbErr> {
    let Some(u) = store::find_by_id(txn, id).await? else {
        return Ok(false);
    };
    if u.deleted_at.is_some() {
        return Ok(false);
    }
    if u.is_active {
        store::deactivate(txn, id).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::Suspended, Expr::value(true))
        .col_expr(user::Column::SuspendedUntil, Expr::value(until))
        .col_expr(user::Column::SuspensionReason, Expr::value(reason))
        .col_expr(user::Column::SuspendedAt, Expr::value(crate::db::now()))
        .col_expr(user::Column::SuspendedBy, Expr::value(by))
        .filter(user::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(true)
}

/// Lifts `id`'s suspension: active again, as before. False when it was not suspended.
pub async fn lift(txn: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let done = user::Entity::update_many()
        .col_expr(user::Column::Suspended, Expr::value(false))
        .col_expr(
            user::Column::SuspendedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(user::Column::SuspensionReason, Expr::value(""))
        .col_expr(
            user::Column::SuspendedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(user::Column::SuspendedBy, Expr::value(Option::<i64>::None))
        .col_expr(user::Column::IsActive, Expr::value(true))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Suspended.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .exec(txn)
        .await?;
    if done.rows_affected == 0 {
        return Ok(false);
    }
    crate::social::store::refresh_as_friend(txn, id).await?;
    crate::db::add_to_counter(txn, crate::db::ACTIVE_USERS, 1).await?;
    Ok(true)
}

/// For a login or refresh with the right credentials: a suspension in effect is the 403 of
/// API.md; one whose `until` has passed is lifted, and the account comes back fresh.
pub async fn admit(app: &AppState, u: user::Model) -> Result<user::Model, ApiError> {
    if !u.suspended {
        return Ok(u);
    }
    if u.suspended_until.is_some_and(|t| t <= Utc::now()) {
        lift_now(app, u.id).await?;
        return store::find_by_id(&app.db, u.id)
            .await?
            .ok_or(ApiError::InvalidCredentials);
    }
    Err(ApiError::Suspended {
        until: u.suspended_until,
        reason: u.suspension_reason,
    })
}

/// Lifts `id`'s suspension in a transaction of its own and tells every instance.
pub async fn lift_now(app: &AppState, id: i64) -> Result<bool, ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    let lifted = lift(&txn, id).await?;
    txn.commit().await?;
    if lifted {
        app.user_changed(id).await;
    }
    Ok(lifted)
}

/// Lifts every suspension whose `until` has passed (the housekeeping loop calls it).
pub async fn lift_expired(app: &AppState) -> Result<(), ApiError> {
    let due: Vec<i64> = user::Entity::find()
        .filter(user::Column::Suspended.eq(true))
        .filter(user::Column::SuspendedUntil.lte(crate::db::now()))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    for id in due {
        lift_now(app, id).await?;
    }
    Ok(())
}
