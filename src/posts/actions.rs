//! The post use cases: create, read, edit, delete; each checks who may do it at this use,
//! commits, then tells the post's audience and notifies those newly mentioned.

use std::collections::HashSet;

use serde_json::json;

use super::model::{self, Content, Post, PostBody};
use super::{audience, post_event, posts_view, store};
use crate::db::entities::post;
use crate::error::{ApiError, FieldErrors, after_commit};
use crate::http::CurrentUser;
use crate::media::{self, store::Holder};
use crate::notifications;
use crate::reactions;
use crate::social::posts::{Access, group_membership, post_access};
use crate::state::AppState;

/// The post, if `me` may see it now, with what else `me` may do to it; else a 404.
pub async fn visible(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
) -> Result<(post::Model, Access), ApiError> {
    let p = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    match post_access(app, me.into(), &p).await? {
        Access::Hidden => Err(ApiError::NotFound),
        access => Ok((p, access)),
    }
}

pub async fn view(app: &AppState, me: &CurrentUser, p: &post::Model) -> Result<Post, ApiError> {
    posts_view(app, me.into(), std::slice::from_ref(p))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// The media ids, each `me`'s own, or the 400 on `media`.
pub(super) async fn own_media(
    app: &AppState,
    me: &CurrentUser,
    ids: &[i64],
) -> Result<(), ApiError> {
    media::owned(app, me.id, ids, media::Use::Any)
        .await?
        .map_err(|e| ApiError::field("media", e))?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn create(app: &AppState, me: &CurrentUser, body: PostBody) -> Result<Post, ApiError> {
    let (content, visibility, group) = body.validate_new()?;
    if let Some(group_id) = group {
        let found = group_membership(&app.db, group_id, me.id).await?;
        let seen = match &found {
            Some((g, member)) => {
                *member || me.is_staff || crate::social::group_visible(&app.db, g, me.id).await?
            }
            None => false,
        };
        if !seen {
            return Err(ApiError::field(
                "group",
                format!("Invalid pk \"{group_id}\" - object does not exist."),
            ));
        }
        if !found.is_some_and(|(_, member)| member) {
            return Err(ApiError::field(
                "group",
                "You are not a member of this group.",
            ));
        }
    }
    own_media(app, me, &content.media).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    let row = store::insert(
        &txn,
        store::NewPost {
            author_id: me.id,
            body: content.body,
            visibility,
            group_id: group,
        },
    )
    .await?;
    media::store::attach(&txn, Holder::Post, row.id, &content.media).await?;
    txn.commit().await?;
    announce(app, &row, "post_created").await;
    after_commit(
        "post mentions",
        mention(app, me, &row, &HashSet::new()).await,
    );
    view(app, me, &row).await
}

/// `kind` (`post_created` or `post_updated`) to the post's audience. After a commit.
async fn announce(app: &AppState, p: &post::Model, kind: &str) {
    let told = async {
        let event = post_event(app, p).await?;
        let to = audience(app, p).await?;
        app.realtime.publish(&to, kind, &event);
        Ok(())
    }
    .await;
    after_commit("post event", told);
}

/// A `mention` to each user newly `@mentioned` (not in `before`) who may see the post.
async fn mention(
    app: &AppState,
    me: &CurrentUser,
    p: &post::Model,
    before: &HashSet<String>,
) -> Result<(), ApiError> {
    let names: Vec<String> = crate::text::mentioned(&p.body)
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let mut recipients = Vec::new();
    for u in crate::users::store::find_by_usernames(&app.db, &names).await? {
        if u.id != me.id
            && post_access(app, crate::social::Viewer::user(u.id), p).await? != Access::Hidden
        {
            recipients.push(u.id);
        }
    }
    notifications::notify_many(
        app,
        &recipients,
        Some(me.id),
        notifications::model::MENTION,
        format!("{} mentioned you in a post", me.user.username),
        json!({"post_id": p.id}),
    )
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = me.id, post_id = id))]
pub async fn edit(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    body: PostBody,
) -> Result<Post, ApiError> {
    let (p, _) = visible(app, me, id).await?;
    if p.author_id != me.id {
        return Err(ApiError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let current_media: Vec<i64> = media::store::attachments_of(&app.db, Holder::Post, &[p.id])
        .await?
        .remove(&p.id)
        .unwrap_or_default()
        .iter()
        .map(|m| m.id)
        .collect();
    let media_sent = body.media.is_some();
    let content = match (&body.body, media_sent) {
        (None, false) => Content {
            body: p.body.clone(),
            media: current_media.clone(),
        },
        _ => model::content(
            Some(body.body.as_deref().unwrap_or(&p.body)),
            Some(body.media.unwrap_or_else(|| current_media.clone())),
            model::MAX_POST_CHARS,
            model::MAX_POST_MEDIA,
            &mut errors,
        ),
    };
    let visibility = match body.visibility.as_deref() {
        None => None,
        Some(v) if p.group_id.is_some() => {
            if v.trim() != "group" {
                errors.add("visibility", "A group post's visibility is its group's.");
            }
            None
        }
        Some(v) => Some(model::visibility(v, &mut errors)),
    };
    errors.into_result()?;
    own_media(app, me, &content.media).await?;
    let changed = content.body != p.body || content.media != current_media;
    let before = audience(app, &p).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    store::update(
        &txn,
        p.id,
        changed.then(|| content.body.clone()),
        changed,
        visibility,
    )
    .await?;
    if content.media != current_media {
        media::store::detach_all(&txn, Holder::Post, &[p.id]).await?;
        media::store::attach(&txn, Holder::Post, p.id, &content.media).await?;
    }
    txn.commit().await?;
    let row = store::find(&app.db, p.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    announce(app, &row, "post_updated").await;
    // Those who lost sight of it (a narrower visibility) are told it is gone for them.
    let after: HashSet<i64> = audience(app, &row).await?.into_iter().collect();
    let lost: Vec<i64> = before.into_iter().filter(|u| !after.contains(u)).collect();
    app.realtime
        .publish(&lost, "post_deleted", &json!({"id": row.id}));
    after_commit(
        "post mentions",
        mention(app, me, &row, &crate::text::mentioned(&p.body)).await,
    );
    view(app, me, &row).await
}

/// Deletes a post by its author, a group owner or admin (group posts) or staff, with its
/// comments, reactions and notifications; its media stay the author's.
#[tracing::instrument(skip_all, fields(user_id = me.id, post_id = id))]
pub async fn delete(app: &AppState, me: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let (p, _) = visible(app, me, id).await?;
    let mut allowed = p.author_id == me.id || me.is_staff;
    if !allowed && let Some(group_id) = p.group_id {
        let found = crate::groups::actions::visible(app, me, group_id).await?;
        allowed = found.role.is_some_and(|r| r.manages());
    }
    if !allowed {
        return Err(ApiError::Forbidden);
    }
    remove(app, &p, true).await?;
    if p.author_id != me.id && me.is_staff {
        crate::db::audit::record(&app.db, me.id, "post.delete", "post", p.id, json!({})).await;
    }
    Ok(())
}

/// Deletes post `p` with its comments, reactions and notifications, whoever asked (the
/// caller has decided it may go); `post_deleted` to its audience when `announce`.
pub async fn remove(app: &AppState, p: &post::Model, announce: bool) -> Result<(), ApiError> {
    let to = if announce {
        audience(app, p).await?
    } else {
        Vec::new()
    };
    let txn = crate::db::begin_write(&app.db).await?;
    // The post's lock first, as every comment and reaction write takes it: one that committed
    // before is cleared with the post, one waiting finds the post gone (404).
    crate::db::lock_row::<post::Entity>(&txn, post::Column::Id, p.id).await?;
    store::lock_comments(&txn, p.id).await?;
    let comments = super::store::comment_ids(&txn, p.id).await?;
    reactions::clear(&txn, reactions::Kind::Comment, &comments).await?;
    reactions::clear(&txn, reactions::Kind::Post, &[p.id]).await?;
    notifications::store::delete_about_post(&txn, p.id).await?;
    store::delete(&txn, p.id).await?;
    txn.commit().await?;
    if !to.is_empty() {
        app.realtime
            .publish(&to, "post_deleted", &json!({"id": p.id}));
    }
    Ok(())
}
