//! Handlers of /api/friends/.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::actions;
use super::model::{
    FriendListQuery, FriendRequest, RequestListQuery, RespondBody, SendRequestBody,
};
use super::{view, views};
use crate::db::entities::user;
use crate::db::{paginate, paginate_counted};
use crate::error::ApiError;
use crate::http::{
    CurrentUser, Json, Page, PageParams, Paginated, Path, Query, query_bool, search_term,
};
use crate::social::model::UserBrief;
use crate::social::{self, Relations, store};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        send_request,
        list_requests,
        respond,
        cancel_request,
        list_friends,
        unfriend
    ),
    components(schemas(crate::social::model::RequestDirection))
)]
pub struct ApiDoc;

#[utoipa::path(post, path = "/api/friends/request/", summary = "Send a friend request",
    description = "400 to oneself, to a friend, or while a request is pending either way; 403 when the receiver blocked the caller. The receiver gets a friend_request event and notification.", tag = "friends", request_body = SendRequestBody,
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
    let receiver_id = body.validate()?;
    let request = actions::send_request(&app, &me, receiver_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&app, (&me).into(), &request).await?),
    ))
}

#[utoipa::path(get, path = "/api/friends/request/", summary = "List friend requests",
    description = "?direction=incoming or outgoing (both by default) and ?status= (pending by default).", tag = "friends", params(RequestListQuery, PageParams),
    responses((status = 200, body = Paginated<FriendRequest>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_requests(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<RequestListQuery>,
) -> Result<Json<Paginated<FriendRequest>>, ApiError> {
    let (direction, status) = q.validate()?;
    let (count, rows) = paginate(
        &app.db,
        store::requests_query(me.id, direction, status),
        &mut page,
    )
    .await?;
    Ok(Json(
        page.wrap(count, views(&app, (&me).into(), &rows).await?),
    ))
}

#[utoipa::path(put, path = "/api/friends/request/{id}/", summary = "Answer a friend request",
    description = "The receiver accepts or rejects a pending request (action); accepting makes the two friends. The sender's request is 403, others' 404.", tag = "friends", params(("id" = i64, Path)),
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
    let updated = actions::respond(&app, &me, id, body).await?;
    Ok(Json(view(&app, (&me).into(), &updated).await?))
}

#[utoipa::path(delete, path = "/api/friends/request/{id}/", summary = "Cancel a friend request",
    description = "The sender withdraws a pending request.", tag = "friends", params(("id" = i64, Path)),
    responses((status = 204, description = "Cancelled"), (status = 400, description = "No longer pending"),
        (status = 401), (status = 403, description = "Only the sender cancels"), (status = 404)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, request_id = id))]
pub async fn cancel_request(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    actions::cancel(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/friends/", summary = "List my friends",
    description = "Paginated by username; ?search= matches the start of a username, first or last name, ?online= filters by presence (where visible).", tag = "friends", params(FriendListQuery, PageParams),
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
    let search = search_term(q.search.as_deref())?;
    // The plain list, the common read, is paged in memory from cached rows.
    if online_filter.is_none()
        && search.is_none()
        && let Some(all) = social::all_friends(&app, me.id).await?
    {
        let count = u64::try_from(all.len()).unwrap_or(u64::MAX);
        let rows = page.window(&all)?;
        let refs: Vec<&user::Model> = rows.iter().map(|u| &**u).collect();
        let rel = Relations::of_friends(&app, (&me).into(), &refs).await;
        return Ok(Json(
            page.wrap(count, refs.iter().map(|u| rel.brief(u)).collect()),
        ));
    }
    // Friends who hide their presence count as offline for this filter.
    let online_ids: Vec<i64> = match online_filter {
        None => Vec::new(),
        Some(_) => social::online_friends_showing_presence(&app, me.id).await?,
    };
    let (count, rows): (u64, Vec<Arc<user::Model>>) = match (search, online_filter) {
        (None, Some(true)) if online_ids.is_empty() => {
            crate::db::PageWindow::resolve(&mut page, 0)?;
            (0, Vec::new())
        }
        // A search, or the few online: the rows that match, each checked for the friendship.
        (Some(_), _) | (None, Some(true)) => {
            let online = online_filter.map(|want| (want, online_ids.as_slice()));
            let query = store::friends_query(app.db.get_database_backend(), me.id, search, online);
            let (count, rows) = paginate(&app.db, query, &mut page).await?;
            (count, rows.into_iter().map(Arc::new).collect())
        }
        // Everyone, or everyone offline: a walk of the friendships in username order, the total
        // kept (less the inactive friends and the online ones left out).
        (None, None | Some(false)) => {
            let active = store::active_friend_count(&app.db, me.id, me.user.friend_count).await?;
            let total = active.saturating_sub(u64::try_from(online_ids.len()).unwrap_or(0));
            let both = crate::db::BothWays {
                forward: store::friendships_by_name(me.id, &online_ids, sea_orm::Order::Asc),
                backward: Some(store::friendships_by_name(
                    me.id,
                    &online_ids,
                    sea_orm::Order::Desc,
                )),
            };
            let page_rows = paginate_counted(&app.db, both, &mut page, total).await?;
            let ids: Vec<i64> = page_rows.iter().map(|f| f.friend_id).collect();
            let mut by_id: HashMap<i64, Arc<user::Model>> = app
                .users_by_id(&ids)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect();
            (
                total,
                ids.iter().filter_map(|id| by_id.remove(id)).collect(),
            )
        }
    };
    let refs: Vec<&user::Model> = rows.iter().map(|u| &**u).collect();
    let rel = Relations::of_friends(&app, (&me).into(), &refs).await;
    Ok(Json(
        page.wrap(count, refs.iter().map(|u| rel.brief(u)).collect()),
    ))
}

#[utoipa::path(delete, path = "/api/friends/{user_id}/", summary = "Unfriend",
    description = "Ends the friendship both ways; 404 when there was none.", tag = "friends", params(("user_id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404, description = "Not friends")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, friend = user_id))]
pub async fn unfriend(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(user_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    actions::unfriend(&app, &me, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
