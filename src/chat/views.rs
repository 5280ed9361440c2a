//! Chat's objects as a viewer (or, for events, everyone) sees them: rooms, members and
//! messages, each page in a fixed number of queries.

use std::collections::HashMap;

use super::model::{Member, Message, Role, Room, RoomKind};
use super::store;
use crate::db::entities::{chat_member, chat_message, chat_room, media};
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::media::attachments::Attachments;
use crate::reactions::{Kind, Tally};
use crate::social::briefs::{Briefs, neutral_brief, users_by_id};
use crate::social::model::UserBrief;
use crate::state::AppState;

/// The ids of the messages whose attachments are shown (a deleted message keeps none).
fn shown(messages: &[&chat_message::Model]) -> Vec<i64> {
    messages
        .iter()
        .filter(|m| !m.deleted)
        .map(|m| m.id)
        .collect()
}

/// `tally` None: a message just sent (no reactions yet); `mine` whether the viewer's own
/// emoji are shown (not in events).
fn message_of(
    m: &chat_message::Model,
    sender: UserBrief,
    attachments: &Attachments,
    tally: Option<&Tally>,
    mine: bool,
) -> Message {
    Message {
        reactions: tally.map(|t| t.counts(m.id)).unwrap_or_default(),
        my_reactions: mine.then(|| tally.map(|t| t.mine(m.id)).unwrap_or_default()),
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

/// Members (of a group's room, say) as `me` sees them: a fixed number of queries.
pub async fn members_view(
    app: &AppState,
    me: &CurrentUser,
    members: &[chat_member::Model],
) -> Result<Vec<Member>, ApiError> {
    let briefs = Briefs::load(app, me.into(), members.iter().map(|m| m.user_id)).await?;
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
    let briefs = Briefs::load(app, me.into(), messages.iter().map(|m| m.sender_id)).await?;
    let live = shown(&messages.iter().collect::<Vec<_>>());
    let attachments = Attachments::load(app, &live, briefs.links().clone()).await?;
    let tally = Tally::load(&app.db, Kind::Message, &live, Some(me.id)).await?;
    Ok(messages
        .iter()
        .map(|m| message_of(m, briefs.of(m.sender_id), &attachments, Some(&tally), true))
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
    let briefs = Briefs::load(app, me.into(), [m.sender_id]).await?;
    let known = Attachments::known(m.id, attachments, briefs.links().clone());
    Ok(message_of(m, briefs.of(m.sender_id), &known, None, true))
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
    let live = shown(&refs);
    let attachments = Attachments::load(app, &live, app.event_links()).await?;
    let tally = Tally::load(&app.db, Kind::Message, &live, None).await?;
    let users = users_by_id(app, messages.iter().map(|m| m.sender_id)).await?;
    Ok(messages
        .iter()
        .map(|m| {
            message_of(
                m,
                neutral_brief(&users, m.sender_id, attachments.links()),
                &attachments,
                Some(&tally),
                false,
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
        neutral_brief(&users, m.sender_id, attachments.links()),
        attachments,
        None,
        false,
    ))
}

/// A page of `room_id`'s members in the order they joined, as `me` sees them: the one list
/// behind `GET /api/chat/rooms/{id}/members/` and a group's member list. The caller checks
/// that `me` may see the room.
pub async fn members_page(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    page: &mut crate::http::Page,
) -> Result<crate::http::Paginated<Member>, ApiError> {
    // The kept count when a total is needed, and `?page=last` read from the end.
    let both = crate::db::BothWays {
        forward: store::members_in(room_id, sea_orm::Order::Asc),
        backward: Some(store::members_in(room_id, sea_orm::Order::Desc)),
    };
    let kept =
        async { Ok(u64::try_from(store::member_count(&app.db, room_id).await?).unwrap_or(0)) };
    let (count, rows) = crate::db::paginate_kept(&app.db, both, page, kept).await?;
    Ok(page.wrap(count, members_view(app, me, &rows).await?))
}

/// Members a Room shows (the first to join); the rest through `GET .../members/`.
pub const MEMBERS_SHOWN: u64 = 50;

/// Rooms as `me` sees them: the first `MEMBERS_SHOWN` members and how many there are, last
/// message and unread count, in a fixed number of queries however many rooms a page holds.
pub async fn rooms_view(
    app: &AppState,
    me: &CurrentUser,
    rooms: &[chat_room::Model],
) -> Result<Vec<Room>, ApiError> {
    let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
    let members = store::first_members(&app.db, &ids, MEMBERS_SHOWN).await?;
    let tallies = store::room_tallies(&app.db, me.id, &ids).await?;
    let last = store::last_messages(&app.db, &ids).await?;
    let live_last = shown(&last.iter().collect::<Vec<_>>());
    let attachments = Attachments::load(app, &live_last, app.media_links()).await?;
    let last_tally = Tally::load(&app.db, Kind::Message, &live_last, Some(me.id)).await?;
    // The caller's read marker in each room comes with the tallies; a room the caller does
    // not belong to (staff looking) has nothing unread for them.
    let markers: Vec<(i64, Option<i64>)> = ids
        .iter()
        .filter_map(|id| {
            tallies
                .get(id)
                .filter(|t| t.mine > 0)
                .map(|t| (*id, t.last_read))
        })
        .collect();
    let unread = store::unread_counts(&app.db, me.id, &markers).await?;
    let briefs = Briefs::load(
        app,
        me.into(),
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
            let tally = tallies.get(&r.id);
            let muted_until = tally.and_then(|t| t.muted_until);
            Room {
                id: r.id,
                kind: RoomKind::of(&r.kind),
                name: r.name.clone(),
                group: r.group_id,
                members: room_members
                    .iter()
                    .map(|m| member_of(m, brief(m.user_id)))
                    .collect(),
                member_count: tally.map_or(0, |t| u64::try_from(t.members).unwrap_or(0)),
                created_at: r.created_at,
                last_message: last.get(&r.id).map(|m| {
                    message_of(m, brief(m.sender_id), &attachments, Some(&last_tally), true)
                }),
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
