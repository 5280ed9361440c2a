//! Media: uploads judged by their bytes, images re-encoded without metadata with a thumbnail,
//! bytes in the media store (local disk or S3), signed links, and the rule of who may see a
//! file: its owner, staff, and whoever can see a profile, group or message that uses it.
//! Features that use media (users, groups, chat) call `owned` to check what they are given and
//! `Media::of` to show it.

pub mod actions;
pub mod attachments;
pub mod hold;
pub mod model;
pub mod process;
mod routes;
pub mod serve;
pub mod store;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::db::entities::media;
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::social::{Relations, Viewer};
use crate::state::AppState;

pub use model::Media;
pub use routes::ApiDoc;

/// The upload route, apart: it alone takes bodies past the JSON limit (the file, plus room for
/// the multipart framing; the file's own limit is checked while it streams in), and it has no
/// deadline for the whole request, only for a pause in its body (`http::body_idle_timeout`),
/// so a large file on a slow link is not cut off.
pub fn upload_router(state: &AppState) -> Router<AppState> {
    let upload_limit = usize::try_from(state.settings.media.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new().route(
        "/api/media",
        post(routes::upload)
            .layer(DefaultBodyLimit::max(upload_limit))
            .layer(axum::middleware::from_fn_with_state(
                state.settings.request_timeout,
                crate::http::body_idle_timeout,
            )),
    )
}

/// The other media routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/media/{id}",
            get(routes::get_media).delete(routes::delete_media),
        )
        .route("/api/media/{id}/content", get(routes::content))
        .route("/api/media/{id}/thumbnail", get(routes::thumbnail))
}

/// Whether `viewer` may see `m`: the owner, staff, anyone when it is someone's avatar, whoever
/// sees the profile it is the cover of, the group it is the avatar of, or a message it is
/// attached to, or a post (or a comment of one) they may see.
pub async fn visible(app: &AppState, me: &CurrentUser, m: &media::Model) -> Result<bool, ApiError> {
    if m.owner_id == me.id || me.is_staff {
        return Ok(true);
    }
    if !store::users_showing(&app.db, m.id, false).await?.is_empty() {
        return Ok(true);
    }
    let covers = store::users_showing(&app.db, m.id, true).await?;
    if !covers.is_empty() {
        let refs: Vec<&crate::db::entities::user::Model> = covers.iter().collect();
        let rel = Relations::load(app, Viewer::from(me), &refs).await?;
        if covers.iter().any(|u| rel.profile_visible(u)) {
            return Ok(true);
        }
    }
    for g in store::groups_showing(&app.db, m.id).await? {
        if crate::social::group_visible(&app.db, &g, me.id).await? {
            return Ok(true);
        }
    }
    for p in store::posts_showing(&app.db, m.id).await? {
        if crate::social::posts::post_access(app, me.into(), &p).await?
            != crate::social::posts::Access::Hidden
        {
            return Ok(true);
        }
    }
    Ok(store::attached_where_member(&app.db, m.id, me.id).await?)
}

/// The media `me` may see, or a 404.
pub async fn find_visible(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
) -> Result<media::Model, ApiError> {
    let m = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    if visible(app, me, &m).await? {
        Ok(m)
    } else {
        Err(ApiError::NotFound)
    }
}

/// What a use of media requires of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Any type (a message attachment).
    Any,
    /// An image (avatar, cover).
    Image,
}

/// The media of `ids`, each owned by `owner` (and an image, for `Use::Image`), in the order
/// given; otherwise the message of the field error.
pub async fn owned(
    app: &AppState,
    owner: i64,
    ids: &[i64],
    use_: Use,
) -> Result<Result<Vec<media::Model>, String>, ApiError> {
    let rows = store::by_ids(&app.db, ids).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match rows.iter().find(|m| m.id == *id && m.owner_id == owner) {
            None => {
                return Ok(Err(format!("Invalid pk \"{id}\" - object does not exist.")));
            }
            Some(m) if use_ == Use::Image && !process::is_image(&m.content_type) => {
                return Ok(Err(format!("Media {id} is not an image.")));
            }
            Some(m) => out.push(m.clone()),
        }
    }
    Ok(Ok(out))
}
