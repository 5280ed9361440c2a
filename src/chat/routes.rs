//! Handlers of /api/chat/: parse, call the feature function, shape the response.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{
    AddMembersBody, CreateRoomBody, DirectBody, EditBody, HistoryQuery, Member, Message,
    MessagePage, MuteBody, ReadBody, ReadMarker, RenameBody, Room, SendBody, room_name,
};
use super::store::{self, Window};
use super::{actions, messages};
use super::{members_page, message_view, messages_view, room_view, rooms_view};
use crate::db::paginate;
use crate::error::{ApiError, REQUIRED};
use crate::http::{CurrentUser, Json, Origin, Page, PageParams, Paginated, Path, Query};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    list_rooms,
    create_room,
    open_direct,
    get_room,
    rename_room,
    list_members,
    add_members,
    remove_member,
    history,
    send_message,
    edit_message,
    delete_message,
    read_room,
    mute,
    react_to_message,
    unreact_to_message,
    message_reactions
))]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/chat/rooms/", summary = "List my rooms",
    description = "Paginated, most recent activity first, each with its members, last message, unread count and mute.", tag = "chat", params(PageParams),
    responses((status = 200, body = Paginated<Room>), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list_rooms(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
) -> Result<Json<Paginated<Room>>, ApiError> {
    let (count, rooms) = paginate(&app.db, store::rooms_of(me.id), &mut page).await?;
    Ok(Json(page.wrap(count, rooms_view(&app, &me, &rooms).await?)))
}

#[utoipa::path(post, path = "/api/chat/rooms/", summary = "Create a group room",
    description = "The caller is its owner; member_ids must be the caller's friends (400 otherwise). Sends room_updated to the members.", tag = "chat", request_body = CreateRoomBody,
    responses((status = 201, body = Room), (status = 400, description = "A field error: the name, or members who are not your friends")),
    security(("bearer" = [])))]
pub async fn create_room(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<CreateRoomBody>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    let name = room_name(body.name.as_deref()).map_err(|e| ApiError::field("name", e))?;
    let room = actions::create_group(&app, &me, name, body.member_ids.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(room)))
}

#[utoipa::path(post, path = "/api/chat/direct/", summary = "Open a direct room",
    description = "The one room of the caller and user_id: 201 when created, 200 when it exists. 403 when either blocked the other or the user's allow_messages_from does not admit the caller, for an existing room too.", tag = "chat", request_body = DirectBody,
    responses((status = 201, body = Room, description = "Created"), (status = 200, body = Room, description = "The existing room of the pair"),
        (status = 400), (status = 403, description = "The user does not take messages from you, or blocked you")),
    security(("bearer" = [])))]
pub async fn open_direct(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<DirectBody>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    let user_id = body
        .user_id
        .ok_or_else(|| ApiError::field("user_id", REQUIRED))?;
    let (room, created) = actions::open_direct(&app, &me, user_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(room)))
}

#[utoipa::path(get, path = "/api/chat/rooms/{id}/", summary = "A room",
    description = "404 for a room the caller is not in.", tag = "chat", params(("id" = i64, Path)),
    responses((status = 200, body = Room), (status = 404)), security(("bearer" = [])))]
pub async fn get_room(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Room>, ApiError> {
    let (room, _) = actions::member_room(&app, &me, id).await?;
    Ok(Json(room_view(&app, &me, &room).await?))
}

#[utoipa::path(patch, path = "/api/chat/rooms/{id}/", summary = "Rename a room",
    description = "Owner or admin of a group room; a direct room is 403, a group's room changes through /api/groups/ (400).", tag = "chat", params(("id" = i64, Path)), request_body = RenameBody,
    responses((status = 200, body = Room), (status = 400), (status = 403, description = "Not an owner or admin, or a direct room"), (status = 404)),
    security(("bearer" = [])))]
pub async fn rename_room(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<RenameBody>,
) -> Result<Json<Room>, ApiError> {
    Ok(Json(
        actions::rename(&app, &me, id, body.name.as_deref()).await?,
    ))
}

#[utoipa::path(get, path = "/api/chat/rooms/{id}/members/", summary = "List a room's members",
    description = "Every member of a room the caller is in, paginated, in the order they joined (a Room shows only the first 50). 404 for a room the caller is not in.", tag = "chat", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Paginated<Member>), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_members(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    mut page: Page,
) -> Result<Json<Paginated<Member>>, ApiError> {
    actions::member_room(&app, &me, id).await?;
    Ok(Json(members_page(&app, &me, id, &mut page).await?))
}

#[utoipa::path(post, path = "/api/chat/rooms/{id}/members/", summary = "Add members",
    description = "Owner or admin of a group room; only the adder's friends. Sends member_joined for each new member.", tag = "chat", params(("id" = i64, Path)), request_body = AddMembersBody,
    responses((status = 200, body = Room), (status = 400, description = "Users who are not your friends"),
        (status = 403, description = "Not an owner or admin, or a direct room"), (status = 404)),
    security(("bearer" = [])))]
pub async fn add_members(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<AddMembersBody>,
) -> Result<Json<Room>, ApiError> {
    Ok(Json(
        actions::add_members(&app, &me, id, body.user_ids).await?,
    ))
}

#[utoipa::path(delete, path = "/api/chat/rooms/{id}/members/{user_id}/", summary = "Remove a member or leave",
    description = "An owner removes anyone, an admin members; anyone removes themself (leaves). A direct room cannot be left (400). Sends member_left.", tag = "chat",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 400, description = "A direct room cannot be left"),
        (status = 403, description = "Not allowed to remove this member"), (status = 404)),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    actions::remove_member(&app, &me, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An id parameter of the history: digits, else a field error.
fn id_param(name: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field(name, "A valid integer is required.")),
        Some(_) => Err(ApiError::field(name, "A valid integer is required.")),
    }
}

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 100;

#[utoipa::path(get, path = "/api/chat/rooms/{id}/messages/", summary = "Message history",
    description = "Ascending by id; ?before= or ?after= an id, ?limit= up to 100 (50 by default). Ids grow in commit order per room, so ?after=<last id seen> is a complete catch-up.", tag = "chat", params(("id" = i64, Path), HistoryQuery),
    responses((status = 200, body = MessagePage), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn history(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
    Path(id): Path<i64>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let (room, _) = actions::member_room(&app, &me, id).await?;
    let before = id_param("before", q.before.as_deref())?;
    let after = id_param("after", q.after.as_deref())?;
    let limit = match id_param("limit", q.limit.as_deref())? {
        None => DEFAULT_LIMIT,
        Some(n) => u64::try_from(n)
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT),
    };
    let window = match (before, after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::rejected("Give before or after, not both."));
        }
        (Some(b), None) => Window::Before(b),
        (None, Some(a)) => Window::After(a),
        (None, None) => Window::Latest,
    };
    let rows = store::history(&app.db, room.id, window, limit).await?;
    let base = format!("{}/api/chat/rooms/{}/messages/", origin.base, room.id);
    let link = |key: &str, id: i64| {
        if limit == DEFAULT_LIMIT {
            format!("{base}?{key}={id}")
        } else {
            format!("{base}?{key}={id}&limit={limit}")
        }
    };
    let (previous, next) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => (
            store::has_beyond(&app.db, room.id, first.id, false)
                .await?
                .then(|| link("before", first.id)),
            store::has_beyond(&app.db, room.id, last.id, true)
                .await?
                .then(|| link("after", last.id)),
        ),
        // Nothing here: newer messages may still come after the cursor a client holds.
        _ => (None, None),
    };
    Ok(Json(MessagePage {
        results: messages_view(&app, &me, &rows).await?,
        previous,
        next,
    }))
}

#[utoipa::path(post, path = "/api/chat/rooms/{id}/messages/", summary = "Send a message",
    description = "Body of 1 to 4000 characters unless attachments (up to 10 of the sender's media) are given. A repeated client_id answers 200 with the stored message. 403 in a direct room closed by a block or allow_messages_from; 429 past the send rate.", tag = "chat", params(("id" = i64, Path)), request_body = SendBody,
    responses((status = 201, body = Message), (status = 200, body = Message, description = "The message stored earlier with this client_id"),
        (status = 400), (status = 403, description = "A direct room whose other member blocked the caller, was blocked by them, or no longer takes messages from them"),
        (status = 404), (status = 429, description = "Sending too fast; see Retry-After")),
    security(("bearer" = [])))]
pub async fn send_message(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<SendBody>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let (view, created) = messages::send(&app, &me, id, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

#[utoipa::path(patch, path = "/api/chat/messages/{id}/", summary = "Edit a message",
    description = "The sender only (403 otherwise), not a deleted one (400); in a direct room only while the two may still message each other. Sends message_updated to the room.", tag = "chat", params(("id" = i64, Path)), request_body = EditBody,
    responses((status = 200, body = Message), (status = 400), (status = 403, description = "Not the sender, or a direct room closed to the sender by a block or by allow_messages_from"), (status = 404)),
    security(("bearer" = [])))]
pub async fn edit_message(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<EditBody>,
) -> Result<Json<Message>, ApiError> {
    let message = messages::edit(&app, &me, id, body.body.as_deref()).await?;
    let view = message_view(&app, &me, &message).await?;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/api/chat/messages/{id}/", summary = "Delete a message",
    description = "Leaves a tombstone (deleted: true, empty body, no attachments) and sends message_deleted to the room. The sender, a group room's owner or admin, or staff; others 403.", tag = "chat", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, description = "Neither the sender nor a room owner or admin"), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_message(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    messages::delete(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/chat/rooms/{id}/read/", summary = "Mark a room read",
    description = "Moves the caller's read marker forward to message_id (never back) and tells the room (message_read); answers the marker and the unread count.", tag = "chat", params(("id" = i64, Path)), request_body = ReadBody,
    responses((status = 200, body = ReadMarker), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn read_room(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<ReadBody>,
) -> Result<Json<ReadMarker>, ApiError> {
    Ok(Json(
        messages::mark_read(&app, &me, id, body.message_id).await?,
    ))
}

#[utoipa::path(put, path = "/api/chat/rooms/{id}/mute/", summary = "Mute a room",
    description = "Until a time, or null to unmute. A muted room sends no mention notifications.", tag = "chat", params(("id" = i64, Path)), request_body = MuteBody,
    responses((status = 200, body = Room), (status = 400), (status = 404)), security(("bearer" = [])))]
pub async fn mute(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<MuteBody>,
) -> Result<Json<Room>, ApiError> {
    Ok(Json(actions::mute(&app, &me, id, body.until).await?))
}

#[utoipa::path(put, path = "/api/chat/messages/{id}/reactions/{emoji}/", summary = "React to a message",
    description = "A member of the message's room adds one RGI emoji (percent-encoded, stored fully qualified); idempotent; at most 20 distinct emoji per message. `message_reaction` goes to the room; no one is notified.",
    tag = "chat", params(("id" = i64, Path), ("emoji" = String, Path)),
    responses((status = 200, body = crate::reactions::ReactionState), (status = 400, description = "Not an emoji, a 21st emoji, or a deleted message"), (status = 403, description = "A direct room across a block"), (status = 404)),
    security(("bearer" = [])))]
pub async fn react_to_message(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, emoji)): Path<(i64, String)>,
) -> Result<Json<crate::reactions::ReactionState>, ApiError> {
    Ok(Json(messages::react(&app, &me, id, &emoji, true).await?))
}

#[utoipa::path(delete, path = "/api/chat/messages/{id}/reactions/{emoji}/", summary = "Take back a reaction to a message",
    description = "Idempotent: 200 with the counts either way.",
    tag = "chat", params(("id" = i64, Path), ("emoji" = String, Path)),
    responses((status = 200, body = crate::reactions::ReactionState), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn unreact_to_message(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, emoji)): Path<(i64, String)>,
) -> Result<Json<crate::reactions::ReactionState>, ApiError> {
    Ok(Json(messages::react(&app, &me, id, &emoji, false).await?))
}

#[utoipa::path(get, path = "/api/chat/messages/{id}/reactions/", summary = "Who reacted to a message",
    description = "Newest first; `?emoji=` narrows it; users blocked either way with the caller are left out.",
    tag = "chat", params(("id" = i64, Path), crate::reactions::ReactionQuery, PageParams),
    responses((status = 200, body = Paginated<crate::reactions::Reaction>), (status = 400), (status = 404)),
    security(("bearer" = [])))]
pub async fn message_reactions(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    mut page: Page,
    Query(q): Query<crate::reactions::ReactionQuery>,
) -> Result<Json<Paginated<crate::reactions::Reaction>>, ApiError> {
    Ok(Json(
        messages::reactions_of(&app, &me, id, &q, &mut page).await?,
    ))
}
