//! Refresh tokens: one row per issued refresh token, so rotation, logout and reuse detection
//! can blacklist them. A login's end is also the end of its push subscriptions (as Mastodon
//! ties one to its access token): every way a login or all of a user's end passes through here,
//! so a shared browser stops getting someone's pushes once they sign out.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

use crate::db::entities::{push_subscription, refresh_token};

pub async fn insert(
    db: &impl ConnectionTrait,
    jti: &str,
    user_id: i64,
    family: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::ActiveModel {
        jti: Set(jti.to_owned()),
        user_id: Set(user_id),
        family: Set(family.to_owned()),
        created_at: Set(crate::db::now()),
        expires_at: Set(expires_at),
        blacklisted_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find(
    db: &impl ConnectionTrait,
    jti: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find_by_id(jti.to_owned())
        .one(db)
        .await
}

/// Blacklists one token; true only for the caller that flipped it, so two concurrent uses
/// of the same refresh token cannot both succeed.
pub async fn blacklist(db: &impl ConnectionTrait, jti: &str) -> Result<bool, DbErr> {
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::BlacklistedAt,
            Expr::value(crate::db::now()),
        )
        .filter(refresh_token::Column::Jti.eq(jti))
        .filter(refresh_token::Column::BlacklistedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Whether the login `family` still has a refresh token that may be used.
pub async fn login_alive(db: &impl ConnectionTrait, family: &str) -> Result<bool, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::BlacklistedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(crate::db::now()))
        .count(db)
        .await?
        > 0)
}

/// Logout: the login's push subscriptions go with its token.
pub async fn end_login(db: &impl ConnectionTrait, family: &str) -> Result<(), DbErr> {
    push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::Login.eq(family))
        .exec(db)
        .await?;
    Ok(())
}

/// Reuse detection: every token descending from the same login, and what the login owns.
pub async fn blacklist_family(db: &impl ConnectionTrait, family: &str) -> Result<(), DbErr> {
    end_login(db, family).await?;
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::BlacklistedAt,
            Expr::value(crate::db::now()),
        )
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::BlacklistedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Every login of the user ends (a password change or reset, a suspension, a deletion): their
/// tokens and every push subscription they have.
pub async fn blacklist_user(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::BlacklistedAt,
            Expr::value(crate::db::now()),
        )
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::BlacklistedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Drops rows of tokens that have expired anyway; they can no longer be presented.
pub async fn purge_expired(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let res = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(crate::db::now()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
