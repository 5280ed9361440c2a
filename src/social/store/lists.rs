//! The friends list and name search as the database serves them: friendships walked in
//! username order, and names matched by prefix through an index each.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Select,
};

use crate::db::entities::{friendship, user};

/// Friends of `user_id` as users by username, matching `search` (the start of a name) and
/// restricted to (or away from) the ids in `online`: the rows the name indexes find, each
/// checked for the friendship by its key.
pub fn friends_query(
    backend: DbBackend,
    user_id: i64,
    search: Option<&str>,
    online: Option<(bool, &[i64])>,
) -> Select<user::Entity> {
    let is_friend = Query::select()
        .expr(Expr::val(1))
        .from(friendship::Entity)
        .and_where(friendship::Column::UserId.eq(user_id))
        .and_where(
            Expr::col((friendship::Entity, friendship::Column::FriendId))
                .equals((user::Entity, user::Column::Id)),
        )
        .to_owned();
    let mut q = user::Entity::find().filter(Expr::exists(is_friend));
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            q = q
                .filter(is_active_unindexed(backend))
                .filter(name_starts_with(backend, s))
        }
        None => q = q.filter(user::Column::IsActive.eq(true)),
    }
    match online {
        Some((true, ids)) => q = q.filter(user::Column::Id.is_in(ids.to_vec())),
        Some((false, ids)) if !ids.is_empty() => {
            q = q.filter(user::Column::Id.is_not_in(ids.to_vec()))
        }
        _ => {}
    }
    q.order_by_asc(user::Column::UsernameLower)
}

/// `user_id`'s friendships with active friends other than `except`, in their username order:
/// a walk of the `(user_id, friend_active, friend_username_lower)` index.
pub fn friendships_by_name(
    user_id: i64,
    except: &[i64],
    order: sea_orm::Order,
) -> Select<friendship::Entity> {
    let mut q = friendship::Entity::find()
        .filter(friendship::Column::UserId.eq(user_id))
        .filter(friendship::Column::FriendActive.eq(true));
    if !except.is_empty() {
        q = q.filter(friendship::Column::FriendId.is_not_in(except.to_vec()));
    }
    q.order_by(friendship::Column::FriendUsernameLower, order)
}

/// How many of `user_id`'s `friend_count` friends are active: the kept count less the few
/// inactive ones (an index range).
pub async fn active_friend_count(
    db: &impl ConnectionTrait,
    user_id: i64,
    friend_count: i64,
) -> Result<u64, DbErr> {
    let inactive = friendship::Entity::find()
        .filter(friendship::Column::UserId.eq(user_id))
        .filter(friendship::Column::FriendActive.eq(false))
        .count(db)
        .await?;
    Ok(u64::try_from(friend_count)
        .unwrap_or(0)
        .saturating_sub(inactive))
}

/// Username, first or last name begins with `term`, ignoring (ASCII) case: three ranges, each
/// on its own index (migration 11), so a search reads the matching rows only. SQLite compares
/// the lower-cased text as bytes; PostgreSQL's `~>=~` / `~<~` do too, on `text_pattern_ops`
/// indexes, whatever the database's collation.
/// The user is active, as a condition that leads no index: beside `name_starts_with`, SQLite
/// (which keeps no statistics) would otherwise walk every active user by the
/// `(is_active, username_lower)` index to spare itself sorting the few that match. SQLite's
/// unary `+` keeps a term off the indexes; PostgreSQL's planner knows the flag is no filter.
pub fn is_active_unindexed(backend: DbBackend) -> SimpleExpr {
    if backend == DbBackend::Postgres {
        user::Column::IsActive.eq(true)
    } else {
        Expr::cust("+is_active = 1")
    }
}

pub fn name_starts_with(backend: DbBackend, term: &str) -> Condition {
    let low = term.trim().to_lowercase();
    // Above every text that begins with `low` (U+10FFFF is the largest code point).
    let high = format!("{low}\u{10FFFF}");
    // sea-query numbers PostgreSQL's placeholders itself from `$1`, `$2` of each expression.
    let (ge, lt, p1, p2) = if backend == DbBackend::Postgres {
        ("~>=~", "~<~", "$1", "$2")
    } else {
        (">=", "<", "?", "?")
    };
    ["username_lower", "lower(first_name)", "lower(last_name)"]
        .iter()
        .fold(Condition::any(), |any, e| {
            any.add(Expr::cust_with_values(
                format!("({e} {ge} {p1} AND {e} {lt} {p2})"),
                [low.clone(), high.clone()],
            ))
        })
}
