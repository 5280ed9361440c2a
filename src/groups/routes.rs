//! Handlers of /api/groups/: parse, call the feature function, shape the response.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{
    ActionBody, Group, GroupBody, GroupListQuery, Invite, JoinOutcome, JoinRequest, RoleBody,
    UserIdBody,
};
use super::permissions::{Action, check};
use super::{actions, joining};
use super::{group_view, groups_view, invites_view, requests_view, store};
use crate::chat::members_page;
use crate::chat::model::Member;
use crate::db::paginate;
use crate::error::ApiError;
use crate::http::{
    CurrentUser, Json, Page, PageParams, Paginated, Path, Query, query_bool, search_term,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    list_groups,
    create_group,
    get_group,
    update_group,
    delete_group,
    group_members,
    set_member_role,
    remove_group_member,
    transfer_group,
    join_group,
    list_join_requests,
    answer_join_request,
    invite_to_group,
    my_invites,
    answer_invite
))]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/groups/", summary = "List groups",
    description = "Public groups and those the caller belongs to; ?search= in name and description, ?mine=true for the caller's.", tag = "groups", params(GroupListQuery, PageParams),
    responses((status = 200, body = Paginated<Group>), (status = 400), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list_groups(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<GroupListQuery>,
) -> Result<Json<Paginated<Group>>, ApiError> {
    let search = search_term(q.search.as_deref())?;
    let mine = query_bool(q.mine.as_deref())
        .map_err(|e| ApiError::field("mine", e))?
        .unwrap_or(false);
    let listing = store::Listing {
        user_id: me.id,
        is_staff: me.is_staff,
        search,
        mine,
    };
    let (count, rows) = paginate(&app.db, store::list_query(&listing), &mut page).await?;
    Ok(Json(page.wrap(count, groups_view(&app, &me, &rows).await?)))
}

#[utoipa::path(post, path = "/api/groups/", summary = "Create a group",
    description = "The caller is its owner; its chat room is made in the same transaction.", tag = "groups", request_body = GroupBody,
    responses((status = 201, body = Group, description = "Created, with its room; the caller is the owner"), (status = 400)),
    security(("bearer" = [])))]
pub async fn create_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<GroupBody>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let fields = body.validate(true)?;
    Ok((
        StatusCode::CREATED,
        Json(actions::create(&app, &me, fields).await?),
    ))
}

#[utoipa::path(get, path = "/api/groups/{id}/", summary = "A group",
    description = "A private group is a 404 to anyone not a member, not invited and not staff.", tag = "groups", params(("id" = i64, Path)),
    responses((status = 200, body = Group), (status = 404, description = "No such group, or a private one the caller is neither in nor invited to")),
    security(("bearer" = [])))]
pub async fn get_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Group>, ApiError> {
    let found = actions::visible(&app, &me, id).await?;
    Ok(Json(group_view(&app, &me, &found.group).await?))
}

#[utoipa::path(patch, path = "/api/groups/{id}/", summary = "Update a group",
    description = "Owner or admin: name, description, visibility, avatar (an image of the caller's own).", tag = "groups", params(("id" = i64, Path)), request_body = GroupBody,
    responses((status = 200, body = Group), (status = 400), (status = 403, description = "Not an owner or admin"), (status = 404)),
    security(("bearer" = [])))]
pub async fn update_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<GroupBody>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(actions::update(&app, &me, id, body).await?))
}

#[utoipa::path(delete, path = "/api/groups/{id}/", summary = "Delete a group",
    description = "The owner (or staff); its room, messages, requests and invites go with it, and each former member gets member_left.", tag = "groups", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted with its room"), (status = 403, description = "Not the owner"), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    actions::delete(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/groups/{id}/members/", summary = "Group members",
    description = "Paginated, in the order they joined.", tag = "groups", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Paginated<Member>), (status = 404)),
    security(("bearer" = [])))]
pub async fn group_members(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    mut page: Page,
) -> Result<Json<Paginated<Member>>, ApiError> {
    let found = actions::visible(&app, &me, id).await?;
    Ok(Json(
        members_page(&app, &me, found.group.room_id, &mut page).await?,
    ))
}

#[utoipa::path(patch, path = "/api/groups/{id}/members/{user_id}/", summary = "Change a member's role",
    description = "The owner (or staff) makes a member admin or member.", tag = "groups",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = RoleBody,
    responses((status = 200, body = Member), (status = 400, description = "A bad role, or the owner's role"),
        (status = 403, description = "Not the owner"), (status = 404, description = "No such group or member")),
    security(("bearer" = [])))]
pub async fn set_member_role(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, user_id)): Path<(i64, i64)>,
    Json(body): Json<RoleBody>,
) -> Result<Json<Member>, ApiError> {
    let role = body.validate()?;
    Ok(Json(actions::set_role(&app, &me, id, user_id, role).await?))
}

#[utoipa::path(delete, path = "/api/groups/{id}/members/{user_id}/", summary = "Remove a member or leave",
    description = "An admin removes members, the owner anyone, anyone but the owner leaves. One transaction with the permission check, so racing changes cannot leave a group without one owner.", tag = "groups",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Removed, or left"), (status = 400, description = "The owner cannot leave or be removed"),
        (status = 403, description = "Not allowed to remove this member"), (status = 404)),
    security(("bearer" = [])))]
pub async fn remove_group_member(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    actions::remove(&app, &me, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/groups/{id}/transfer/", summary = "Transfer ownership",
    description = "The owner hands the group to a member, and becomes an admin.", tag = "groups", params(("id" = i64, Path)), request_body = UserIdBody,
    responses((status = 200, body = Group), (status = 400, description = "Not a member, or already the owner"),
        (status = 403, description = "Not the owner"), (status = 404)),
    security(("bearer" = [])))]
pub async fn transfer_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<UserIdBody>,
) -> Result<Json<Group>, ApiError> {
    let user_id = body.validate()?;
    Ok(Json(actions::transfer(&app, &me, id, user_id).await?))
}

#[utoipa::path(post, path = "/api/groups/{id}/join/", summary = "Join a group",
    description = "A public group (or one the caller is invited to) at once, 200 with the membership; a private one by a join request, 202.", tag = "groups", params(("id" = i64, Path)),
    responses((status = 200, body = Member, description = "Joined a public group, or a private one the caller was invited to"),
        (status = 202, body = JoinRequest, description = "A join request to a private group"),
        (status = 400, description = "Already a member, or a request is already pending"), (status = 404)),
    security(("bearer" = [])))]
pub async fn join_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<JoinOutcome>), ApiError> {
    let outcome = joining::join(&app, &me, id).await?;
    let status = match outcome {
        JoinOutcome::Joined(_) => StatusCode::OK,
        JoinOutcome::Requested(_) => StatusCode::ACCEPTED,
    };
    Ok((status, Json(outcome)))
}

#[utoipa::path(get, path = "/api/groups/{id}/join-requests/", summary = "Pending join requests",
    description = "Owner or admin; oldest first.", tag = "groups", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Paginated<JoinRequest>, description = "Pending requests, oldest first"),
        (status = 403, description = "Not an owner or admin"), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_join_requests(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    mut page: Page,
) -> Result<Json<Paginated<JoinRequest>>, ApiError> {
    let found = actions::visible(&app, &me, id).await?;
    check(found.actor, Action::AnswerJoinRequests).enforce()?;
    let (count, rows) =
        paginate(&app.db, store::pending_requests(found.group.id), &mut page).await?;
    Ok(Json(
        page.wrap(count, requests_view(&app, &me, &rows).await?),
    ))
}

#[utoipa::path(put, path = "/api/groups/{id}/join-requests/{rid}/", summary = "Answer a join request",
    description = "Owner or admin approves (the user joins) or rejects.", tag = "groups",
    params(("id" = i64, Path), ("rid" = i64, Path)), request_body = ActionBody,
    responses((status = 200, body = JoinRequest), (status = 400, description = "A bad action, or already answered"),
        (status = 403, description = "Not an owner or admin"), (status = 404)),
    security(("bearer" = [])))]
pub async fn answer_join_request(
    State(app): State<AppState>,
    me: CurrentUser,
    Path((id, rid)): Path<(i64, i64)>,
    Json(body): Json<ActionBody>,
) -> Result<Json<JoinRequest>, ApiError> {
    Ok(Json(
        joining::answer_request(&app, &me, id, rid, body).await?,
    ))
}

#[utoipa::path(post, path = "/api/groups/{id}/invites/", summary = "Invite to a group",
    description = "Owner or admin; the invitee gets a group_invite notification.", tag = "groups", params(("id" = i64, Path)), request_body = UserIdBody,
    responses((status = 201, body = Invite), (status = 400, description = "No such user, already a member, or already invited"),
        (status = 403, description = "Not an owner or admin, or a block between you"), (status = 404)),
    security(("bearer" = [])))]
pub async fn invite_to_group(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<UserIdBody>,
) -> Result<(StatusCode, Json<Invite>), ApiError> {
    let user_id = body.validate()?;
    Ok((
        StatusCode::CREATED,
        Json(joining::invite(&app, &me, id, user_id).await?),
    ))
}

#[utoipa::path(get, path = "/api/groups/invites/", summary = "My pending invites",
    description = "The caller's invites still waiting for an answer.", tag = "groups", params(PageParams),
    responses((status = 200, body = Paginated<Invite>, description = "The caller's pending invites, newest first"), (status = 404)),
    security(("bearer" = [])))]
pub async fn my_invites(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
) -> Result<Json<Paginated<Invite>>, ApiError> {
    let (count, rows) = paginate(&app.db, store::pending_invites_of(me.id), &mut page).await?;
    Ok(Json(
        page.wrap(count, invites_view(&app, &me, &rows).await?),
    ))
}

#[utoipa::path(put, path = "/api/groups/invites/{id}/", summary = "Answer an invite",
    description = "The invitee accepts (joins) or declines.", tag = "groups", params(("id" = i64, Path)), request_body = ActionBody,
    responses((status = 200, body = Invite), (status = 400, description = "A bad action, or already answered"),
        (status = 404, description = "No such invite of yours")),
    security(("bearer" = [])))]
pub async fn answer_invite(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<ActionBody>,
) -> Result<Json<Invite>, ApiError> {
    let accept = body.validate(["accept", "decline"])?;
    Ok(Json(joining::answer_invite(&app, &me, id, accept).await?))
}
