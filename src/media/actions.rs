//! Uploading and deleting media.

use std::sync::Arc;

use axum::extract::Multipart;
use axum::extract::multipart::Field;

use super::process::{self, ImageError, SNIFF_BYTES};
use super::store::{self, NewMedia};
use crate::db::entities::{media, user};
use crate::error::ApiError;
use crate::events::Event;
use crate::http::CurrentUser;
use crate::http::multipart_error;
use crate::state::AppState;

/// The longest file name kept.
const MAX_FILENAME_CHARS: usize = 255;

/// The client's file name without directories or control characters, at most 255 characters.
pub fn clean_filename(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "upload".to_owned()
    } else {
        name.to_owned()
    }
}

fn random_key(owner: i64) -> String {
    format!("{owner}/{:032x}", rand::random::<u128>())
}

/// An image's bytes as they arrive, charged against the instance's buffer budget: many slow
/// uploads cannot together hold more than it, whatever each one's size.
struct Buffered {
    bytes: Vec<u8>,
    budget: Arc<tokio::sync::Semaphore>,
    charged: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Buffered {
    fn new(head: Vec<u8>, budget: Arc<tokio::sync::Semaphore>) -> Result<Self, ApiError> {
        let mut b = Self {
            bytes: Vec::new(),
            budget,
            charged: None,
        };
        b.push(&head)?;
        Ok(b)
    }

    /// Appends `chunk`, or a 503 when the budget has no room for it now.
    fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        let need = ((self.bytes.len() + chunk.len()) as u64).div_ceil(1024);
        let have = self.charged.as_ref().map_or(0, |p| p.num_permits() as u64);
        if need > have {
            let more = u32::try_from(need - have).map_err(|_| ApiError::TooLarge)?;
            let permit = self
                .budget
                .clone()
                .try_acquire_many_owned(more)
                .map_err(|_| {
                    metrics::counter!("agora_media_buffer_full_total").increment(1);
                    ApiError::Unavailable(5)
                })?;
            match &mut self.charged {
                Some(p) => p.merge(permit),
                None => self.charged = Some(permit),
            }
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }
}

fn quota_full() -> ApiError {
    ApiError::rejected("Your media storage quota is full: delete some files first.")
}

/// Reads the `file` field into the store, judged by its bytes. Over the size limit: 413 and
/// nothing stored; a type not allowed: 415.
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn upload(
    app: &AppState,
    me: &CurrentUser,
    mut form: Multipart,
) -> Result<media::Model, ApiError> {
    app.upload_limiter.check(me.id)?;
    let quota = app.settings.media.quota_bytes;
    let used = store::bytes_used(&app.db, me.id).await?;
    if quota > 0 && used >= quota {
        return Err(quota_full());
    }
    loop {
        let Some(field) = form.next_field().await.map_err(|e| multipart_error(&e))? else {
            return Err(ApiError::field("file", "No file was submitted."));
        };
        if field.name() == Some("file") {
            let stored = receive(app, me, field).await?;
            let (key, thumb) = (stored.storage_key.clone(), stored.thumbnail_key.clone());
            return match commit(app, me.id, stored).await {
                Ok(row) => Ok(row),
                Err(e) => {
                    discard(app, &key, thumb.as_deref()).await;
                    Err(e)
                }
            };
        }
        // Another field: read past it (its bytes count against the body limit).
        let mut other = field;
        while other
            .chunk()
            .await
            .map_err(|e| multipart_error(&e))?
            .is_some()
        {}
    }
}

/// Records a received file, checking the quota again under the owner's row lock in the same
/// transaction: uploads racing each other commit one after another, each counting the others.
async fn commit(app: &AppState, owner: i64, stored: NewMedia) -> Result<media::Model, ApiError> {
    let quota = app.settings.media.quota_bytes;
    let txn = crate::db::begin_write(&app.db).await?;
    if quota > 0 {
        crate::db::lock_row::<user::Entity>(&txn, user::Column::Id, owner).await?;
        let used = store::bytes_used(&txn, owner).await?;
        if used.saturating_add(stored.size) > quota {
            return Err(quota_full());
        }
    }
    let row = store::insert(&txn, stored, crate::db::now()).await?;
    txn.commit().await?;
    Ok(row)
}

pub(super) async fn discard(app: &AppState, key: &str, thumb: Option<&str>) {
    for k in std::iter::once(key).chain(thumb) {
        if let Err(e) = app.media.delete(k).await {
            tracing::warn!(error = %e, key = k, "could not delete stored media");
        }
    }
}

fn store_error(e: object_store::Error) -> ApiError {
    ApiError::Internal(format!("media store: {e}"))
}

async fn receive(
    app: &AppState,
    me: &CurrentUser,
    mut field: Field<'_>,
) -> Result<NewMedia, ApiError> {
    let max = app.settings.media.max_bytes;
    let filename = clean_filename(field.file_name());
    let declared = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_owned();
    // The first bytes decide the type.
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match field.chunk().await.map_err(|e| multipart_error(&e))? {
            Some(c) => head.extend_from_slice(&c),
            None => {
                ended = true;
                break;
            }
        }
        if head.len() as u64 > max {
            return Err(ApiError::TooLarge);
        }
    }
    if head.is_empty() {
        return Err(ApiError::field("file", "The submitted file is empty."));
    }
    let sniffed = &head[..head.len().min(SNIFF_BYTES)];
    let content_type = process::sniff(sniffed, ended && sniffed.len() == head.len())
        .ok_or(ApiError::UnsupportedMediaType(declared))?;
    let key = random_key(me.id);
    let mut new = NewMedia {
        owner_id: me.id,
        filename,
        content_type: content_type.to_owned(),
        size: 0,
        width: None,
        height: None,
        storage_key: key.clone(),
        thumbnail_key: None,
    };
    if process::is_image(content_type) {
        let mut buffered = Buffered::new(head, app.media_buffer_kib.clone())?;
        while let Some(c) = field.chunk().await.map_err(|e| multipart_error(&e))? {
            if (buffered.bytes.len() + c.len()) as u64 > max {
                return Err(ApiError::TooLarge);
            }
            buffered.push(&c)?;
        }
        // Charged until the re-encoded image is stored.
        let (bytes, _charged) = (std::mem::take(&mut buffered.bytes), buffered.charged.take());
        let max_pixels = app.settings.media.max_pixels;
        let span = tracing::Span::current();
        // A decoded image can take hundreds of MB (a small PNG may hold 50 megapixels): at most
        // one per core is decoded at a time, the others wait their turn.
        let slot = app
            .image_decoding
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable(1))?;
        let processed = tokio::task::spawn_blocking(move || {
            span.in_scope(|| process::process_image(&bytes, content_type, max_pixels))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("image task: {e}")))?
        .map_err(|e: ImageError| ApiError::field("file", e.to_string()))?;
        // The decoded image is gone; storing the result needs no slot.
        drop(slot);
        let thumb_key = format!("{key}.thumb");
        new.size = processed.bytes.len() as u64;
        new.width = Some(processed.width);
        new.height = Some(processed.height);
        app.media
            .put(&key, processed.bytes)
            .await
            .map_err(store_error)?;
        if let Err(e) = app.media.put(&thumb_key, processed.thumbnail).await {
            discard(app, &key, None).await;
            return Err(store_error(e));
        }
        new.thumbnail_key = Some(thumb_key);
        return Ok(new);
    }
    let mut upload = app.media.upload(&key).await.map_err(store_error)?;
    let mut size = head.len() as u64;
    upload.write(&head).await.map_err(store_error)?;
    loop {
        match field.chunk().await {
            Err(e) => {
                upload.abort().await;
                return Err(multipart_error(&e));
            }
            Ok(None) => break,
            Ok(Some(c)) => {
                size += c.len() as u64;
                if size > max {
                    upload.abort().await;
                    return Err(ApiError::TooLarge);
                }
                if let Err(e) = upload.write(&c).await {
                    upload.abort().await;
                    return Err(store_error(e));
                }
            }
        }
    }
    if let Err(e) = upload.finish().await {
        discard(app, &key, None).await;
        return Err(store_error(e));
    }
    new.size = size;
    Ok(new)
}

/// Deletes media (the owner, or staff): its row, its uses (attachments, avatars, covers), then
/// its bytes.
#[tracing::instrument(skip_all, fields(user_id = me.id, media_id = id))]
pub async fn delete(app: &AppState, me: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let m = super::find_visible(app, me, id).await?;
    if m.owner_id != me.id && !me.is_staff {
        return Err(ApiError::Forbidden);
    }
    remove(app, &m).await
}

/// Deletes media `m` (the caller has decided it may go): its row, its uses, then its bytes.
pub async fn remove(app: &AppState, m: &media::Model) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    let deleted = store::delete(&txn, m.id).await?;
    // An open report about it keeps the bytes (and the row, aside) for staff.
    let held = super::hold::keep_if_held(&txn, m).await?;
    txn.commit().await?;
    for user_id in deleted.users {
        app.user_changed(user_id).await;
    }
    app.events
        .publish(
            app,
            Event::MediaDeleted {
                media_id: m.id,
                messages: deleted.messages,
            },
        )
        .await;
    if !held {
        discard(app, &m.storage_key, m.thumbnail_key.as_deref()).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_filename(Some("C:\\photos\\me.jpg")), "me.jpg");
        assert_eq!(clean_filename(Some("a\0b\r\nc.txt")), "abc.txt");
        assert_eq!(clean_filename(Some("..")), "upload");
        assert_eq!(clean_filename(None), "upload");
        assert_eq!(clean_filename(Some(&"x".repeat(300))).chars().count(), 255);
    }
}
