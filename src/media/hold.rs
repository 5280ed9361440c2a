//! Files held by open reports: a report holds the files it is about, so one its owner deletes
//! (the row and its uses go as ever) keeps its bytes, and a copy of its row, for staff to see
//! through the report until the report is resolved; then the bytes go too. Moderation holds and
//! releases; nothing else sees a held file (its links are signed apart, `MediaLinks::held_url`).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::model::{CONTENT, Media, THUMBNAIL};
use crate::db::entities::{held_media, media, media_hold};
use crate::error::ApiError;
use crate::state::{AppState, MediaLinks};

/// `report_id` holds `media_ids`, in the report's transaction.
pub async fn hold(
    txn: &impl ConnectionTrait,
    report_id: i64,
    media_ids: &[i64],
) -> Result<(), DbErr> {
    if media_ids.is_empty() {
        return Ok(());
    }
    media_hold::Entity::insert_many(media_ids.iter().map(|&media_id| media_hold::ActiveModel {
        media_id: Set(media_id),
        report_id: Set(report_id),
    }))
    .on_conflict(
        OnConflict::columns([media_hold::Column::MediaId, media_hold::Column::ReportId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Called as `m` is deleted, in that transaction: when a report holds it, its row is kept
/// aside and true is returned (its bytes must stay).
pub async fn keep_if_held(txn: &impl ConnectionTrait, m: &media::Model) -> Result<bool, DbErr> {
    let held = media_hold::Entity::find()
        .filter(media_hold::Column::MediaId.eq(m.id))
        .one(txn)
        .await?
        .is_some();
    if held {
        held_media::Entity::insert(held_media::ActiveModel {
            id: Set(m.id),
            owner_id: Set(m.owner_id),
            filename: Set(m.filename.clone()),
            content_type: Set(m.content_type.clone()),
            size: Set(m.size),
            width: Set(m.width),
            height: Set(m.height),
            storage_key: Set(m.storage_key.clone()),
            thumbnail_key: Set(m.thumbnail_key.clone()),
            created_at: Set(m.created_at),
        })
        .on_conflict(
            OnConflict::column(held_media::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(held)
}

fn as_media(h: held_media::Model) -> media::Model {
    media::Model {
        id: h.id,
        owner_id: h.owner_id,
        filename: h.filename,
        content_type: h.content_type,
        size: h.size,
        width: h.width,
        height: h.height,
        storage_key: h.storage_key,
        thumbnail_key: h.thumbnail_key,
        created_at: h.created_at,
    }
}

/// A deleted file still held, as its row was.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<media::Model>, DbErr> {
    Ok(held_media::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(as_media))
}

/// The deleted files among `ids` that are still held, as staff see them.
pub async fn views(
    db: &impl ConnectionTrait,
    ids: &[i64],
    links: &MediaLinks,
) -> Result<Vec<Media>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = held_media::Entity::find()
        .filter(held_media::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|h| {
            let m = as_media(h);
            let mut view = Media::of(&m, links);
            view.url = links.held_url(m.id, CONTENT);
            view.thumbnail_url = m
                .thumbnail_key
                .as_ref()
                .map(|_| links.held_url(m.id, THUMBNAIL));
            view
        })
        .collect())
}

/// The reports `report_ids` are resolved: their holds end, and the bytes of deleted files no
/// other open report holds leave storage.
pub async fn release(app: &AppState, report_ids: &[i64]) -> Result<(), ApiError> {
    if report_ids.is_empty() {
        return Ok(());
    }
    let txn = crate::db::begin_write(&app.db).await?;
    let media_ids: Vec<i64> = media_hold::Entity::find()
        .filter(media_hold::Column::ReportId.is_in(report_ids.to_vec()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|h| h.media_id)
        .collect();
    media_hold::Entity::delete_many()
        .filter(media_hold::Column::ReportId.is_in(report_ids.to_vec()))
        .exec(&txn)
        .await?;
    let still: Vec<i64> = media_hold::Entity::find()
        .filter(media_hold::Column::MediaId.is_in(media_ids.clone()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|h| h.media_id)
        .collect();
    let free: Vec<i64> = media_ids
        .into_iter()
        .filter(|id| !still.contains(id))
        .collect();
    let gone = held_media::Entity::find()
        .filter(held_media::Column::Id.is_in(free.clone()))
        .all(&txn)
        .await?;
    held_media::Entity::delete_many()
        .filter(held_media::Column::Id.is_in(free))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    for h in gone {
        super::actions::discard(app, &h.storage_key, h.thumbnail_key.as_deref()).await;
    }
    Ok(())
}
