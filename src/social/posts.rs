//! Who may see a post: the rule of API.md's "Posts and comments", written once. Reading a
//! post, its comments, reactions and media, every feed and every event ask it (the feeds as
//! the SQL filter `visibilities`, the rest through `may_see_post`), at every use.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::{Viewer, Visibility, cached_ids};
use crate::db::entities::{chat_member, group, post, user};
use crate::error::ApiError;
use crate::state::{AppState, IdList};

/// The visibilities of `author`'s non-group posts that `viewer` may see, given whether they
/// are friends. The author sees all of them; staff all but `only_me`; friends `public` and
/// `friends`; anyone else `public`, unless the author's profile is not public (then a
/// `public` post reaches friends only). Blocks are the caller's to rule out first.
pub fn visibilities(
    viewer: Viewer,
    author: &user::Model,
    friends: bool,
) -> &'static [&'static str] {
    if viewer.id == author.id {
        &["public", "friends", "only_me"]
    } else if viewer.is_staff || friends {
        &["public", "friends"]
    } else if Visibility::of(&author.visibility) == Visibility::Public {
        &["public"]
    } else {
        &[]
    }
}

/// Whether `viewer` may see `author`'s posts at all: not across a block (staff aside), not
/// an inactive account's (but to staff and the author).
pub async fn sees_author(
    app: &AppState,
    viewer: Viewer,
    author: &user::Model,
) -> Result<bool, ApiError> {
    if viewer.id == author.id || viewer.is_staff {
        return Ok(true);
    }
    Ok(author.is_active
        && !cached_ids(app, viewer.id, IdList::Blocked)
            .await?
            .contains(&author.id))
}

/// A group and whether `user_id` is one of its members.
pub async fn group_membership(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
) -> Result<Option<(group::Model, bool)>, DbErr> {
    let Some(g) = group::Entity::find_by_id(group_id).one(db).await? else {
        return Ok(None);
    };
    let member = chat_member::Entity::find_by_id((g.room_id, user_id))
        .one(db)
        .await?
        .is_some();
    Ok(Some((g, member)))
}

/// The ids of the groups `user_id` belongs to.
pub async fn group_ids_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<i64>, DbErr> {
    use sea_orm::sea_query::Query;
    let rooms = Query::select()
        .column(chat_member::Column::RoomId)
        .from(chat_member::Entity)
        .and_where(chat_member::Column::UserId.eq(user_id))
        .to_owned();
    group::Entity::find()
        .select_only()
        .column(group::Column::Id)
        .filter(group::Column::RoomId.in_subquery(rooms))
        .into_tuple()
        .all(db)
        .await
}

/// How `viewer` stands to a post: whether they may see it, and whether they may also comment
/// and react (on a group post, members only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Hidden,
    Read,
    Comment,
}

/// `viewer`'s access to `p`, asked afresh at every use.
pub async fn post_access(
    app: &AppState,
    viewer: Viewer,
    p: &post::Model,
) -> Result<Access, ApiError> {
    let Some(author) = app.users_by_id(&[p.author_id]).await?.pop() else {
        return Ok(Access::Hidden);
    };
    if !sees_author(app, viewer, &author).await? {
        return Ok(Access::Hidden);
    }
    if let Some(group_id) = p.group_id {
        let Some((g, member)) = group_membership(&app.db, group_id, viewer.id).await? else {
            return Ok(Access::Hidden);
        };
        return Ok(if member {
            Access::Comment
        } else if viewer.is_staff || g.visibility != "private" {
            Access::Read
        } else {
            Access::Hidden
        });
    }
    let friends = viewer.id != author.id
        && cached_ids(app, viewer.id, IdList::Friends)
            .await?
            .contains(&author.id);
    Ok(
        if visibilities(viewer, &author, friends).contains(&p.visibility.as_str()) {
            Access::Comment
        } else {
            Access::Hidden
        },
    )
}
