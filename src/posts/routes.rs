//! Handlers of /api/posts/ and the feeds: parse, call the feature function, shape the
//! response.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{Comment, CommentBody, Post, PostBody};
use super::{actions, comments, feeds};
use crate::error::ApiError;
use crate::http::{CurrentUser, Cursor, CursorPaginated, CursorParams, Json, Path};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    create_post,
    read_post,
    edit_post,
    delete_post,
    list_comments,
    create_comment,
    list_replies,
    read_comment,
    edit_comment,
    delete_comment,
    home_feed,
    user_posts,
    group_posts
))]
pub struct ApiDoc;

#[utoipa::path(post, path = "/api/posts/", summary = "Create a post",
    description = "A body (1–5000 characters unless media are present), up to 10 of the caller's media, a visibility (default `friends`) or a group the caller belongs to. `post_created` goes to the online users whose home feed it enters.",
    tag = "posts", request_body = PostBody,
    responses((status = 201, body = Post), (status = 400, description = "A field error: body, media, visibility or group")),
    security(("bearer" = [])))]
pub async fn create_post(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<PostBody>,
) -> Result<(StatusCode, Json<Post>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(actions::create(&app, &me, body).await?),
    ))
}

#[utoipa::path(get, path = "/api/posts/{id}/", summary = "A post",
    description = "A post the caller may not see (visibility, block, private group) is a 404.",
    tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = Post), (status = 404)),
    security(("bearer" = [])))]
pub async fn read_post(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Post>, ApiError> {
    let (p, _) = actions::visible(&app, &me, id).await?;
    Ok(Json(actions::view(&app, &me, &p).await?))
}

#[utoipa::path(patch, path = "/api/posts/{id}/", summary = "Edit a post",
    description = "The author: body, media, visibility (never the group). `edited_at` is set when the body or media change. The new audience gets `post_updated`; those who lost sight of it `post_deleted`.",
    tag = "posts", params(("id" = i64, Path)), request_body = PostBody,
    responses((status = 200, body = Post), (status = 400), (status = 403, description = "Not the author"), (status = 404)),
    security(("bearer" = [])))]
pub async fn edit_post(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<PostBody>,
) -> Result<Json<Post>, ApiError> {
    Ok(Json(actions::edit(&app, &me, id, body).await?))
}

#[utoipa::path(delete, path = "/api/posts/{id}/", summary = "Delete a post",
    description = "The author, a group owner or admin (group posts), or staff; its comments and reactions go with it, its media stay the author's.",
    tag = "posts", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_post(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    actions::delete(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/feed/", summary = "The home feed",
    description = "The caller's own posts, their friends' non-group posts they may see and the posts of their groups, newest first; never a post of a user blocked either way. A cursor page: follow `next`.",
    tag = "posts", params(CursorParams),
    responses((status = 200, body = CursorPaginated<Post>), (status = 404, description = "Invalid cursor")),
    security(("bearer" = [])))]
pub async fn home_feed(
    State(app): State<AppState>,
    me: CurrentUser,
    cursor: Cursor,
) -> Result<Json<CursorPaginated<Post>>, ApiError> {
    Ok(Json(feeds::home(&app, &me, &cursor).await?))
}

#[utoipa::path(get, path = "/api/users/{id}/posts/", summary = "A user's posts",
    description = "That user's non-group posts the caller may see, newest first. A user the caller may not see: 404.",
    tag = "posts", params(("id" = i64, Path), CursorParams),
    responses((status = 200, body = CursorPaginated<Post>), (status = 404)),
    security(("bearer" = [])))]
pub async fn user_posts(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    cursor: Cursor,
) -> Result<Json<CursorPaginated<Post>>, ApiError> {
    Ok(Json(feeds::by_user(&app, &me, id, &cursor).await?))
}

#[utoipa::path(get, path = "/api/groups/{id}/posts/", summary = "A group's posts",
    description = "Newest first. A group whose posts the caller may not see (a private group they are not in): 404.",
    tag = "posts", params(("id" = i64, Path), CursorParams),
    responses((status = 200, body = CursorPaginated<Post>), (status = 404)),
    security(("bearer" = [])))]
pub async fn group_posts(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    cursor: Cursor,
) -> Result<Json<CursorPaginated<Post>>, ApiError> {
    Ok(Json(feeds::in_group(&app, &me, id, &cursor).await?))
}

#[utoipa::path(get, path = "/api/posts/{id}/comments/", summary = "A post's comments",
    description = "Top-level comments, oldest first, as a cursor page; those of users blocked either way with the caller are left out (with their replies). A tombstone (a deleted comment kept for its replies) has an empty body.",
    tag = "posts", params(("id" = i64, Path), CursorParams),
    responses((status = 200, body = CursorPaginated<Comment>), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_comments(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    cursor: Cursor,
) -> Result<Json<CursorPaginated<Comment>>, ApiError> {
    let (p, _) = actions::visible(&app, &me, id).await?;
    Ok(Json(comments::list(&app, &me, p.id, None, &cursor).await?))
}

#[utoipa::path(post, path = "/api/posts/{id}/comments/", summary = "Comment on a post",
    description = "Whoever may see the post (on a group post, members only: a non-member of a public group gets 403). `reply_to` a top-level comment of the same post makes a reply (one level). Notifies once per user: `mention`, else `comment_reply`, else `post_comment`.",
    tag = "posts", params(("id" = i64, Path)), request_body = CommentBody,
    responses((status = 201, body = Comment), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn create_comment(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<CommentBody>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(comments::create(&app, &me, id, body).await?),
    ))
}

#[utoipa::path(get, path = "/api/comments/{id}/replies/", summary = "A comment's replies",
    description = "Oldest first, as a cursor page.",
    tag = "posts", params(("id" = i64, Path), CursorParams),
    responses((status = 200, body = CursorPaginated<Comment>), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_replies(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    cursor: Cursor,
) -> Result<Json<CursorPaginated<Comment>>, ApiError> {
    let (c, _, _) = comments::visible(&app, &me, id).await?;
    Ok(Json(
        comments::list(&app, &me, c.post_id, Some(c.id), &cursor).await?,
    ))
}

#[utoipa::path(get, path = "/api/comments/{id}/", summary = "A comment",
    description = "A comment of a post the caller may see, not by a user blocked either way with the caller; else a 404.",
    tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = Comment), (status = 404)),
    security(("bearer" = [])))]
pub async fn read_comment(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Comment>, ApiError> {
    let (c, _, _) = comments::visible(&app, &me, id).await?;
    Ok(Json(comments::view(&app, &me, &c).await?))
}

#[utoipa::path(patch, path = "/api/comments/{id}/", summary = "Edit a comment",
    description = "The author: body and media; sets `edited_at`.",
    tag = "posts", params(("id" = i64, Path)), request_body = CommentBody,
    responses((status = 200, body = Comment), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn edit_comment(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<CommentBody>,
) -> Result<Json<Comment>, ApiError> {
    Ok(Json(comments::edit(&app, &me, id, body).await?))
}

#[utoipa::path(delete, path = "/api/comments/{id}/", summary = "Delete a comment",
    description = "The author, the post's author, a group owner or admin (group post), or staff. A top-level comment with replies stays as a tombstone until its last reply goes.",
    tag = "posts", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_comment(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    comments::delete(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
