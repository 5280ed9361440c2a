//! Friend requests and friendships: the `friend_requests` and `friendships` tables, the
//! /api/friends/ routes, and the notifications and events they cause.

pub mod actions;
pub mod model;
mod routes;

use axum::Router;
use axum::routing::{delete, get, put};

use crate::db::entities::friend_request;
use crate::error::ApiError;
use crate::social::Viewer;
use crate::social::briefs::Briefs;
use crate::state::AppState;
use model::{FriendRequest, FriendRequestEvent};

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/friends/request",
            get(routes::list_requests).post(routes::send_request),
        )
        .route(
            "/api/friends/request/{id}",
            put(routes::respond).delete(routes::cancel_request),
        )
        .route("/api/friends", get(routes::list_friends))
        .route("/api/friends/{user_id}", delete(routes::unfriend))
}

/// FriendRequests as `viewer` sees them: one query for the users, one batch of relations.
pub async fn views(
    app: &AppState,
    viewer: Viewer,
    requests: &[friend_request::Model],
) -> Result<Vec<FriendRequest>, ApiError> {
    let briefs = Briefs::load(
        app,
        viewer,
        requests.iter().flat_map(|r| [r.sender_id, r.receiver_id]),
    )
    .await?;
    requests
        .iter()
        .map(|r| {
            let (Some(sender), Some(receiver)) =
                (briefs.get(r.sender_id), briefs.get(r.receiver_id))
            else {
                return Err(ApiError::Internal(format!(
                    "friend request {} lost a user",
                    r.id
                )));
            };
            Ok(FriendRequest {
                id: r.id,
                sender,
                receiver,
                status: r.status.clone(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

pub async fn view(
    app: &AppState,
    viewer: Viewer,
    request: &friend_request::Model,
) -> Result<FriendRequest, ApiError> {
    views(app, viewer, std::slice::from_ref(request))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("friend request view missing".into()))
}

/// Sends the `friend_request` event about `request` to `recipient`, as they see it.
pub async fn publish_event(
    app: &AppState,
    recipient: i64,
    action: &'static str,
    request: &friend_request::Model,
) -> Result<(), ApiError> {
    let viewer = Viewer::user(recipient);
    let friend_request = app.for_others(view(app, viewer, request)).await?;
    app.realtime.publish(
        &[recipient],
        "friend_request",
        &FriendRequestEvent {
            action,
            friend_request,
        },
    );
    Ok(())
}
