//! Reactions on posts and comments: whoever may comment on the post reacts; `reaction_changed`
//! to the post's audience and the reactor; the author gets one `post_reaction` notification per
//! post (or comment) that later reactors update in place while it is unread.

use axum::extract::State;
use serde::Serialize;
use serde_json::json;
use utoipa::OpenApi;

use super::{actions, audience, comments};
use crate::db::entities::post;
use crate::error::{ApiError, after_commit};
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path, Query};
use crate::notifications;
use crate::reactions::{self, Counts, Kind, Reaction, ReactionQuery, ReactionState};
use crate::social::posts::Access;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    add_to_post,
    remove_from_post,
    list_of_post,
    add_to_comment,
    remove_from_comment,
    list_of_comment
))]
pub struct ApiDoc;

#[derive(Serialize)]
struct Target {
    #[serde(rename = "type")]
    kind: &'static str,
    id: i64,
}

#[derive(Serialize)]
struct ReactionChanged<'a> {
    target: Target,
    post: i64,
    reactions: &'a Counts,
    user_id: i64,
    emoji: &'a str,
    action: &'static str,
}

/// What `me` reacts to: the post (which `me` may comment on) and the comment, if any.
async fn target(
    app: &AppState,
    me: &CurrentUser,
    kind: Kind,
    id: i64,
) -> Result<(post::Model, Option<crate::db::entities::comment::Model>), ApiError> {
    let (p, c, access) = match kind {
        Kind::Comment => {
            let (c, p, access) = comments::visible(app, me, id).await?;
            (p, Some(c), access)
        }
        _ => {
            let (p, access) = actions::visible(app, me, id).await?;
            (p, None, access)
        }
    };
    if access != Access::Comment {
        return Err(ApiError::Forbidden);
    }
    Ok((p, c))
}

async fn react(
    app: &AppState,
    me: &CurrentUser,
    kind: Kind,
    id: i64,
    raw: &str,
    add: bool,
) -> Result<ReactionState, ApiError> {
    let emoji = reactions::emoji(raw)?;
    let (p, c) = target(app, me, kind, id).await?;
    if add && c.as_ref().is_some_and(|c| c.deleted) {
        return Err(ApiError::rejected("This message has been deleted."));
    }
    let (state, changed) = reactions::change(&app.db, kind, id, me.id, emoji, add).await?;
    if changed {
        let told = async {
            let mut to = audience(app, &p).await?;
            to.push(me.id);
            let event = ReactionChanged {
                target: Target {
                    kind: kind.as_str(),
                    id,
                },
                post: p.id,
                reactions: &state.reactions,
                user_id: me.id,
                emoji,
                action: if add { "added" } else { "removed" },
            };
            app.realtime.publish(&to, "reaction_changed", &event);
            Ok(())
        }
        .await;
        after_commit("reaction event", told);
        if add {
            let author = c.as_ref().map_or(p.author_id, |c| c.author_id);
            after_commit(
                "reaction notification",
                notify(app, me, &p, c.as_ref().map(|c| c.id), author).await,
            );
        }
    }
    Ok(state)
}

/// `post_reaction` to the author, aggregated: while they have an unread one for this post (or
/// comment), it is updated in place and sent again.
async fn notify(
    app: &AppState,
    me: &CurrentUser,
    p: &post::Model,
    comment: Option<i64>,
    author: i64,
) -> Result<(), ApiError> {
    if author == me.id {
        return Ok(());
    }
    let kind = if comment.is_some() {
        Kind::Comment
    } else {
        Kind::Post
    };
    let target = comment.unwrap_or(p.id);
    let users = reactions::reactors(&app.db, kind, target, author).await?;
    let others = users.saturating_sub(1);
    let what = if comment.is_some() { "comment" } else { "post" };
    let who = &me.user.username;
    let text = match others {
        0 => format!("{who} reacted to your {what}"),
        1 => format!("{who} and 1 other reacted to your {what}"),
        n => format!("{who} and {n} others reacted to your {what}"),
    };
    let mut data = json!({"post_id": p.id, "count": users});
    if let Some(c) = comment {
        data["comment_id"] = json!(c);
    }
    notifications::notify_grouped(
        app,
        author,
        me.id,
        notifications::model::POST_REACTION,
        text,
        data,
        comment,
    )
    .await?;
    Ok(())
}

macro_rules! reaction_routes {
    ($kind:expr, $add:ident, $remove:ident, $list:ident, $base:literal, $what:literal) => {
        #[utoipa::path(put, path = concat!($base, "{id}/reactions/{emoji}/"), summary = concat!("React to a ", $what),
            description = "One RGI emoji (percent-encoded), stored fully qualified; idempotent. At most 20 distinct emoji per object. Whoever may comment may react; `reaction_changed` to the post's audience and the reactor.",
            tag = "posts", params(("id" = i64, Path), ("emoji" = String, Path)),
            responses((status = 200, body = ReactionState), (status = 400, description = "Not an emoji, a 21st emoji, or a deleted comment"), (status = 403), (status = 404)),
            security(("bearer" = [])))]
        pub async fn $add(
            State(app): State<AppState>,
            me: CurrentUser,
            Path((id, emoji)): Path<(i64, String)>,
        ) -> Result<Json<ReactionState>, ApiError> {
            Ok(Json(react(&app, &me, $kind, id, &emoji, true).await?))
        }

        #[utoipa::path(delete, path = concat!($base, "{id}/reactions/{emoji}/"), summary = concat!("Take back a reaction to a ", $what),
            description = "Idempotent: 200 with the counts either way.",
            tag = "posts", params(("id" = i64, Path), ("emoji" = String, Path)),
            responses((status = 200, body = ReactionState), (status = 400), (status = 403), (status = 404)),
            security(("bearer" = [])))]
        pub async fn $remove(
            State(app): State<AppState>,
            me: CurrentUser,
            Path((id, emoji)): Path<(i64, String)>,
        ) -> Result<Json<ReactionState>, ApiError> {
            Ok(Json(react(&app, &me, $kind, id, &emoji, false).await?))
        }

        #[utoipa::path(get, path = concat!($base, "{id}/reactions/"), summary = concat!("Who reacted to a ", $what),
            description = "Newest first; `?emoji=` narrows it. Users blocked either way with the caller are left out (the counts include everyone).",
            tag = "posts", params(("id" = i64, Path), ReactionQuery, PageParams),
            responses((status = 200, body = Paginated<Reaction>), (status = 400), (status = 404)),
            security(("bearer" = [])))]
        pub async fn $list(
            State(app): State<AppState>,
            me: CurrentUser,
            Path(id): Path<i64>,
            mut page: Page,
            Query(q): Query<ReactionQuery>,
        ) -> Result<Json<Paginated<Reaction>>, ApiError> {
            match $kind {
                Kind::Comment => {
                    comments::visible(&app, &me, id).await?;
                }
                _ => {
                    actions::visible(&app, &me, id).await?;
                }
            }
            Ok(Json(reactions::list(&app, (&me).into(), $kind, id, &q, &mut page).await?))
        }
    };
}

reaction_routes!(
    Kind::Post,
    add_to_post,
    remove_from_post,
    list_of_post,
    "/api/posts/",
    "post"
);
reaction_routes!(
    Kind::Comment,
    add_to_comment,
    remove_from_comment,
    list_of_comment,
    "/api/comments/",
    "comment"
);
