//! The three feeds, newest first as cursor pages: the caller's home feed, a user's posts and
//! a group's posts, each holding only what the caller may see now.

use super::model::Post;
use super::{posts_view, store};
use crate::db::entities::post;
use crate::error::ApiError;
use crate::http::{CurrentUser, Cursor, CursorPaginated, Order};
use crate::social::posts::{sees_author, visibilities};
use crate::social::{Viewer, cached_ids};
use crate::state::{AppState, IdList};

async fn page_of(
    app: &AppState,
    me: &CurrentUser,
    cursor: &Cursor,
    rows: Vec<post::Model>,
) -> Result<CursorPaginated<Post>, ApiError> {
    // Posts of accounts closed since are left out (the page may be a post short).
    let authors = crate::social::briefs::users_by_id(app, rows.iter().map(|p| p.author_id)).await?;
    let mut page = cursor.wrap(rows, |p| p.id, |rows| rows);
    page.results
        .retain(|p| me.is_staff || authors.get(&p.author_id).is_some_and(|u| u.is_active));
    let results = posts_view(app, me.into(), &page.results).await?;
    Ok(CursorPaginated {
        next: page.next,
        previous: page.previous,
        results,
    })
}

/// The blocked-either-way users whose posts `me` never sees (none for staff).
async fn hidden(app: &AppState, me: &CurrentUser) -> Result<Vec<i64>, ApiError> {
    if me.is_staff {
        return Ok(Vec::new());
    }
    Ok(cached_ids(app, me.id, IdList::Blocked).await?.to_vec())
}

pub async fn home(
    app: &AppState,
    me: &CurrentUser,
    cursor: &Cursor,
) -> Result<CursorPaginated<Post>, ApiError> {
    let hidden = cached_ids(app, me.id, IdList::Blocked).await?;
    let friends = cached_ids(app, me.id, IdList::Friends).await?.len();
    // Many friends: walk the posts newest first (`AGORA_FEED_WALK_FRIENDS`).
    let plan = if friends >= app.settings.feed_walk_friends {
        store::FeedPlan::Walk
    } else {
        store::FeedPlan::ByAuthor
    };
    let keyset = cursor.keyset(Order::NewestFirst);
    let rows = store::home(&app.db, me.id, &hidden, keyset, plan).await?;
    page_of(app, me, cursor, rows).await
}

pub async fn by_user(
    app: &AppState,
    me: &CurrentUser,
    user_id: i64,
    cursor: &Cursor,
) -> Result<CursorPaginated<Post>, ApiError> {
    let author = app
        .users_by_id(&[user_id])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    let viewer = Viewer::from(me);
    if !sees_author(app, viewer, &author).await? {
        return Err(ApiError::NotFound);
    }
    let friends = me.id != user_id
        && cached_ids(app, me.id, IdList::Friends)
            .await?
            .contains(&user_id);
    let rows = store::by_author(
        &app.db,
        user_id,
        visibilities(viewer, &author, friends),
        cursor.keyset(Order::NewestFirst),
    )
    .await?;
    page_of(app, me, cursor, rows).await
}

pub async fn in_group(
    app: &AppState,
    me: &CurrentUser,
    group_id: i64,
    cursor: &Cursor,
) -> Result<CursorPaginated<Post>, ApiError> {
    let found = crate::groups::actions::visible(app, me, group_id).await?;
    // A private group's invitees see the group, not its posts.
    if found.group.visibility == "private" && found.role.is_none() && !me.is_staff {
        return Err(ApiError::NotFound);
    }
    let hidden = hidden(app, me).await?;
    let rows = store::in_group(
        &app.db,
        group_id,
        &hidden,
        cursor.keyset(Order::NewestFirst),
    )
    .await?;
    page_of(app, me, cursor, rows).await
}
