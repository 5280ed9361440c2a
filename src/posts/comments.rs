//! The comment use cases: comment and reply, read, edit, delete (a top-level comment with
//! replies stays as a tombstone until its last reply goes). Each asks afresh whether the
//! caller may see the post, writes under the post's row lock (so the counts stay true),
//! then tells the post's audience and notifies at most once per user.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;

use super::actions;
use super::model::{self, Comment, CommentBody};
use super::store::comments::{self as store, NewComment};
use super::{audience, comments_event, comments_view};
use crate::db::entities::{comment, post};
use crate::error::{ApiError, FieldErrors, after_commit};
use crate::http::{CurrentUser, Cursor, CursorPaginated, Order};
use crate::media::{self, store::Holder};
use crate::notifications::{self, model as kinds};
use crate::reactions::{self, Kind};
use crate::social::posts::{Access, post_access};
use crate::social::{Viewer, cached_ids};
use crate::state::{AppState, IdList};

/// What comment events carry.
#[derive(Serialize)]
struct CommentEvent<'a> {
    comment: &'a Comment,
    comment_count: i64,
}

/// The post `me` may comment on: seen, and on a group post a member (a non-member of a public
/// group reads but may not write: 403).
pub async fn writable_post(
    app: &AppState,
    me: &CurrentUser,
    post_id: i64,
) -> Result<post::Model, ApiError> {
    let (p, access) = actions::visible(app, me, post_id).await?;
    if access != Access::Comment {
        return Err(ApiError::Forbidden);
    }
    Ok(p)
}

/// A comment whose post `me` may see, with its post; else a 404.
pub async fn visible(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
) -> Result<(comment::Model, post::Model, Access), ApiError> {
    let c = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    let (p, access) = actions::visible(app, me, c.post_id).await?;
    if !me.is_staff
        && (cached_ids(app, me.id, IdList::Blocked)
            .await?
            .contains(&c.author_id)
            || !suspended_among(app, std::slice::from_ref(&c))
                .await?
                .is_empty())
    {
        return Err(ApiError::NotFound);
    }
    Ok((c, p, access))
}

/// The authors of `rows` who are suspended: their comments are hidden from all but staff
/// while it lasts (a deleted user's tombstones stay). From the user cache, no query when warm.
async fn suspended_among(
    app: &AppState,
    rows: &[comment::Model],
) -> Result<std::collections::HashSet<i64>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|c| c.author_id).collect();
    Ok(app
        .users_by_id(&ids)
        .await?
        .iter()
        .filter(|u| u.suspended)
        .map(|u| u.id)
        .collect())
}

#[tracing::instrument(skip_all, fields(user_id = me.id, post_id))]
pub async fn create(
    app: &AppState,
    me: &CurrentUser,
    post_id: i64,
    body: CommentBody,
) -> Result<Comment, ApiError> {
    let p = writable_post(app, me, post_id).await?;
    let mut errors = FieldErrors::new();
    let content = model::content(
        body.body.as_deref(),
        body.media,
        model::MAX_COMMENT_CHARS,
        model::MAX_COMMENT_MEDIA,
        &mut errors,
    );
    errors.into_result()?;
    let parent = match body.reply_to {
        None => None,
        Some(id) => {
            let found = store::find(&app.db, id).await?;
            match found {
                Some(c) if c.post_id == p.id && c.reply_to.is_none() && !c.deleted => Some(c),
                _ => {
                    return Err(ApiError::field(
                        "reply_to",
                        "Replies can only be made to a top-level comment of this post.",
                    ));
                }
            }
        }
    };
    actions::own_media(app, me, &content.media).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    crate::db::lock_row::<post::Entity>(&txn, post::Column::Id, p.id).await?;
    // The post (deleted by a racing request: a 404, not a foreign-key error) and the parent
    // may have gone while we were not holding the lock.
    if super::store::find(&txn, p.id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    if let Some(parent) = &parent
        && store::find(&txn, parent.id)
            .await?
            .is_none_or(|c| c.deleted)
    {
        return Err(ApiError::field(
            "reply_to",
            "Replies can only be made to a top-level comment of this post.",
        ));
    }
    let row = store::insert(
        &txn,
        NewComment {
            post_id: p.id,
            author_id: me.id,
            body: content.body,
            reply_to: parent.as_ref().map(|c| c.id),
        },
    )
    .await?;
    media::store::attach(&txn, Holder::Comment, row.id, &content.media).await?;
    super::store::add_comments(&txn, p.id, 1).await?;
    if let Some(parent) = &parent {
        store::add_replies(&txn, parent.id, 1).await?;
    }
    txn.commit().await?;
    announce(app, &row, "comment_created").await;
    after_commit(
        "comment notifications",
        notify(app, me, &p, &row, parent.as_ref()).await,
    );
    view(app, me, &row).await
}

pub async fn view(
    app: &AppState,
    me: &CurrentUser,
    c: &comment::Model,
) -> Result<Comment, ApiError> {
    comments_view(app, me.into(), std::slice::from_ref(c))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// `kind` with the comment as everyone sees it and the post's count, to the post's audience
/// and the comment's author. After a commit.
async fn announce(app: &AppState, c: &comment::Model, kind: &str) {
    let told = async {
        let Some(p) = super::store::find(&app.db, c.post_id).await? else {
            return Ok(());
        };
        let shown = comments_event(app, c).await?;
        let mut to = audience(app, &p).await?;
        to.push(c.author_id);
        let event = CommentEvent {
            comment: &shown,
            comment_count: p.comment_count,
        };
        app.realtime.publish(&to, kind, &event);
        Ok(())
    }
    .await;
    after_commit("comment event", told);
}

/// At most one notification per user for a comment, the first that applies of `mention`,
/// `comment_reply` and `post_comment`; none to the commenter or to anyone who may not see the
/// post (blocks are `notify_many`'s).
async fn notify(
    app: &AppState,
    me: &CurrentUser,
    p: &post::Model,
    c: &comment::Model,
    parent: Option<&comment::Model>,
) -> Result<(), ApiError> {
    let mut done: HashSet<i64> = HashSet::from([me.id]);
    let names: Vec<String> = crate::text::mentioned(&c.body).into_iter().collect();
    let data = json!({"post_id": p.id, "comment_id": c.id});
    let mut mentioned = Vec::new();
    for u in crate::users::store::find_by_usernames(&app.db, &names).await? {
        if done.insert(u.id) && may_see(app, u.id, p).await? {
            mentioned.push(u.id);
        }
    }
    let who = &me.user.username;
    notifications::notify_many(
        app,
        &mentioned,
        Some(me.id),
        kinds::MENTION,
        format!("{who} mentioned you in a comment"),
        data.clone(),
    )
    .await?;
    if let Some(parent) = parent
        && done.insert(parent.author_id)
        && may_see(app, parent.author_id, p).await?
    {
        let data = json!({"post_id": p.id, "comment_id": c.id, "reply_to": parent.id});
        notifications::notify(
            app,
            parent.author_id,
            Some(me.id),
            kinds::COMMENT_REPLY,
            format!("{who} replied to your comment"),
            data,
        )
        .await?;
    }
    if done.insert(p.author_id) {
        notifications::notify(
            app,
            p.author_id,
            Some(me.id),
            kinds::POST_COMMENT,
            format!("{who} commented on your post"),
            data,
        )
        .await?;
    }
    Ok(())
}

async fn may_see(app: &AppState, user_id: i64, p: &post::Model) -> Result<bool, ApiError> {
    Ok(post_access(app, Viewer::user(user_id), p).await? != Access::Hidden)
}

/// A post's top-level comments or a comment's replies, oldest first, without those of users
/// blocked either way with the caller.
pub async fn list(
    app: &AppState,
    me: &CurrentUser,
    post_id: i64,
    parent: Option<i64>,
    cursor: &Cursor,
) -> Result<CursorPaginated<Comment>, ApiError> {
    let hidden = if me.is_staff {
        Vec::new()
    } else {
        cached_ids(app, me.id, IdList::Blocked).await?.to_vec()
    };
    let rows = store::page(
        &app.db,
        post_id,
        parent,
        &hidden,
        cursor.keyset(Order::OldestFirst),
    )
    .await?;
    let mut page = cursor.wrap(rows, |c| c.id, |rows| rows);
    if !me.is_staff {
        let suspended = suspended_among(app, &page.results).await?;
        page.results.retain(|c| !suspended.contains(&c.author_id));
    }
    Ok(CursorPaginated {
        results: comments_view(app, me.into(), &page.results).await?,
        next: page.next,
        previous: page.previous,
    })
}

#[tracing::instrument(skip_all, fields(user_id = me.id, comment_id = id))]
pub async fn edit(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    body: CommentBody,
) -> Result<Comment, ApiError> {
    let (c, _, access) = visible(app, me, id).await?;
    if c.author_id != me.id {
        return Err(ApiError::Forbidden);
    }
    if access != Access::Comment {
        return Err(ApiError::Forbidden);
    }
    if c.deleted {
        return Err(ApiError::rejected("This comment has been deleted."));
    }
    let current: Vec<i64> = media::store::attachments_of(&app.db, Holder::Comment, &[c.id])
        .await?
        .remove(&c.id)
        .unwrap_or_default()
        .iter()
        .map(|m| m.id)
        .collect();
    let mut errors = FieldErrors::new();
    let content = model::content(
        Some(body.body.as_deref().unwrap_or(&c.body)),
        Some(body.media.unwrap_or_else(|| current.clone())),
        model::MAX_COMMENT_CHARS,
        model::MAX_COMMENT_MEDIA,
        &mut errors,
    );
    errors.into_result()?;
    actions::own_media(app, me, &content.media).await?;
    if content.body != c.body || content.media != current {
        let txn = crate::db::begin_write(&app.db).await?;
        store::set_body(&txn, c.id, &content.body).await?;
        if content.media != current {
            media::store::detach_all(&txn, Holder::Comment, &[c.id]).await?;
            media::store::attach(&txn, Holder::Comment, c.id, &content.media).await?;
        }
        txn.commit().await?;
    }
    let row = store::find(&app.db, c.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    announce(app, &row, "comment_updated").await;
    view(app, me, &row).await
}

/// Deletes by the comment's author, the post's author, a group owner or admin (group post)
/// or staff. A reply, or a top-level comment without replies, goes; one with replies becomes
/// a tombstone, removed with its last reply.
#[tracing::instrument(skip_all, fields(user_id = me.id, comment_id = id))]
pub async fn delete(app: &AppState, me: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let (c, p, _) = visible(app, me, id).await?;
    let mut allowed = c.author_id == me.id || p.author_id == me.id || me.is_staff;
    if !allowed && let Some(group_id) = p.group_id {
        let found = crate::groups::actions::visible(app, me, group_id).await?;
        allowed = found.role.is_some_and(|r| r.manages());
    }
    if !allowed {
        return Err(ApiError::Forbidden);
    }
    remove(app, &c, &p, true).await?;
    if c.author_id != me.id && p.author_id != me.id && me.is_staff {
        let data = json!({"post": p.id});
        crate::db::audit::record(&app.db, me.id, "comment.delete", "comment", c.id, data).await;
    }
    Ok(())
}

/// Deletes comment `c` of post `p` (or makes it a tombstone while it has replies), whoever
/// asked (the caller has decided it may go); `comment_deleted` when `announce`.
pub async fn remove(
    app: &AppState,
    c: &comment::Model,
    p: &post::Model,
    notify: bool,
) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    crate::db::lock_row::<post::Entity>(&txn, post::Column::Id, p.id).await?;
    // The comment's own lock too, which its reactions take: those committed before are
    // cleared below, later ones find it gone.
    crate::db::lock_row::<comment::Entity>(&txn, comment::Column::Id, c.id).await?;
    // Read again under the lock: a racing delete may have been first.
    let Some(c) = store::find(&txn, c.id).await? else {
        return Ok(());
    };
    if c.deleted {
        return Ok(());
    }
    let mut gone = vec![c.id];
    let mut tombstoned = None;
    if let Some(parent_id) = c.reply_to {
        store::delete(&txn, c.id).await?;
        store::add_replies(&txn, parent_id, -1).await?;
        if let Some(parent) = store::find(&txn, parent_id).await?
            && parent.deleted
            && parent.reply_count <= 0
        {
            store::delete(&txn, parent.id).await?;
            gone.push(parent.id);
        }
    } else if c.reply_count > 0 {
        store::tombstone(&txn, c.id).await?;
        media::store::detach_all(&txn, Holder::Comment, &[c.id]).await?;
        gone.clear();
        tombstoned = Some(c.id);
    } else {
        store::delete(&txn, c.id).await?;
    }
    reactions::clear(&txn, Kind::Comment, &[c.id]).await?;
    super::store::add_comments(&txn, p.id, -1).await?;
    txn.commit().await?;
    if !notify {
        return Ok(());
    }
    let count = super::store::find(&app.db, p.id)
        .await?
        .map_or(0, |p| p.comment_count);
    if let Some(id) = tombstoned {
        if let Some(row) = store::find(&app.db, id).await? {
            announce(app, &row, "comment_updated").await;
        }
    } else {
        let mut to = audience(app, p).await?;
        to.push(c.author_id);
        for id in gone {
            let event = json!({"id": id, "post": p.id, "comment_count": count});
            app.realtime.publish(&to, "comment_deleted", &event);
        }
    }
    Ok(())
}
