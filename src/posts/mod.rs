//! Posts and the feeds: a post with a body and media for the author's friends, everyone,
//! only the author, or a group; the home feed, a user's posts and a group's posts as cursor
//! pages; and `post_created`, `post_updated`, `post_deleted` to a post's audience. Who may
//! see a post is `social::posts`, asked at every read, so a change of visibility, friendship,
//! block or membership takes effect at once everywhere.

pub mod actions;
pub mod comments;
pub mod feeds;
pub mod model;
pub mod reactions;
mod routes;
pub mod store;

use std::collections::HashSet;

use axum::Router;
use axum::routing::{get, post};

use crate::chat::members;
use crate::db::entities::{comment, post};
use crate::error::ApiError;
use crate::media::attachments::Attachments;
use crate::media::store::Holder;
use crate::reactions::{Kind, Tally};
use crate::social::briefs::{Briefs, neutral_brief, users_by_id};
use crate::social::{Viewer, cached_ids};
use crate::state::{AppState, IdList};
use model::{Comment, Post};

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/posts", post(routes::create_post))
        .route(
            "/api/posts/{id}",
            get(routes::read_post)
                .patch(routes::edit_post)
                .delete(routes::delete_post),
        )
        .route(
            "/api/posts/{id}/comments",
            get(routes::list_comments).post(routes::create_comment),
        )
        .route("/api/comments/{id}/replies", get(routes::list_replies))
        .route(
            "/api/comments/{id}",
            get(routes::read_comment)
                .patch(routes::edit_comment)
                .delete(routes::delete_comment),
        )
        .route("/api/posts/{id}/reactions", get(reactions::list_of_post))
        .route(
            "/api/posts/{id}/reactions/{emoji}",
            axum::routing::put(reactions::add_to_post).delete(reactions::remove_from_post),
        )
        .route(
            "/api/comments/{id}/reactions",
            get(reactions::list_of_comment),
        )
        .route(
            "/api/comments/{id}/reactions/{emoji}",
            axum::routing::put(reactions::add_to_comment).delete(reactions::remove_from_comment),
        )
        .route("/api/feed", get(routes::home_feed))
        .route("/api/users/{id}/posts", get(routes::user_posts))
        .route("/api/groups/{id}/posts", get(routes::group_posts))
}

/// Posts as `viewer` sees them: a fixed number of queries however many a page holds.
pub async fn posts_view(
    app: &AppState,
    viewer: Viewer,
    rows: &[post::Model],
) -> Result<Vec<Post>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let briefs = Briefs::load(app, viewer, rows.iter().map(|p| p.author_id)).await?;
    let media = Attachments::load_of(app, Holder::Post, &ids, briefs.links().clone()).await?;
    let tally = Tally::load(&app.db, Kind::Post, &ids, Some(viewer.id)).await?;
    Ok(rows
        .iter()
        .map(|p| shape(p, briefs.of(p.author_id), &media, &tally, true))
        .collect())
}

/// A post as its events carry it to everyone: no `my_reactions`, no presence, links not
/// built from the request that caused it.
pub async fn post_event(app: &AppState, p: &post::Model) -> Result<Post, ApiError> {
    let users = users_by_id(app, [p.author_id]).await?;
    let links = app.event_links();
    let media = Attachments::load_of(app, Holder::Post, &[p.id], links.clone()).await?;
    let tally = Tally::load(&app.db, Kind::Post, &[p.id], None).await?;
    Ok(shape(
        p,
        neutral_brief(&users, p.author_id, &links),
        &media,
        &tally,
        false,
    ))
}

fn shape(
    p: &post::Model,
    author: crate::social::model::UserBrief,
    media: &Attachments,
    tally: &Tally,
    mine: bool,
) -> Post {
    Post {
        id: p.id,
        author,
        body: p.body.clone(),
        media: media.of(p.id),
        visibility: p.visibility.clone(),
        group: p.group_id,
        created_at: p.created_at,
        edited_at: p.edited_at,
        comment_count: p.comment_count,
        reactions: tally.counts(p.id),
        my_reactions: mine.then(|| tally.mine(p.id)),
    }
}

/// Comments as `viewer` sees them (`None`: as events carry them to everyone): a fixed number
/// of queries however many a page holds. A tombstone shows no body, media or reactions.
async fn comments_shaped(
    app: &AppState,
    viewer: Option<Viewer>,
    rows: &[comment::Model],
) -> Result<Vec<Comment>, ApiError> {
    let live: Vec<i64> = rows.iter().filter(|c| !c.deleted).map(|c| c.id).collect();
    let authors: Vec<i64> = rows.iter().map(|c| c.author_id).collect();
    let (briefs, links) = match viewer {
        Some(v) => {
            let b = Briefs::load(app, v, authors.iter().copied()).await?;
            let links = b.links().clone();
            (Some(b), links)
        }
        None => (None, app.event_links()),
    };
    let users = match briefs {
        Some(_) => Default::default(),
        None => users_by_id(app, authors.iter().copied()).await?,
    };
    let media = Attachments::load_of(app, Holder::Comment, &live, links.clone()).await?;
    let tally = Tally::load(&app.db, Kind::Comment, &live, viewer.map(|v| v.id)).await?;
    Ok(rows
        .iter()
        .map(|c| Comment {
            id: c.id,
            post: c.post_id,
            author: match &briefs {
                Some(b) => b.of(c.author_id),
                None => neutral_brief(&users, c.author_id, &links),
            },
            body: c.body.clone(),
            media: media.of(c.id),
            reply_to: c.reply_to,
            reply_count: c.reply_count,
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted: c.deleted,
            reactions: tally.counts(c.id),
            my_reactions: viewer.map(|_| tally.mine(c.id)),
        })
        .collect())
}

pub async fn comments_view(
    app: &AppState,
    viewer: Viewer,
    rows: &[comment::Model],
) -> Result<Vec<Comment>, ApiError> {
    comments_shaped(app, Some(viewer), rows).await
}

/// A comment as its events carry it.
pub async fn comments_event(app: &AppState, c: &comment::Model) -> Result<Comment, ApiError> {
    comments_shaped(app, None, std::slice::from_ref(c))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// Who holds `p` in their home feed, so hears of it: its author, the author's friends when
/// its visibility admits them, a group post's members; never a user blocked either way with
/// the author. Offline users among them are dropped by the bus.
pub async fn audience(app: &AppState, p: &post::Model) -> Result<Vec<i64>, ApiError> {
    let mut ids: HashSet<i64> = HashSet::from([p.author_id]);
    if let Some(group_id) = p.group_id {
        if let Some(g) = crate::groups::store::find(&app.db, group_id).await? {
            ids.extend(members::member_ids(app, g.room_id).await?.iter());
        }
    } else if matches!(p.visibility.as_str(), "public" | "friends") {
        ids.extend(cached_ids(app, p.author_id, IdList::Friends).await?.iter());
    }
    let blocked = cached_ids(app, p.author_id, IdList::Blocked).await?;
    Ok(ids.into_iter().filter(|id| !blocked.contains(id)).collect())
}
