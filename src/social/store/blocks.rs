//! Queries on blocks: who blocked whom, either way.

use std::collections::HashSet;

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
};

use super::either_way;
use crate::db::entities::{user, user_block};
use crate::db::now;

/// Whether `blocker` has blocked `blocked`.
pub async fn has_blocked(
    db: &impl ConnectionTrait,
    blocker: i64,
    blocked: i64,
) -> Result<bool, DbErr> {
    Ok(user_block::Entity::find_by_id((blocker, blocked))
        .one(db)
        .await?
        .is_some())
}

/// Blocks `blocked`; true when the block is new.
pub async fn block(db: &impl ConnectionTrait, blocker: i64, blocked: i64) -> Result<bool, DbErr> {
    if has_blocked(db, blocker, blocked).await? {
        return Ok(false);
    }
    let res = user_block::ActiveModel {
        blocker_id: Set(blocker),
        blocked_id: Set(blocked),
        created_at: Set(now()),
    }
    .insert(db)
    .await;
    match res {
        Ok(_) => Ok(true),
        // A concurrent identical block got there first: the outcome is the same.
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a block; false when there was none.
pub async fn unblock(db: &impl ConnectionTrait, blocker: i64, blocked: i64) -> Result<bool, DbErr> {
    let res = user_block::Entity::delete_by_id((blocker, blocked))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The blocks `blocker` made, most recent first.
pub fn blocks_query(blocker: i64) -> Select<user_block::Entity> {
    user_block::Entity::find()
        .filter(user_block::Column::BlockerId.eq(blocker))
        .order_by_desc(user_block::Column::CreatedAt)
        .order_by_desc(user_block::Column::BlockedId)
}

/// `users.id` is neither blocked by `viewer` nor blocking them.
pub fn not_blocked_either_way(viewer: i64) -> Condition {
    let blocked_by_viewer = Query::select()
        .column(user_block::Column::BlockedId)
        .from(user_block::Entity)
        .and_where(user_block::Column::BlockerId.eq(viewer))
        .to_owned();
    let blocking_viewer = Query::select()
        .column(user_block::Column::BlockerId)
        .from(user_block::Entity)
        .and_where(user_block::Column::BlockedId.eq(viewer))
        .to_owned();
    Condition::all()
        .add(user::Column::Id.not_in_subquery(blocked_by_viewer))
        .add(user::Column::Id.not_in_subquery(blocking_viewer))
}

/// The users `user_id` blocked or was blocked by: one query.
pub async fn blocked_either_way_ids(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<i64>, DbErr> {
    let rows = user_block::Entity::find()
        .filter(
            Condition::any()
                .add(user_block::Column::BlockerId.eq(user_id))
                .add(user_block::Column::BlockedId.eq(user_id)),
        )
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|b| other_party(&b, user_id)).collect())
}

/// The user on the other side of a block from `user_id`.
fn other_party(b: &user_block::Model, user_id: i64) -> i64 {
    if b.blocker_id == user_id {
        b.blocked_id
    } else {
        b.blocker_id
    }
}

/// Which of `others` blocked `user_id` or were blocked by them: one query for a whole page.
pub async fn blocked_among(
    db: &impl ConnectionTrait,
    user_id: i64,
    others: &[i64],
) -> Result<HashSet<i64>, DbErr> {
    if others.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = user_block::Entity::find()
        .filter(either_way(
            user_block::Column::BlockerId,
            user_block::Column::BlockedId,
            user_id,
            others,
        ))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|b| other_party(&b, user_id)).collect())
}

/// Whether either of `a` and `b` has blocked the other: one query.
pub async fn blocked_either_way(db: &impl ConnectionTrait, a: i64, b: i64) -> Result<bool, DbErr> {
    let n = user_block::Entity::find()
        .filter(either_way(
            user_block::Column::BlockerId,
            user_block::Column::BlockedId,
            a,
            &[b],
        ))
        .count(db)
        .await?;
    Ok(n > 0)
}
