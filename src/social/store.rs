//! Queries on the social graph: friend requests, friendships (two rows, (a, b) and (b, a)),
//! and (in `blocks`) blocks.

mod blocks;
mod lists;

pub use blocks::*;
pub use lists::*;

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::db::entities::{friend_request, friendship, user};
use crate::db::now;

pub const PENDING: &str = crate::db::PENDING;
pub const ACCEPTED: &str = "accepted";
pub const REJECTED: &str = "rejected";
pub const CANCELLED: &str = "cancelled";

/// The state of a friend request, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Accepted,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Accepted,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => PENDING,
            Self::Accepted => ACCEPTED,
            Self::Rejected => REJECTED,
            Self::Cancelled => CANCELLED,
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Which of a user's friend requests a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

pub async fn are_friends(db: &impl ConnectionTrait, a: i64, b: i64) -> Result<bool, DbErr> {
    Ok(friendship::Entity::find_by_id((a, b))
        .one(db)
        .await?
        .is_some())
}

pub async fn friend_ids(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<i64>, DbErr> {
    friendship::Entity::find()
        .select_only()
        .column(friendship::Column::FriendId)
        .filter(friendship::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await
}

/// Which of `others` are friends of `user_id`: one query for a whole page.
pub async fn friends_among(
    db: &impl ConnectionTrait,
    user_id: i64,
    others: &[i64],
) -> Result<HashSet<i64>, DbErr> {
    if others.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = friendship::Entity::find()
        .select_only()
        .column(friendship::Column::FriendId)
        .filter(friendship::Column::UserId.eq(user_id))
        .filter(friendship::Column::FriendId.is_in(others.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Pending requests between `user_id` and any of `others`: (those `user_id` sent to, those
/// who sent to `user_id`).
pub async fn pending_among(
    db: &impl ConnectionTrait,
    user_id: i64,
    others: &[i64],
) -> Result<(HashSet<i64>, HashSet<i64>), DbErr> {
    if others.is_empty() {
        return Ok((HashSet::new(), HashSet::new()));
    }
    let rows: Vec<(i64, i64)> = friend_request::Entity::find()
        .select_only()
        .column(friend_request::Column::SenderId)
        .column(friend_request::Column::ReceiverId)
        .filter(friend_request::Column::Status.eq(PENDING))
        .filter(either_way(
            friend_request::Column::SenderId,
            friend_request::Column::ReceiverId,
            user_id,
            others,
        ))
        .into_tuple()
        .all(db)
        .await?;
    let mut sent = HashSet::new();
    let mut received = HashSet::new();
    for (s, r) in rows {
        if s == user_id {
            sent.insert(r);
        } else {
            received.insert(s);
        }
    }
    Ok((sent, received))
}

/// A pending request between `a` and `b`, in either direction.
pub async fn pending_between(
    db: &impl ConnectionTrait,
    a: i64,
    b: i64,
) -> Result<Option<friend_request::Model>, DbErr> {
    friend_request::Entity::find()
        .filter(friend_request::Column::Status.eq(PENDING))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(friend_request::Column::SenderId.eq(a))
                        .add(friend_request::Column::ReceiverId.eq(b)),
                )
                .add(
                    Condition::all()
                        .add(friend_request::Column::SenderId.eq(b))
                        .add(friend_request::Column::ReceiverId.eq(a)),
                ),
        )
        .one(db)
        .await
}

/// The same for (a, b) and (b, a).
fn pair_key(a: i64, b: i64) -> String {
    format!("{}:{}", Ord::min(a, b), Ord::max(a, b))
}

/// Takes the row locks of users `a` and `b`, smaller id first, until the transaction ends.
/// Every change to the relation of two users (a request, an answer, a block, an unfriending)
/// takes them first, in this one order, so such changes of one pair run one after another and
/// each checks what the others committed (no request slips in between a block's check and its
/// end; no deadlock between two of them).
pub async fn lock_pair(txn: &impl ConnectionTrait, a: i64, b: i64) -> Result<(), DbErr> {
    for id in [Ord::min(a, b), Ord::max(a, b)] {
        crate::db::lock_row::<user::Entity>(txn, user::Column::Id, id).await?;
    }
    Ok(())
}

/// A new pending request; a unique violation means one between the two already exists.
pub async fn create_request(
    db: &impl ConnectionTrait,
    sender: i64,
    receiver: i64,
) -> Result<friend_request::Model, DbErr> {
    let t = now();
    friend_request::ActiveModel {
        sender_id: Set(sender),
        receiver_id: Set(receiver),
        status: Set(PENDING.into()),
        created_at: Set(t),
        updated_at: Set(t),
        pair_key: Set(pair_key(sender, receiver)),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_request(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<friend_request::Model>, DbErr> {
    friend_request::Entity::find_by_id(id).one(db).await
}

/// Moves a pending request to `status`; false when it was no longer pending (a concurrent
/// accept, reject or cancel won).
pub async fn close_request(
    db: &impl ConnectionTrait,
    id: i64,
    status: &str,
) -> Result<bool, DbErr> {
    use friend_request::Column as C;
    let columns = crate::db::PendingColumns {
        id: C::Id,
        status: C::Status,
        updated_at: C::UpdatedAt,
    };
    crate::db::close_pending::<friend_request::Entity>(db, columns, id, status, now()).await
}

/// Adds `delta` to both users' `friend_count`.
async fn adjust_counts(db: &impl ConnectionTrait, a: i64, b: i64, delta: i64) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::FriendCount,
            Expr::col(user::Column::FriendCount).add(delta),
        )
        .filter(user::Column::Id.is_in([a, b]))
        .exec(db)
        .await?;
    Ok(())
}

/// Call inside the transaction that accepts the request.
/// Each row carries the friend's username and state as they are now (both rows are locked by
/// the caller, so neither changes before the commit).
pub async fn make_friends(db: &impl ConnectionTrait, a: i64, b: i64) -> Result<(), DbErr> {
    let t = now();
    let users: HashMap<i64, (String, bool)> = user::Entity::find()
        .select_only()
        .columns([
            user::Column::Id,
            user::Column::UsernameLower,
            user::Column::IsActive,
        ])
        .filter(user::Column::Id.is_in([a, b]))
        .into_tuple::<(i64, String, bool)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, active)| (id, (name, active)))
        .collect();
    let row = |user_id: i64, friend_id: i64| {
        let (name, active) = users.get(&friend_id).cloned().unwrap_or_default();
        friendship::ActiveModel {
            user_id: Set(user_id),
            friend_id: Set(friend_id),
            created_at: Set(t),
            friend_username_lower: Set(name),
            friend_active: Set(active),
        }
    };
    friendship::Entity::insert_many([row(a, b), row(b, a)])
        .exec(db)
        .await?;
    adjust_counts(db, a, b, 1).await
}

/// Copies user `id`'s username and state onto the rows that list it as a friend (found
/// through the mirror rows, by primary key). In the transaction that changes them.
pub async fn refresh_as_friend(txn: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    let Some((name, active)) = user::Entity::find_by_id(id)
        .select_only()
        .columns([user::Column::UsernameLower, user::Column::IsActive])
        .into_tuple::<(String, bool)>()
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let friends = Query::select()
        .column(friendship::Column::FriendId)
        .from(friendship::Entity)
        .and_where(friendship::Column::UserId.eq(id))
        .to_owned();
    friendship::Entity::update_many()
        .col_expr(friendship::Column::FriendUsernameLower, Expr::value(name))
        .col_expr(friendship::Column::FriendActive, Expr::value(active))
        .filter(friendship::Column::UserId.in_subquery(friends))
        .filter(friendship::Column::FriendId.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Ends a friendship; false when there was none.
pub async fn unfriend(txn: &impl ConnectionTrait, a: i64, b: i64) -> Result<bool, DbErr> {
    let res = friendship::Entity::delete_many()
        .filter(either_way(
            friendship::Column::UserId,
            friendship::Column::FriendId,
            a,
            &[b],
        ))
        .exec(txn)
        .await?;
    let ended = res.rows_affected > 0;
    if ended {
        adjust_counts(txn, a, b, -1).await?;
    }
    Ok(ended)
}

/// Cancels pending requests between `a` and `b` both ways (blocking); returns them as they were.
pub async fn cancel_pending_between(
    db: &impl ConnectionTrait,
    a: i64,
    b: i64,
) -> Result<Vec<friend_request::Model>, DbErr> {
    let mut closed = Vec::new();
    while let Some(req) = pending_between(db, a, b).await? {
        if close_request(db, req.id, CANCELLED).await? {
            closed.push(req);
        }
    }
    Ok(closed)
}

/// Requests of `user_id`, newest first.
pub fn requests_query(
    user_id: i64,
    direction: Option<Direction>,
    status: RequestStatus,
) -> Select<friend_request::Entity> {
    let side = match direction {
        Some(Direction::Incoming) => {
            Condition::all().add(friend_request::Column::ReceiverId.eq(user_id))
        }
        Some(Direction::Outgoing) => {
            Condition::all().add(friend_request::Column::SenderId.eq(user_id))
        }
        None => Condition::any()
            .add(friend_request::Column::ReceiverId.eq(user_id))
            .add(friend_request::Column::SenderId.eq(user_id)),
    };
    friend_request::Entity::find()
        .filter(side)
        .filter(friend_request::Column::Status.eq(status.as_str()))
        .order_by_desc(friend_request::Column::CreatedAt)
        .order_by_desc(friend_request::Column::Id)
}

/// Users by id, in the order of `ids`: one query.
pub async fn users_in_order(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<user::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    users.sort_by_key(|u| ids.iter().position(|id| *id == u.id));
    Ok(users)
}

/// Rows from `user_id` to one of `others`, or from one of them to `user_id`.
pub(super) fn either_way(
    from: impl ColumnTrait,
    to: impl ColumnTrait,
    user_id: i64,
    others: &[i64],
) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(from.eq(user_id))
                .add(to.is_in(others.to_vec())),
        )
        .add(
            Condition::all()
                .add(to.eq(user_id))
                .add(from.is_in(others.to_vec())),
        )
}
