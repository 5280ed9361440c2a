//! Notifications: the `notifications` and `notification_settings` tables, the
//! /api/notifications/ routes, and `notify`, the one function every feature calls to notify.

pub mod model;
mod routes;
pub mod store;

use axum::Router;
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use crate::db::entities::{notification, notification_setting};
use crate::error::ApiError;
use crate::events::Event;
use crate::social::briefs::Briefs;
use crate::social::model::UserBrief;
use crate::social::{self, Viewer};
use crate::state::AppState;
use crate::users;
use model::Notification;

pub use routes::{ApiDoc, settings_view};

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
            put(routes::mark_read).patch(routes::patch_read),
        )
        .route("/api/notifications/{id}", delete(routes::delete))
}

/// Creates a notification unless the recipient switched its type off, and sends it over the
/// WebSocket (and announces it, `Event::Notified`, for push) unless they are in do-not-disturb. Returns what was stored, if anything.
pub async fn notify(
    app: &AppState,
    recipient: i64,
    sender: Option<i64>,
    kind: &str,
    text: String,
    data: Value,
) -> Result<Option<Notification>, ApiError> {
    Ok(notify_many(app, &[recipient], sender, kind, text, data)
        .await?
        .pop())
}

/// `notify` for many recipients at once (mentions, group notifications): one query for their
/// settings, one insert, one batch of sender views, then one event per recipient.
#[tracing::instrument(skip(app, text, data), fields(recipients = recipients.len()))]
pub async fn notify_many(
    app: &AppState,
    recipients: &[i64],
    sender: Option<i64>,
    kind: &str,
    text: String,
    data: Value,
) -> Result<Vec<Notification>, ApiError> {
    // No notification crosses a block, whatever feature asks for it: this is the one place
    // every notification passes through.
    let unblocked: Vec<i64>;
    let recipients = match sender {
        Some(sender) => {
            let blocked = social::store::blocked_among(&app.db, sender, recipients).await?;
            unblocked = recipients
                .iter()
                .copied()
                .filter(|r| !blocked.contains(r))
                .collect();
            &unblocked[..]
        }
        None => recipients,
    };
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let settings = store::settings_of(&app.db, recipients).await?;
    let wanted: Vec<&notification_setting::Model> = settings
        .iter()
        .filter(|s| !store::is_disabled(s, kind))
        .collect();
    let data = data.to_string();
    let rows = store::insert_many(
        &app.db,
        wanted
            .iter()
            .map(|s| store::NewNotification {
                recipient: s.user_id,
                sender,
                kind: kind.to_owned(),
                text: text.clone(),
                data: data.clone(),
            })
            .collect(),
    )
    .await?;
    let sender_row = match sender {
        Some(id) => users::store::find_by_id(&app.db, id).await?,
        None => None,
    };
    let mut seen_by = match &sender_row {
        Some(u) => social::brief_for_each(app, u, recipients).await?,
        None => Default::default(),
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut pushed = Vec::new();
    let mut pushed_to = Vec::new();
    for row in rows {
        let view = shape(&row, seen_by.remove(&row.recipient_id));
        let quiet = wanted
            .iter()
            .any(|s| s.user_id == row.recipient_id && s.do_not_disturb);
        if !quiet {
            app.realtime
                .publish(&[row.recipient_id], "notification", &view);
            pushed.push(row.id);
            pushed_to.push(row.recipient_id);
        }
        out.push(view);
    }
    if !pushed.is_empty() {
        app.events
            .publish(
                app,
                Event::Notified {
                    ids: pushed,
                    recipients: pushed_to,
                },
            )
            .await;
    }
    Ok(out)
}

/// `notify`, aggregated (`post_reaction`): while `recipient` has an unread notification of
/// `kind` about the same post (and comment), it is rewritten with the new sender, text and
/// data, dated now, and sent again with its id; otherwise a new one is made.
pub async fn notify_grouped(
    app: &AppState,
    recipient: i64,
    sender: i64,
    kind: &str,
    text: String,
    data: Value,
    comment_id: Option<i64>,
) -> Result<Option<Notification>, ApiError> {
    let settings = store::settings_of(&app.db, &[recipient]).await?;
    let quiet = settings.first().is_some_and(|s| s.do_not_disturb);
    if settings
        .first()
        .is_some_and(|s| store::is_disabled(s, kind))
        || social::store::blocked_among(&app.db, sender, &[recipient])
            .await?
            .contains(&recipient)
    {
        return Ok(None);
    }
    let (row, created) = store::upsert_grouped(
        &app.db,
        store::NewNotification {
            recipient,
            sender: Some(sender),
            kind: kind.to_owned(),
            text,
            data: data.to_string(),
        },
        comment_id,
    )
    .await?;
    // Built for the recipient: links never from the reactor's request.
    let view = app
        .for_others(views(
            app,
            Viewer::user(recipient),
            std::slice::from_ref(&row),
        ))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    if !quiet {
        app.realtime.publish(&[recipient], "notification", &view);
        if created {
            app.events
                .publish(
                    app,
                    Event::Notified {
                        ids: vec![row.id],
                        recipients: vec![recipient],
                    },
                )
                .await;
        }
    }
    Ok(Some(view))
}

/// Notifications as their recipient sees them: one query for the senders.
pub async fn views(
    app: &AppState,
    viewer: Viewer,
    rows: &[notification::Model],
) -> Result<Vec<Notification>, ApiError> {
    let briefs = Briefs::load(app, viewer, rows.iter().filter_map(|n| n.sender_id)).await?;
    Ok(rows
        .iter()
        .map(|n| shape(n, n.sender_id.and_then(|id| briefs.get(id))))
        .collect())
}

fn shape(n: &notification::Model, sender: Option<UserBrief>) -> Notification {
    Notification {
        id: n.id,
        recipient: n.recipient_id,
        sender,
        kind: n.kind.clone(),
        text: n.text.clone(),
        data: serde_json::from_str(&n.data).unwrap_or_else(|_| Value::Object(Default::default())),
        is_read: n.is_read,
        created_at: n.created_at,
    }
}
