//! A user's friends as the other features ask for them, from the caches: the id lists, every
//! friend in username order (while few enough to page in memory), and whose presence may be
//! told or shown to whom.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::{Viewer, sees_presence, store};
use crate::db::entities::user;
use crate::error::ApiError;
use crate::state::{AppState, IdList};

/// Who is told of `user_id`'s presence changes, with their `last_seen`: the friends who may
/// see it (`sees_presence`; None when that is nobody). Blocking ends friendships, so no friend
/// is blocked. The row is read afresh: `last_seen` was just written.
pub async fn presence_audience(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<(Vec<i64>, Option<DateTime<Utc>>)>, DbErr> {
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    let audience: Vec<i64> = store::friend_ids(db, user_id)
        .await?
        .into_iter()
        .filter(|f| sees_presence(Viewer::user(*f), &user, true))
        .collect();
    Ok((!audience.is_empty()).then_some((audience, user.last_seen)))
}

/// Those of `user_id`'s friends who are online and whose presence `user_id` may see: presence
/// is asked first, so only the online friends' rows are read (from the caches).
pub async fn online_friends_showing_presence(
    app: &AppState,
    user_id: i64,
) -> Result<Vec<i64>, ApiError> {
    let ids = cached_ids(app, user_id, IdList::Friends).await?;
    let online: Vec<i64> = app
        .realtime
        .online(ids.to_vec())
        .await
        .into_iter()
        .collect();
    let viewer = Viewer::user(user_id);
    Ok(app
        .users_by_id(&online)
        .await?
        .iter()
        .filter(|u| sees_presence(viewer, u, true))
        .map(|u| u.id)
        .collect())
}

/// Past this many friends the friends list is paged by the database instead of in memory.
pub const FRIENDS_IN_MEMORY_MAX: usize = 500;

/// Every active friend of `user_id`, ordered by username, from the caches (a query only for
/// what they miss); `None` past `FRIENDS_IN_MEMORY_MAX` friends.
pub async fn all_friends(
    app: &AppState,
    user_id: i64,
) -> Result<Option<Vec<Arc<user::Model>>>, ApiError> {
    let ids = cached_ids(app, user_id, IdList::Friends).await?;
    if ids.len() > FRIENDS_IN_MEMORY_MAX {
        return Ok(None);
    }
    let mut rows = app.users_by_id(&ids).await?;
    rows.retain(|u| u.is_active);
    rows.sort_unstable_by(|a, b| a.username_lower.cmp(&b.username_lower));
    Ok(Some(rows))
}

/// One of `user_id`'s id lists, from the cache (a query when it misses).
pub async fn cached_ids(
    app: &AppState,
    user_id: i64,
    list: IdList,
) -> Result<Arc<[i64]>, ApiError> {
    let cache = &app.users.lists;
    if let Some(ids) = cache.get(&(user_id, list)) {
        return Ok(ids);
    }
    let generation = cache.generation();
    let ids: Arc<[i64]> = match list {
        IdList::Friends => store::friend_ids(&app.db, user_id).await?,
        IdList::Blocked => store::blocked_either_way_ids(&app.db, user_id).await?,
    }
    .into();
    cache.put(generation, (user_id, list), ids.clone());
    Ok(ids)
}
