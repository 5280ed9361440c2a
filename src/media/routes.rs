//! Handlers of /api/media/.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use utoipa::OpenApi;

use super::model::{CONTENT, LinkQuery, Media, THUMBNAIL, UploadForm};
use super::{actions, find_visible, process, serve, store};
use crate::db::entities::media;
use crate::error::ApiError;
use crate::http::{CurrentUser, Json, Path, Query};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(upload, get_media, delete_media, content, thumbnail),
    components(schemas(UploadForm))
)]
pub struct ApiDoc;

#[utoipa::path(post, path = "/api/media/", summary = "Upload a file",
    description = "multipart/form-data with a file field. The type is judged from the bytes; images are re-encoded without metadata and get a thumbnail. 413 past AGORA_MEDIA_MAX_BYTES, 415 outside the allow-list, 400 past the quota, 429 past the upload rate, 503 when the image buffer is full.", tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Media),
        (status = 400, description = "No file, an empty file, an image that cannot be decoded or is too large, or the storage quota is full"),
        (status = 413, description = "Larger than AGORA_MEDIA_MAX_BYTES; nothing is stored"),
        (status = 415, description = "A type outside the allow-list (judged from the bytes), or not multipart/form-data"),
        (status = 429, description = "Too many uploads; see Retry-After"),
        (status = 503, description = "Images being received already fill AGORA_MEDIA_BUFFER_BYTES; see Retry-After")),
    security(("bearer" = [])))]
pub async fn upload(
    State(app): State<AppState>,
    me: CurrentUser,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Media>), ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if !declared
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::UnsupportedMediaType(declared));
    }
    let form = form.map_err(|e| {
        ApiError::rejected(format!("Multipart form parse error - {}", e.body_text()))
    })?;
    let row = actions::upload(&app, &me, form).await?;
    Ok((
        StatusCode::CREATED,
        Json(Media::of(&row, &app.media_links())),
    ))
}

#[utoipa::path(get, path = "/api/media/{id}/", summary = "A media object",
    description = "Its owner, staff, and whoever sees where it is used (an avatar, a cover, a group avatar, an attached message); others 404.", tag = "media", params(("id" = i64, Path)),
    responses((status = 200, body = Media), (status = 404, description = "No such media, or none the caller may see")),
    security(("bearer" = [])))]
pub async fn get_media(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Media>, ApiError> {
    let m = find_visible(&app, &me, id).await?;
    Ok(Json(Media::of(&m, &app.media_links())))
}

#[utoipa::path(delete, path = "/api/media/{id}/", summary = "Delete a file",
    description = "The owner or staff; its uses (attachments, avatars, covers) are removed, and each message that loses it gets message_updated.", tag = "media", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted; messages that used it lose the attachment, avatars and covers are cleared"),
        (status = 403, description = "Not the owner"), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_media(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    actions::delete(&app, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The media a content request may have: by a valid signed link, or by the Bearer header and
/// the access rule. A link that was altered or expired is a 404.
async fn authorised(
    app: &AppState,
    me: Result<CurrentUser, ApiError>,
    id: i64,
    variant: &str,
    link: &LinkQuery,
) -> Result<media::Model, ApiError> {
    match (&link.expires, &link.signature) {
        (None, None) => find_visible(app, &me?, id).await,
        (Some(_), Some(_)) => {
            if link.verifies(&app.links, id, variant) {
                return store::find(&app.db, id).await?.ok_or(ApiError::NotFound);
            }
            // A deleted file an open report holds, through a staff snapshot's link.
            if link.verifies(&app.links, id, &format!("held-{variant}")) {
                return super::hold::find(&app.db, id)
                    .await?
                    .ok_or(ApiError::NotFound);
            }
            Err(ApiError::NotFound)
        }
        _ => Err(ApiError::NotFound),
    }
}

#[utoipa::path(get, path = "/api/media/{id}/content/", summary = "The file",
    description = "Through its signed link (expires and signature), or with the Bearer header and the right to see it. One Range is answered with 206.", tag = "media", params(("id" = i64, Path), LinkQuery),
    responses((status = 200, description = "The bytes, with their stored type", content(("application/octet-stream"), ("image/jpeg"), ("image/png"), ("image/gif"), ("image/webp"), ("application/pdf"), ("text/plain"), ("video/mp4"), ("audio/mpeg"), ("application/zip"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"), ("image/jpeg"), ("image/png"), ("image/gif"), ("image/webp"), ("application/pdf"), ("text/plain"), ("video/mp4"), ("audio/mpeg"), ("application/zip"))),
        (status = 401, description = "Neither a signed link nor a Bearer token"),
        (status = 404, description = "No such media, none the caller may see, or a tampered or expired link"),
        (status = 416, description = "A range past the end")),
    security((), ("bearer" = [])))]
pub async fn content(
    State(app): State<AppState>,
    me: Result<CurrentUser, ApiError>,
    Path(id): Path<i64>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let m = authorised(&app, me, id, CONTENT, &link).await?;
    let inline = process::is_image(&m.content_type);
    serve::send(
        &app.media,
        &m.storage_key,
        &m.content_type,
        &m.filename,
        inline,
        &headers,
    )
    .await
}

#[utoipa::path(get, path = "/api/media/{id}/thumbnail/", summary = "The thumbnail",
    description = "As the content: a signed link or the Bearer header.", tag = "media", params(("id" = i64, Path), LinkQuery),
    responses((status = 200, description = "A JPEG or PNG at most 320 px on its longer side", content(("image/jpeg"), ("image/png"))),
        (status = 206, description = "The requested range", content(("image/jpeg"), ("image/png"))),
        (status = 401, description = "Neither a signed link nor a Bearer token"),
        (status = 404, description = "Not an image, no such media, none the caller may see, or a tampered or expired link")),
    security((), ("bearer" = [])))]
pub async fn thumbnail(
    State(app): State<AppState>,
    me: Result<CurrentUser, ApiError>,
    Path(id): Path<i64>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let m = authorised(&app, me, id, THUMBNAIL, &link).await?;
    let key = m.thumbnail_key.as_deref().ok_or(ApiError::NotFound)?;
    let kind = if m.content_type == "image/jpeg" {
        "image/jpeg"
    } else {
        "image/png"
    };
    serve::send(&app.media, key, kind, &m.filename, true, &headers).await
}
