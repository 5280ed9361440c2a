//! Notifications: the `notifications` and `notification_settings` tables, the
//! /api/notifications/ routes, and `notify`, the one function every feature calls to notify.

pub mod model;
mod routes;
pub mod store;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use crate::db::entities::{notification, user};
use crate::error::ApiError;
use crate::social::{Relations, Viewer};
use crate::state::AppState;
use crate::users;
use model::Notification;

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/notifications", get(routes::list))
        .route("/api/notifications/unread-count", get(routes::unread_count))
        .route("/api/notifications/read-all", post(routes::read_all))
        .route(
            "/api/notifications/settings",
            get(routes::get_settings)
                .put(routes::put_settings)
                .patch(routes::patch_settings),
        )
        .route(
            "/api/notifications/{id}/read",
            put(routes::mark_read).patch(routes::mark_read),
        )
        .route("/api/notifications/{id}", delete(routes::delete))
}

/// Creates a notification unless the recipient switched its type off, and pushes it over the
/// WebSocket unless they are in do-not-disturb. Returns what was stored, if anything.
#[tracing::instrument(skip(app, text, data))]
pub async fn notify(
    app: &AppState,
    recipient: i64,
    sender: Option<i64>,
    kind: &str,
    text: String,
    data: Value,
) -> Result<Option<Notification>, ApiError> {
    let settings = store::settings(&app.db, recipient).await?;
    if store::is_disabled(&settings, kind) {
        return Ok(None);
    }
    let row = store::insert(
        &app.db,
        store::NewNotification {
            recipient,
            sender,
            kind: kind.to_owned(),
            text,
            data: data.to_string(),
        },
    )
    .await?;
    let viewer = Viewer::user(recipient);
    let view = views(app, viewer, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("notification view missing".into()))?;
    if !settings.do_not_disturb {
        app.realtime.publish(&[recipient], "notification", &view);
    }
    Ok(Some(view))
}

/// Notifications as their recipient sees them: one query for the senders.
pub async fn views(
    app: &AppState,
    viewer: Viewer,
    rows: &[notification::Model],
) -> Result<Vec<Notification>, ApiError> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|n| n.sender_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let senders: HashMap<i64, user::Model> = users::store::find_many(&app.db, ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let refs: Vec<&user::Model> = senders.values().collect();
    let rel = Relations::load(app, viewer, &refs).await?;
    Ok(rows
        .iter()
        .map(|n| Notification {
            id: n.id,
            recipient: n.recipient_id,
            sender: n
                .sender_id
                .and_then(|id| senders.get(&id))
                .map(|u| rel.brief(u)),
            kind: n.kind.clone(),
            text: n.text.clone(),
            data: serde_json::from_str(&n.data)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            is_read: n.is_read,
            created_at: n.created_at,
        })
        .collect())
}
