//! Chat: direct and group rooms, messages with history, edits and tombstones, read markers,
//! mutes, typing and `@mentions`. The use cases live in `actions` and are shared by the
//! /api/chat/ routes and the `/ws/` gateway; who may message whom is asked of `social`.

pub mod actions;
pub mod members;
pub mod model;
mod routes;
pub mod store;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::db::entities::{chat_member, chat_message, chat_room, media, user};
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::media::Media;
use crate::social::model::UserBrief;
use crate::social::{Relations, brief_of};
use crate::state::{AppState, MediaLinks};
use model::{Member, Message, Role, Room, RoomKind};

pub use routes::ApiDoc;

/// Hooks chat into the layers below it, once at start: deleted media announces the messages it
/// leaves (`message_updated`).
pub fn connect(app: &AppState) {
    crate::media::on_detached(
        app,
        Arc::new(|app, ids| Box::pin(async move { actions::announce_messages(&app, ids).await })),
    );
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/chat/rooms",
            get(routes::list_rooms).post(routes::create_room),
        )
        .route("/api/chat/direct", post(routes::open_direct))
        .route(
            "/api/chat/rooms/{id}",
            get(routes::get_room).patch(routes::rename_room),
        )
        .route("/api/chat/rooms/{id}/members", post(routes::add_members))
        .route(
            "/api/chat/rooms/{id}/members/{user_id}",
            delete(routes::remove_member),
        )
        .route(
            "/api/chat/rooms/{id}/messages",
            get(routes::history).post(routes::send_message),
        )
        .route(
            "/api/chat/messages/{id}",
            patch(routes::edit_message).delete(routes::delete_message),
        )
        .route("/api/chat/rooms/{id}/read", post(routes::read_room))
        .route("/api/chat/rooms/{id}/mute", put(routes::mute))
}

/// The rows of `ids`, by id (the caller's cache first, one query for the rest).
async fn users_by_id(
    app: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Arc<user::Model>>, ApiError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(app
        .users_by_id(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// A sender's brief where no single viewer applies (an event for a whole room): presence
/// depends on the viewer, so it is left out (`is_online: null`).
fn neutral_brief(users: &HashMap<i64, Arc<user::Model>>, id: i64, links: &MediaLinks) -> UserBrief {
    match users.get(&id) {
        Some(u) => brief_of(u, None, links),
        None => UserBrief {
            id,
            username: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            avatar: None,
            is_online: None,
        },
    }
}

/// The attachments of a set of messages, loaded in a fixed number of queries.
struct Attachments {
    by_message: HashMap<i64, Vec<media::Model>>,
    links: MediaLinks,
}

impl Attachments {
    async fn load(
        app: &AppState,
        messages: &[&chat_message::Model],
        links: MediaLinks,
    ) -> Result<Self, ApiError> {
        let ids: Vec<i64> = messages
            .iter()
            .filter(|m| !m.deleted)
            .map(|m| m.id)
            .collect();
        Ok(Self {
            by_message: crate::media::store::attachments_of(&app.db, &ids).await?,
            links,
        })
    }

    fn known(message_id: i64, rows: &[media::Model], links: MediaLinks) -> Self {
        let mut by_message = HashMap::new();
        if !rows.is_empty() {
            by_message.insert(message_id, rows.to_vec());
        }
        Self { by_message, links }
    }

    fn of(&self, message_id: i64) -> Vec<Media> {
        self.by_message
            .get(&message_id)
            .map(|rows| rows.iter().map(|m| Media::of(m, &self.links)).collect())
            .unwrap_or_default()
    }
}

fn message_of(m: &chat_message::Model, sender: UserBrief, attachments: &Attachments) -> Message {
    Message {
        id: m.id,
        room: m.room_id,
        sender,
        body: m.body.clone(),
        attachments: attachments.of(m.id),
        reply_to: m.reply_to,
        client_id: m.client_id.clone(),
        created_at: m.created_at,
        edited_at: m.edited_at,
        deleted: m.deleted,
    }
}

fn member_of(m: &chat_member::Model, user: UserBrief) -> Member {
    Member {
        user,
        role: Role::of(&m.role),
        joined_at: m.joined_at,
        last_read_message_id: m.last_read_message_id,
    }
}

/// UserBriefs of a set of users as `me` sees them, loaded in a fixed number of queries.
pub struct Briefs {
    users: HashMap<i64, Arc<user::Model>>,
    rel: Relations,
}

impl Briefs {
    pub async fn load(
        app: &AppState,
        me: &CurrentUser,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<Self, ApiError> {
        let users = users_by_id(app, ids).await?;
        let refs: Vec<&user::Model> = users.values().map(|u| &**u).collect();
        let rel = Relations::load(app, me.into(), &refs).await?;
        Ok(Self { users, rel })
    }

    pub fn links(&self) -> &MediaLinks {
        self.rel.links()
    }

    pub fn of(&self, id: i64) -> UserBrief {
        self.users.get(&id).map_or_else(
            || neutral_brief(&self.users, id, self.rel.links()),
            |u| self.rel.brief(u),
        )
    }
}

/// Members (of a group's room, say) as `me` sees them: a fixed number of queries.
pub async fn members_view(
    app: &AppState,
    me: &CurrentUser,
    members: &[chat_member::Model],
) -> Result<Vec<Member>, ApiError> {
    let briefs = Briefs::load(app, me, members.iter().map(|m| m.user_id)).await?;
    Ok(members
        .iter()
        .map(|m| member_of(m, briefs.of(m.user_id)))
        .collect())
}

/// Messages as `me` sees them: a fixed number of queries for any page.
pub async fn messages_view(
    app: &AppState,
    me: &CurrentUser,
    messages: &[chat_message::Model],
) -> Result<Vec<Message>, ApiError> {
    let briefs = Briefs::load(app, me, messages.iter().map(|m| m.sender_id)).await?;
    let attachments = Attachments::load(
        app,
        &messages.iter().collect::<Vec<_>>(),
        briefs.links().clone(),
    )
    .await?;
    Ok(messages
        .iter()
        .map(|m| message_of(m, briefs.of(m.sender_id), &attachments))
        .collect())
}

/// One message as `me` sees it.
pub async fn message_view(
    app: &AppState,
    me: &CurrentUser,
    message: &chat_message::Model,
) -> Result<Message, ApiError> {
    messages_view(app, me, std::slice::from_ref(message))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// One message as `me` sees it, its attachments already known (a message just sent).
pub async fn message_view_with(
    app: &AppState,
    me: &CurrentUser,
    m: &chat_message::Model,
    attachments: &[media::Model],
) -> Result<Message, ApiError> {
    let briefs = Briefs::load(app, me, [m.sender_id]).await?;
    let known = Attachments::known(m.id, attachments, briefs.links().clone());
    Ok(message_of(m, briefs.of(m.sender_id), &known))
}

/// A message as every member may see it, for events.
pub async fn message_event(app: &AppState, m: &chat_message::Model) -> Result<Message, ApiError> {
    message_events(app, std::slice::from_ref(m))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// `message_event` of each of `messages`: one query for all their attachments.
pub async fn message_events(
    app: &AppState,
    messages: &[chat_message::Model],
) -> Result<Vec<Message>, ApiError> {
    let refs: Vec<&chat_message::Model> = messages.iter().collect();
    let attachments = Attachments::load(app, &refs, app.event_links()).await?;
    let users = users_by_id(app, messages.iter().map(|m| m.sender_id)).await?;
    Ok(messages
        .iter()
        .map(|m| {
            message_of(
                m,
                neutral_brief(&users, m.sender_id, &attachments.links),
                &attachments,
            )
        })
        .collect())
}

/// `message_event` with the attachments already known.
pub async fn message_event_with(
    app: &AppState,
    m: &chat_message::Model,
    attachments: &[media::Model],
) -> Result<Message, ApiError> {
    let known = Attachments::known(m.id, attachments, app.event_links());
    event_of(app, m, &known).await
}

async fn event_of(
    app: &AppState,
    m: &chat_message::Model,
    attachments: &Attachments,
) -> Result<Message, ApiError> {
    let users = users_by_id(app, [m.sender_id]).await?;
    Ok(message_of(
        m,
        neutral_brief(&users, m.sender_id, &attachments.links),
        attachments,
    ))
}

/// Rooms as `me` sees them: members, last message and unread count in a fixed number of
/// queries however many rooms a page holds.
pub async fn rooms_view(
    app: &AppState,
    me: &CurrentUser,
    rooms: &[chat_room::Model],
) -> Result<Vec<Room>, ApiError> {
    let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
    let members = store::members_of(&app.db, &ids).await?;
    let last = store::last_messages(&app.db, &ids).await?;
    let attachments =
        Attachments::load(app, &last.iter().collect::<Vec<_>>(), app.media_links()).await?;
    let unread = store::unread_counts(&app.db, me.id, &ids).await?;
    let briefs = Briefs::load(
        app,
        me,
        members
            .iter()
            .map(|m| m.user_id)
            .chain(last.iter().map(|m| m.sender_id)),
    )
    .await?;
    let brief = |id: i64| briefs.of(id);
    let mut by_room: HashMap<i64, Vec<&chat_member::Model>> = HashMap::new();
    for m in &members {
        by_room.entry(m.room_id).or_default().push(m);
    }
    let last: HashMap<i64, &chat_message::Model> = last.iter().map(|m| (m.room_id, m)).collect();
    Ok(rooms
        .iter()
        .map(|r| {
            let room_members = by_room.remove(&r.id).unwrap_or_default();
            let muted_until = room_members
                .iter()
                .find(|m| m.user_id == me.id)
                .and_then(|m| m.muted_until);
            Room {
                id: r.id,
                kind: RoomKind::of(&r.kind),
                name: r.name.clone(),
                group: r.group_id,
                members: room_members
                    .iter()
                    .map(|m| member_of(m, brief(m.user_id)))
                    .collect(),
                created_at: r.created_at,
                last_message: last
                    .get(&r.id)
                    .map(|m| message_of(m, brief(m.sender_id), &attachments)),
                unread_count: unread.get(&r.id).copied().unwrap_or(0),
                muted_until,
            }
        })
        .collect())
}

pub async fn room_view(
    app: &AppState,
    me: &CurrentUser,
    room: &chat_room::Model,
) -> Result<Room, ApiError> {
    rooms_view(app, me, std::slice::from_ref(room))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}
