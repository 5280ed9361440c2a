//! Push notifications to devices that are offline (Web Push): the VAPID key served, each
//! browser's or device's subscription kept per endpoint and per login, and every notification
//! and chat message that should reach one pushed through the job queue after its commit
//! (`deliver`), encrypted and signed (`send`) for push services the operator allows (`policy`).

pub mod deliver;
pub mod model;
mod policy;
pub mod send;
pub mod store;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use utoipa::OpenApi;

use crate::db::paginate;
use crate::error::{ApiError, FieldErrors};
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path};
use crate::state::AppState;
use model::{AlertsBody, PushSubscription, SubscribeBody, VapidKey};

pub use policy::{NOT_ALLOWED, Policy, is_public};

#[derive(OpenApi)]
#[openapi(paths(vapid_key, subscribe, list, update, unsubscribe))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/push", get(vapid_key))
        .route("/api/push/subscriptions", get(list).post(subscribe))
        .route(
            "/api/push/subscriptions/{id}",
            axum::routing::patch(update).delete(unsubscribe),
        )
}

#[utoipa::path(get, path = "/api/push/", operation_id = "push_key", summary = "The VAPID public key",
    description = "The server's VAPID public key, the uncompressed P-256 point in URL-safe base64 unpadded, as `PushManager.subscribe({applicationServerKey})` takes it. No authentication.", tag = "push",
    responses((status = 200, body = VapidKey)))]
pub async fn vapid_key(State(app): State<AppState>) -> Result<Json<VapidKey>, ApiError> {
    let vapid = send::Vapid::new(&app.settings.push, &app.settings.accounts.email_from)
        .map_err(ApiError::Internal)?;
    Ok(Json(VapidKey {
        vapid_public_key: vapid.public_key,
    }))
}

/// The endpoint's policy: an allowed service, and a name that resolves to no address of this
/// machine or its network unless listed (a name that does not resolve now is checked at each
/// send).
async fn allowed(app: &AppState, endpoint: &str) -> Result<(), ApiError> {
    let policy = Policy::new(&app.settings.push.allowlist);
    let url = policy
        .check(endpoint)
        .map_err(|e| ApiError::field("endpoint", e))?;
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
            let addrs: Vec<_> = addrs.collect();
            if !addrs.is_empty() && policy.reachable(host, addrs.clone()).len() < addrs.len() {
                return Err(ApiError::field("endpoint", NOT_ALLOWED));
            }
        }
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/push/subscriptions/", operation_id = "push_subscribe", summary = "Subscribe this browser or device",
    description = "`PushSubscription.toJSON()` may be posted as is, with optional `alerts`. One subscription per endpoint: posting a known one updates its keys and alerts (200) and moves it to the caller. At most 20 per user; one more removes the oldest. It belongs to this login: logout, a password change or reset, suspension and deletion remove it. The endpoint must be an https URL of a push service AGORA_PUSH_ENDPOINT_ALLOWLIST admits (400 otherwise).", tag = "push", request_body = SubscribeBody,
    responses((status = 201, body = PushSubscription), (status = 200, body = PushSubscription, description = "Already subscribed: updated"),
        (status = 400, description = "Field errors, nested for `keys`"), (status = 401)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn subscribe(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<SubscribeBody>,
) -> Result<(StatusCode, Json<PushSubscription>), ApiError> {
    let new = body.validate().map_err(ApiError::Fields)?;
    allowed(&app, &new.endpoint).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    // One user's subscriptions change one at a time (the cap of 20).
    crate::db::lock_row::<crate::db::entities::user::Entity>(
        &txn,
        crate::db::entities::user::Column::Id,
        me.id,
    )
    .await?;
    // A login that has ended (logged out) cannot subscribe with its remaining access token.
    if let Some(login) = &me.login
        && !crate::security::sessions::login_alive(&txn, login).await?
    {
        return Err(ApiError::token_not_valid());
    }
    let (row, created) = store::upsert(&txn, me.id, me.login.as_deref(), new).await?;
    txn.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(model::view(&row))))
}

#[utoipa::path(get, path = "/api/push/subscriptions/", operation_id = "push_subscriptions", summary = "My push subscriptions",
    description = "The caller's subscriptions, oldest first; keys are never returned.", tag = "push", params(PageParams),
    responses((status = 200, body = Paginated<PushSubscription>), (status = 401), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
) -> Result<Json<Paginated<PushSubscription>>, ApiError> {
    let (count, rows) = paginate(&app.db, store::of_user(me.id), &mut page).await?;
    Ok(Json(
        page.wrap(count, rows.iter().map(model::view).collect()),
    ))
}

#[utoipa::path(patch, path = "/api/push/subscriptions/{id}/", operation_id = "push_alerts", summary = "Change a subscription's alerts",
    description = "The types given change; the others keep their setting. Unknown types: 400. Someone else's subscription: 404.", tag = "push",
    params(("id" = i64, Path)), request_body = AlertsBody,
    responses((status = 200, body = PushSubscription), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<AlertsBody>,
) -> Result<Json<PushSubscription>, ApiError> {
    let row = store::find_own(&app.db, me.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let Some(alerts) = body.alerts else {
        return Err(ApiError::field("alerts", crate::error::REQUIRED));
    };
    if let Err(e) = model::check_alerts(&alerts) {
        return Err(ApiError::Fields(FieldErrors::single("alerts", e)));
    }
    let row = store::set_alerts(&app.db, row, alerts).await?;
    Ok(Json(model::view(&row)))
}

#[utoipa::path(delete, path = "/api/push/subscriptions/{id}/", operation_id = "push_unsubscribe", summary = "Unsubscribe",
    description = "Someone else's subscription: 404.", tag = "push", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn unsubscribe(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if store::delete(&app.db, id, Some(me.id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
