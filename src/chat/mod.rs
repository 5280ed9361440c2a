//! Chat: direct and group rooms, messages with history, edits and tombstones, read markers,
//! mutes, typing and `@mentions`. The use cases live in `actions` and are shared by the
//! /api/chat/ routes and the `/ws/` gateway; who may message whom is asked of `social`.

pub mod actions;
pub mod away;
pub mod members;
pub mod messages;
pub mod model;
pub mod rooms;
mod routes;
pub mod store;
mod views;
pub mod writer;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::events::Event;
use crate::state::AppState;

pub use routes::ApiDoc;
pub use views::{
    members_page, members_view, message_event, message_event_with, message_events, message_view,
    message_view_with, messages_view, room_view, rooms_view,
};

/// Chat's part in what other features commit: deleted media announces the messages it leaves
/// (`message_updated`). Subscribed in `app.rs`.
pub async fn on_event(app: AppState, event: Arc<Event>) {
    if let Event::MediaDeleted { messages, .. } = &*event
        && !messages.is_empty()
    {
        messages::announce_messages(&app, messages.clone()).await;
    }
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
        .route(
            "/api/chat/rooms/{id}/members",
            get(routes::list_members).post(routes::add_members),
        )
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
        .route(
            "/api/chat/messages/{id}/reactions",
            get(routes::message_reactions),
        )
        .route(
            "/api/chat/messages/{id}/reactions/{emoji}",
            put(routes::react_to_message).delete(routes::unreact_to_message),
        )
}
