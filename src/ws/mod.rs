//! The `/ws/` gateway: the upgrade, one task per socket, typed client frames dispatched to the
//! features' functions, and what a presence transition means (who is told, `last_seen`).

mod frames;
pub mod gateway;

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::realtime::Transition;
use crate::social;
use crate::state::AppState;
use crate::users;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(gateway::upgrade))
}

/// Claims or releases the user's presence after a first connection opened or a last one
/// closed, and announces a transition.
pub async fn sync_presence(app: &AppState, user_id: i64) {
    let (transition, _order) = app.realtime.sync_claim(user_id).await;
    match transition {
        Some(Transition::Online) => announce(app, user_id, "online").await,
        Some(Transition::Offline) => went_offline(app, user_id).await,
        None => {}
    }
}

/// Reports the users whose instance died (found by the presence store) as offline.
pub async fn report_expired(app: AppState) {
    let Some(mut rx) = app.realtime.take_expired() else {
        return;
    };
    while let Some(user_id) = rx.recv().await {
        went_offline(&app, user_id).await;
    }
}

async fn went_offline(app: &AppState, user_id: i64) {
    match users::store::touch_last_seen(&app.db, user_id).await {
        Ok(()) => app.user_changed(user_id).await,
        Err(e) => tracing::warn!(error = %e, "could not store last_seen"),
    }
    announce(app, user_id, "offline").await;
}

/// `online_status` to the users allowed to see it.
async fn announce(app: &AppState, user_id: i64, status: &str) {
    let audience = match social::presence_audience(&app.db, user_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "could not load the presence audience");
            return;
        }
    };
    let Some((audience, last_seen)) = audience else {
        return;
    };
    app.realtime.publish(
        &audience,
        "online_status",
        &json!({"user_id": user_id, "status": status, "last_seen": last_seen}),
    );
}
