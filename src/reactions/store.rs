//! The reaction rows and their kept counts. Every change runs in the caller's write
//! transaction after the target's row lock, so the count and the 20-emoji cap hold when
//! users react at once.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Kind, MAX_DISTINCT};
use crate::db::entities::{reaction, reaction_count};
use crate::error::ApiError;

pub(super) async fn counts_of(
    db: &impl ConnectionTrait,
    kind: Kind,
    ids: &[i64],
) -> Result<Vec<reaction_count::Model>, DbErr> {
    reaction_count::Entity::find()
        .filter(reaction_count::Column::Kind.eq(kind.as_str()))
        .filter(reaction_count::Column::TargetId.is_in(ids.to_vec()))
        .order_by_asc(reaction_count::Column::TargetId)
        .order_by_asc(reaction_count::Column::FirstId)
        .all(db)
        .await
}

pub(super) async fn mine(
    db: &impl ConnectionTrait,
    kind: Kind,
    ids: &[i64],
    user_id: i64,
) -> Result<Vec<(i64, String)>, DbErr> {
    reaction::Entity::find()
        .select_only()
        .column(reaction::Column::TargetId)
        .column(reaction::Column::Emoji)
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::UserId.eq(user_id))
        .filter(reaction::Column::TargetId.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await
}

/// Adds `user_id`'s `emoji` to the target; false when it was already there. A new emoji past
/// the 20th is refused. Run under the target's row lock.
pub async fn add(
    txn: &impl ConnectionTrait,
    kind: Kind,
    target: i64,
    user_id: i64,
    emoji: &str,
) -> Result<bool, ApiError> {
    let here = reaction_count::Entity::find()
        .select_only()
        .column(reaction_count::Column::Emoji)
        .filter(reaction_count::Column::Kind.eq(kind.as_str()))
        .filter(reaction_count::Column::TargetId.eq(target))
        .into_tuple::<String>()
        .all(txn)
        .await?;
    if !here.iter().any(|e| e == emoji) && here.len() >= MAX_DISTINCT {
        return Err(ApiError::rejected(
            "No more than 20 different reactions are allowed here.",
        ));
    }
    let inserted = reaction::Entity::insert(reaction::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        target_id: Set(target),
        user_id: Set(user_id),
        emoji: Set(emoji.to_owned()),
        created_at: Set(crate::db::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            reaction::Column::Kind,
            reaction::Column::TargetId,
            reaction::Column::UserId,
            reaction::Column::Emoji,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let id: i64 = reaction::Entity::find()
        .select_only()
        .column(reaction::Column::Id)
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::TargetId.eq(target))
        .filter(reaction::Column::UserId.eq(user_id))
        .filter(reaction::Column::Emoji.eq(emoji))
        .into_tuple()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::Internal("a reaction vanished in its transaction".into()))?;
    reaction_count::Entity::insert(reaction_count::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        target_id: Set(target),
        emoji: Set(emoji.to_owned()),
        count: Set(1),
        first_id: Set(id),
    })
    .on_conflict(
        OnConflict::columns([
            reaction_count::Column::Kind,
            reaction_count::Column::TargetId,
            reaction_count::Column::Emoji,
        ])
        .value(
            reaction_count::Column::Count,
            Expr::col((reaction_count::Entity, reaction_count::Column::Count)).add(1),
        )
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(true)
}

/// Removes `user_id`'s `emoji` from the target; false when it was not there.
pub async fn remove(
    txn: &impl ConnectionTrait,
    kind: Kind,
    target: i64,
    user_id: i64,
    emoji: &str,
) -> Result<bool, ApiError> {
    let removed = reaction::Entity::delete_many()
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::TargetId.eq(target))
        .filter(reaction::Column::UserId.eq(user_id))
        .filter(reaction::Column::Emoji.eq(emoji))
        .exec(txn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Ok(false);
    }
    let of_emoji = || {
        reaction_count::Column::Kind
            .eq(kind.as_str())
            .and(reaction_count::Column::TargetId.eq(target))
            .and(reaction_count::Column::Emoji.eq(emoji))
    };
    reaction_count::Entity::update_many()
        .col_expr(
            reaction_count::Column::Count,
            Expr::col(reaction_count::Column::Count).sub(1),
        )
        .filter(of_emoji())
        .exec(txn)
        .await?;
    reaction_count::Entity::delete_many()
        .filter(of_emoji())
        .filter(reaction_count::Column::Count.lte(0))
        .exec(txn)
        .await?;
    Ok(true)
}

/// Removes every reaction on `ids` (deleted objects).
pub async fn clear(txn: &impl ConnectionTrait, kind: Kind, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    reaction::Entity::delete_many()
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::TargetId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    reaction_count::Entity::delete_many()
        .filter(reaction_count::Column::Kind.eq(kind.as_str()))
        .filter(reaction_count::Column::TargetId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Who reacted to the target (optionally with one emoji), newest first as the caller pages
/// it, leaving out `hidden` users (blocked either way with the viewer).
pub fn list_query(
    kind: Kind,
    target: i64,
    emoji: Option<&str>,
    hidden: &[i64],
) -> sea_orm::Select<reaction::Entity> {
    let mut q = reaction::Entity::find()
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::TargetId.eq(target));
    if let Some(e) = emoji {
        q = q.filter(reaction::Column::Emoji.eq(e));
    }
    if !hidden.is_empty() {
        q = q.filter(reaction::Column::UserId.is_not_in(hidden.to_vec()));
    }
    q.order_by_desc(reaction::Column::Id)
}

/// How many users other than `author` reacted to the target.
pub async fn reactors(
    db: &impl ConnectionTrait,
    kind: Kind,
    target: i64,
    author: i64,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    reaction::Entity::find()
        .select_only()
        .column(reaction::Column::UserId)
        .distinct()
        .filter(reaction::Column::Kind.eq(kind.as_str()))
        .filter(reaction::Column::TargetId.eq(target))
        .filter(reaction::Column::UserId.ne(author))
        .count(db)
        .await
}
