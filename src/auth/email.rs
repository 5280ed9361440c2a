//! Handlers of /api/auth/email/ and /api/auth/password/reset/: the use cases are in
//! `users::mail`.

use axum::extract::State;
use utoipa::OpenApi;

use super::model::{Detail, EmailBody, KeyBody, ResetConfirmBody};
use crate::error::ApiError;
use crate::http::{Json, Origin};
use crate::state::AppState;
use crate::users::mail;

#[derive(OpenApi)]
#[openapi(paths(verify_email, resend_email, password_reset, password_reset_confirm))]
pub struct ApiDoc;

#[utoipa::path(post, path = "/api/auth/email/verify/", summary = "Confirm an e-mail address",
    description = "Takes the key of a verification link. A key for the account's current address marks it verified (again is a 200); an invalid, expired or stale key is a 404. Counts against AGORA_LOGIN_RATE_LIMIT_PER_ADDRESS.", tag = "auth", request_body = KeyBody,
    responses((status = 200, body = Detail), (status = 400), (status = 404, description = "Invalid, expired or stale key"), (status = 429)))]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<KeyBody>,
) -> Result<Json<Detail>, ApiError> {
    app.login_limiter.before_attempt(origin.ip).await?;
    mail::verify(&app, body.key).await?;
    Ok(Json(Detail { detail: "ok" }))
}

#[utoipa::path(post, path = "/api/auth/email/resend/", summary = "Send the verification link again",
    description = "If an active account has this address unverified, a fresh link goes there. The answer is the same whether or not one matched. 429 past AGORA_EMAIL_REQUESTS_PER_HOUR from one address.", tag = "auth", request_body = EmailBody,
    responses((status = 200, body = Detail), (status = 400), (status = 429)))]
#[tracing::instrument(skip_all)]
pub async fn resend_email(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<EmailBody>,
) -> Result<Json<Detail>, ApiError> {
    mail::resend(&app, origin, body.email).await?;
    Ok(Json(Detail { detail: "ok" }))
}

#[utoipa::path(post, path = "/api/auth/password/reset/", summary = "Ask for a password reset",
    description = "If an active account has this address (any case), a reset link goes there. The answer and its timing are the same whether or not one matched. 429 past AGORA_EMAIL_REQUESTS_PER_HOUR from one address.", tag = "auth", request_body = EmailBody,
    responses((status = 200, body = Detail), (status = 400), (status = 429)))]
#[tracing::instrument(skip_all)]
pub async fn password_reset(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<EmailBody>,
) -> Result<Json<Detail>, ApiError> {
    mail::request_reset(&app, origin, body.email).await?;
    Ok(Json(Detail {
        detail: "Password reset e-mail has been sent.",
    }))
}

#[utoipa::path(post, path = "/api/auth/password/reset/confirm/", summary = "Set a new password from a reset link",
    description = "Takes the link's uid and token and the new password. The token works once, for AGORA_PASSWORD_RESET_TIMEOUT_SECS, and dies when the password, the address or the last login changes or a newer reset is asked for. Every token of the account is revoked and its sockets close with 4401; no tokens are returned (log in again). Counts against AGORA_LOGIN_RATE_LIMIT_PER_ADDRESS.", tag = "auth", request_body = ResetConfirmBody,
    responses((status = 200, body = Detail), (status = 400, description = "{\"uid\": [\"Invalid value\"]}, {\"token\": [\"Invalid value\"]} or new_password errors"), (status = 429)))]
#[tracing::instrument(skip_all)]
pub async fn password_reset_confirm(
    State(app): State<AppState>,
    origin: Origin,
    Json(body): Json<ResetConfirmBody>,
) -> Result<Json<Detail>, ApiError> {
    app.login_limiter.before_attempt(origin.ip).await?;
    mail::confirm_reset(
        &app,
        mail::ResetConfirm {
            uid: body.uid,
            token: body.token,
            new_password: body.new_password,
        },
    )
    .await?;
    Ok(Json(Detail {
        detail: "Password has been reset with the new password.",
    }))
}
