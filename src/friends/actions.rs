//! The friend use cases, shared by REST and (later) WebSocket: each validates, runs one
//! transaction, commits, then notifies and publishes.

use serde_json::json;

use super::model::{Answer, RespondBody};
use super::publish_event;
use crate::db::entities::friend_request;
use crate::error::{ApiError, after_commit};
use crate::events::Event;
use crate::http::CurrentUser;
use crate::notifications;
use crate::social::store::{self, RequestStatus};
use crate::state::AppState;

fn no_longer_pending() -> ApiError {
    ApiError::rejected("This friend request is no longer pending.")
}

fn already_pending() -> ApiError {
    ApiError::rejected("A pending friend request between you already exists.")
}

/// `me` asks `receiver_id` to be friends.
#[tracing::instrument(skip_all, fields(user_id = me.id, receiver = receiver_id))]
pub async fn send_request(
    app: &AppState,
    me: &CurrentUser,
    receiver_id: i64,
) -> Result<friend_request::Model, ApiError> {
    if receiver_id == me.id {
        return Err(ApiError::field(
            "receiver",
            "You cannot send a friend request to yourself.",
        ));
    }
    let receiver = crate::users::active_user(app, receiver_id, "receiver").await?;
    // Checked and inserted in one transaction under the pair's locks: a block committing in
    // between cannot be missed.
    let txn = crate::db::begin_write(&app.db).await?;
    store::lock_pair(&txn, me.id, receiver.id).await?;
    if store::has_blocked(&txn, receiver.id, me.id).await? {
        return Err(ApiError::Forbidden);
    }
    if store::has_blocked(&txn, me.id, receiver.id).await? {
        return Err(ApiError::rejected(
            "You have blocked this user. Unblock them first.",
        ));
    }
    if store::are_friends(&txn, me.id, receiver.id).await? {
        return Err(ApiError::rejected("You are already friends."));
    }
    if store::pending_between(&txn, me.id, receiver.id)
        .await?
        .is_some()
    {
        return Err(already_pending());
    }
    let request = store::create_request(&txn, me.id, receiver.id)
        .await
        .map_err(|e| {
            // A concurrent request between the same two users got there first.
            if crate::db::is_unique_violation(&e) {
                already_pending()
            } else {
                e.into()
            }
        })?;
    txn.commit().await?;
    let note = notifications::notify(
        app,
        receiver.id,
        Some(me.id),
        notifications::model::FRIEND_REQUEST,
        format!("{} sent you a friend request.", me.user.username),
        json!({"friend_request_id": request.id}),
    )
    .await;
    after_commit("friend_request notification", note);
    after_commit(
        "friend_request event",
        publish_event(app, receiver.id, "created", &request).await,
    );
    Ok(request)
}

/// A request `me` sent or received; anyone else's is a 404.
async fn own_request(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
) -> Result<friend_request::Model, ApiError> {
    store::find_request(&app.db, id)
        .await?
        .filter(|r| r.sender_id == me.id || r.receiver_id == me.id)
        .ok_or(ApiError::NotFound)
}

/// The receiver accepts or rejects pending request `id`. Someone else's request is a 404, one
/// `me` sent a 403, checked before the answer is read, as DRF checks permissions before fields.
#[tracing::instrument(skip_all, fields(user_id = me.id, request = id))]
pub async fn respond(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    body: RespondBody,
) -> Result<friend_request::Model, ApiError> {
    let request = own_request(app, me, id).await?;
    if request.receiver_id != me.id {
        return Err(ApiError::Forbidden);
    }
    let answer = body.validate()?;
    if request.status != RequestStatus::Pending.as_str() {
        return Err(no_longer_pending());
    }
    let (status, event) = match answer {
        Answer::Accept => (RequestStatus::Accepted, "accepted"),
        Answer::Reject => (RequestStatus::Rejected, "rejected"),
    };
    let txn = crate::db::begin_write(&app.db).await?;
    store::lock_pair(&txn, request.sender_id, me.id).await?;
    // Either side may have blocked the other since the request was sent.
    if answer == Answer::Accept && store::blocked_either_way(&txn, request.sender_id, me.id).await?
    {
        return Err(no_longer_pending());
    }
    if !store::close_request(&txn, request.id, status.as_str()).await? {
        return Err(no_longer_pending());
    }
    if answer == Answer::Accept {
        store::make_friends(&txn, request.sender_id, request.receiver_id).await?;
    }
    txn.commit().await?;
    if answer == Answer::Accept {
        // Both friend counts changed.
        app.user_changed(request.sender_id).await;
        app.user_changed(request.receiver_id).await;
        app.events
            .publish(
                app,
                Event::FriendshipMade {
                    a: request.sender_id,
                    b: request.receiver_id,
                },
            )
            .await;
    }
    let updated = store::find_request(&app.db, request.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if answer == Answer::Accept {
        let note = notifications::notify(
            app,
            updated.sender_id,
            Some(me.id),
            notifications::model::FRIEND_ACCEPTED,
            format!("{} accepted your friend request.", me.user.username),
            json!({"friend_request_id": updated.id}),
        )
        .await;
        after_commit("friend_accepted notification", note);
    }
    after_commit(
        "friend_request event",
        publish_event(app, updated.sender_id, event, &updated).await,
    );
    Ok(updated)
}

/// The sender withdraws a pending request.
#[tracing::instrument(skip_all, fields(user_id = me.id, request = id))]
pub async fn cancel(app: &AppState, me: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let request = own_request(app, me, id).await?;
    if request.sender_id != me.id {
        return Err(ApiError::Forbidden);
    }
    if !store::close_request(&app.db, request.id, RequestStatus::Cancelled.as_str()).await? {
        return Err(no_longer_pending());
    }
    let updated = store::find_request(&app.db, request.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    after_commit(
        "friend_request event",
        publish_event(app, updated.receiver_id, "cancelled", &updated).await,
    );
    Ok(())
}

/// Ends the friendship of `me` and `other`; a 404 when there was none.
#[tracing::instrument(skip_all, fields(user_id = me.id, friend = other))]
pub async fn unfriend(app: &AppState, me: &CurrentUser, other: i64) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    store::lock_pair(&txn, me.id, other).await?;
    let ended = store::unfriend(&txn, me.id, other).await?;
    txn.commit().await?;
    if ended {
        app.user_changed(me.id).await;
        app.user_changed(other).await;
    }
    if ended {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}
