//! Handlers of /api/friends/.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::model::{
    FriendListQuery, FriendRequest, RequestListQuery, RespondBody, SendRequestBody,
};
use super::{publish_event, unfriend_in_txn, view, views};
use crate::db::entities::user;
use crate::error::{ApiError, FieldErrors, after_commit};
use crate::http::{
    CurrentUser, Json, Page, PageParams, Paginated, Path, Query, json_type_name, query_bool,
};
use crate::notifications;
use crate::social::model::UserBrief;
use crate::social::{Relations, store};
use crate::state::AppState;
use crate::users::{fields, store as user_store};

#[derive(OpenApi)]
#[openapi(paths(
    send_request,
    list_requests,
    respond,
    cancel_request,
    list_friends,
    unfriend
))]
pub struct ApiDoc;

const STATUSES: &[&str] = &[
    store::PENDING,
    store::ACCEPTED,
    store::REJECTED,
    store::CANCELLED,
];

#[utoipa::path(post, path = "/api/friends/request/", tag = "friends", request_body = SendRequestBody,
    responses((status = 201, body = FriendRequest),
        (status = 400, description = "Field error on `receiver`, or `detail`: already friends, a pending request exists"),
        (status = 401), (status = 403, description = "The receiver blocked you")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn send_request(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<SendRequestBody>,
) -> Result<(StatusCode, Json<FriendRequest>), ApiError> {
    let receiver_id = match body.receiver {
        None | Some(Value::Null) => return Err(ApiError::field("receiver", fields::REQUIRED)),
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            s.trim().parse().unwrap_or_default()
        }
        Some(other) => {
            return Err(ApiError::field(
                "receiver",
                format!(
                    "Incorrect type. Expected pk value, received {}.",
                    json_type_name(&other)
                ),
            ));
        }
    };
    if receiver_id == me.id {
        return Err(ApiError::field(
            "receiver",
            "You cannot send a friend request to yourself.",
        ));
    }
    let does_not_exist = || {
        ApiError::field(
            "receiver",
            format!("Invalid pk \"{receiver_id}\" - object does not exist."),
        )
    };
    let receiver = user_store::find_active(&app.db, receiver_id)
        .await?
        .ok_or_else(does_not_exist)?;
    if store::has_blocked(&app.db, receiver.id, me.id).await? {
        return Err(ApiError::Forbidden);
    }
    if store::has_blocked(&app.db, me.id, receiver.id).await? {
        return Err(ApiError::rejected(
            "You have blocked this user. Unblock them first.",
        ));
    }
    if store::are_friends(&app.db, me.id, receiver.id).await? {
        return Err(ApiError::rejected("You are already friends."));
    }
    if store::pending_between(&app.db, me.id, receiver.id)
        .await?
        .is_some()
    {
        return Err(ApiError::rejected(
            "A pending friend request between you already exists.",
        ));
    }
    let request = store::create_request(&app.db, me.id, receiver.id)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                // A concurrent request between the same two users got there first.
                ApiError::rejected("A pending friend request between you already exists.")
            } else {
                e.into()
            }
        })?;
    let note = notifications::notify(
        &app,
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
        publish_event(&app, receiver.id, "created", &request).await,
    );
    Ok((
        StatusCode::CREATED,
        Json(view(&app, (&me).into(), &request).await?),
    ))
}

#[utoipa::path(get, path = "/api/friends/request/", tag = "friends", params(RequestListQuery, PageParams),
    responses((status = 200, body = Paginated<FriendRequest>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_requests(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<RequestListQuery>,
) -> Result<Json<Paginated<FriendRequest>>, ApiError> {
    let mut errors = FieldErrors::new();
    let direction = q
        .direction
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if let Some(d) = direction
        && !["incoming", "outgoing"].contains(&d)
    {
        errors.add(
            "direction",
            format!("Select a valid choice. {d} is not one of the available choices."),
        );
    }
    let status = q
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(store::PENDING);
    if !STATUSES.contains(&status) {
        errors.add(
            "status",
            format!("Select a valid choice. {status} is not one of the available choices."),
        );
    }
    errors.into_result()?;
    let count = store::count_requests(&app.db, me.id, direction, status).await?;
    page.resolve(count)?;
    let rows = store::list_requests(
        &app.db,
        me.id,
        direction,
        status,
        page.offset(),
        page.limit(),
    )
    .await?;
    Ok(Json(
        page.wrap(count, views(&app, (&me).into(), &rows).await?),
    ))
}

#[utoipa::path(put, path = "/api/friends/request/{id}/", tag = "friends", params(("id" = i64, Path)),
    request_body = RespondBody,
    responses((status = 200, body = FriendRequest), (status = 400, description = "Bad action, or no longer pending"),
        (status = 401), (status = 403, description = "The sender cannot answer their own request"), (status = 404)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, request_id = id))]
pub async fn respond(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<RespondBody>,
) -> Result<Json<FriendRequest>, ApiError> {
    let request = store::find_request(&app.db, id)
        .await?
        .filter(|r| r.sender_id == me.id || r.receiver_id == me.id)
        .ok_or(ApiError::NotFound)?;
    if request.receiver_id != me.id {
        return Err(ApiError::Forbidden);
    }
    let action = match body.action.as_deref().map(str::trim) {
        None => return Err(ApiError::field("action", fields::REQUIRED)),
        Some(a @ ("accept" | "reject")) => a.to_owned(),
        Some(other) => {
            return Err(ApiError::field(
                "action",
                format!("\"{other}\" is not a valid choice."),
            ));
        }
    };
    let no_longer_pending = || ApiError::rejected("This friend request is no longer pending.");
    if request.status != store::PENDING {
        return Err(no_longer_pending());
    }
    // Either side may have blocked the other since the request was sent.
    if action == "accept"
        && (store::has_blocked(&app.db, request.sender_id, me.id).await?
            || store::has_blocked(&app.db, me.id, request.sender_id).await?)
    {
        return Err(no_longer_pending());
    }
    let (status, event) = if action == "accept" {
        (store::ACCEPTED, "accepted")
    } else {
        (store::REJECTED, "rejected")
    };
    let txn = sea_orm::TransactionTrait::begin(&app.db).await?;
    if !store::close_request(&txn, request.id, status).await? {
        return Err(no_longer_pending());
    }
    if action == "accept" {
        store::make_friends(&txn, request.sender_id, request.receiver_id).await?;
    }
    txn.commit().await?;
    let updated = store::find_request(&app.db, request.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if action == "accept" {
        let note = notifications::notify(
            &app,
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
        publish_event(&app, updated.sender_id, event, &updated).await,
    );
    Ok(Json(view(&app, (&me).into(), &updated).await?))
}

#[utoipa::path(delete, path = "/api/friends/request/{id}/", tag = "friends", params(("id" = i64, Path)),
    responses((status = 204, description = "Cancelled"), (status = 400, description = "No longer pending"),
        (status = 401), (status = 403, description = "Only the sender cancels"), (status = 404)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, request_id = id))]
pub async fn cancel_request(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let request = store::find_request(&app.db, id)
        .await?
        .filter(|r| r.sender_id == me.id || r.receiver_id == me.id)
        .ok_or(ApiError::NotFound)?;
    if request.sender_id != me.id {
        return Err(ApiError::Forbidden);
    }
    if !store::close_request(&app.db, request.id, store::CANCELLED).await? {
        return Err(ApiError::rejected(
            "This friend request is no longer pending.",
        ));
    }
    let updated = store::find_request(&app.db, request.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    after_commit(
        "friend_request event",
        publish_event(&app, updated.receiver_id, "cancelled", &updated).await,
    );
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/friends/", tag = "friends", params(FriendListQuery, PageParams),
    responses((status = 200, body = Paginated<UserBrief>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_friends(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<FriendListQuery>,
) -> Result<Json<Paginated<UserBrief>>, ApiError> {
    let online_filter =
        query_bool(q.online.as_deref()).map_err(|e| ApiError::field("online", e))?;
    // Friends who hide their presence count as offline for this filter.
    let online_ids: Vec<i64> = match online_filter {
        None => Vec::new(),
        Some(_) => {
            let visible = store::friend_ids_showing_presence(&app.db, me.id).await?;
            app.realtime.online(visible).await.into_iter().collect()
        }
    };
    let online = online_filter.map(|want| (want, online_ids.as_slice()));
    let search = q.search.as_deref();
    let count = store::count_friend_users(&app.db, me.id, search, online).await?;
    page.resolve(count)?;
    let rows =
        store::list_friend_users(&app.db, me.id, search, online, page.offset(), page.limit())
            .await?;
    let refs: Vec<&user::Model> = rows.iter().collect();
    let rel = Relations::of_friends(&app, (&me).into(), &refs).await;
    Ok(Json(
        page.wrap(count, rows.iter().map(|u| rel.brief(u)).collect()),
    ))
}

#[utoipa::path(delete, path = "/api/friends/{user_id}/", tag = "friends", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404, description = "Not friends")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, friend = user_id))]
pub async fn unfriend(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(user_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if unfriend_in_txn(&app, me.id, user_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
