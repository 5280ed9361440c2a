//! The `export` job: the user's data as the API shows it to them, file by file into a ZIP on
//! local disk (lists written a batch at a time, never whole in memory), then to storage, then
//! an `export_ready` notification. The last failed try marks it `failed` with a `system`
//! notification (which does not count toward the limit).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use super::archive::Archive;
use super::shape::{List, media_entry, to_value};
use crate::db::entities::{
    chat_member, chat_message, chat_room, comment, data_export, friend_request, friendship, group,
    media, notification, post, reaction, user_block,
};
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::jobs::{Job, JobError};
use crate::notifications::model::{EXPORT_READY, SYSTEM};
use crate::social::Viewer;
use crate::social::briefs::Briefs;
use crate::state::AppState;
use crate::{chat, friends, groups, notifications, posts, social, users};

/// Rows read per query.
const BATCH: u64 = 200;

fn set_status(id: i64, status: &str) -> sea_orm::UpdateMany<data_export::Entity> {
    data_export::Entity::update_many()
        .col_expr(data_export::Column::Status, Expr::value(status))
        .filter(data_export::Column::Id.eq(id))
}

/// Stores `update` with the time it finished and tells the owner with a `kind` notification.
async fn settle(
    app: &AppState,
    user_id: i64,
    export_id: i64,
    update: sea_orm::UpdateMany<data_export::Entity>,
    kind: &str,
    text: &str,
) -> Result<(), sea_orm::DbErr> {
    update
        .col_expr(
            data_export::Column::FinishedAt,
            Expr::value(crate::db::now()),
        )
        .exec(&app.db)
        .await?;
    let data = json!({"export_id": export_id});
    if let Err(e) = notifications::notify(app, user_id, None, kind, text.into(), data).await {
        tracing::warn!(error = %e, kind, "export notification not sent");
    }
    Ok(())
}

/// Builds export `export_id` (the job `job`'s).
pub async fn run(app: &AppState, job: &Job, export_id: i64) -> Result<(), JobError> {
    let Some(row) = data_export::Entity::find_by_id(export_id)
        .one(&app.db)
        .await?
    else {
        return Ok(());
    };
    // Cancelled (the account was deleted) or settled by an earlier try.
    if !matches!(row.status.as_str(), "pending" | "running") {
        return Ok(());
    }
    let Some(u) = users::store::find_active(&app.db, row.user_id).await? else {
        set_status(export_id, "failed").exec(&app.db).await?;
        return Ok(());
    };
    set_status(export_id, "running").exec(&app.db).await?;
    let me = CurrentUser::of(u);
    let key = format!(
        "exports/{}/{export_id}-{:016x}.zip",
        me.id,
        rand::random::<u64>()
    );
    let path = app.settings.data_dir.join("tmp").join(format!(
        "export-{export_id}-{:016x}.zip",
        rand::random::<u64>()
    ));
    let built = async {
        let mut zip = Archive::create(path).await?;
        match write_all(app, &me, &mut zip).await {
            Ok(()) => zip.store(&app.media, &key).await,
            Err(e) => {
                zip.discard().await;
                Err(e)
            }
        }
    }
    .await;
    match built {
        Ok(size) => {
            let ready = set_status(export_id, "ready")
                .col_expr(data_export::Column::FileKey, Expr::value(key))
                .col_expr(
                    data_export::Column::Size,
                    Expr::value(i64::try_from(size).unwrap_or(i64::MAX)),
                );
            let text = "Your data export is ready to download.";
            settle(app, me.id, export_id, ready, EXPORT_READY, text).await?;
            Ok(())
        }
        Err(e) if job.attempts >= job.max_attempts => {
            let text = "Your data export failed; you may ask for another.";
            settle(
                app,
                me.id,
                export_id,
                set_status(export_id, "failed"),
                SYSTEM,
                text,
            )
            .await?;
            Err(JobError::Fail(e))
        }
        Err(e) => Err(JobError::Retry(e)),
    }
}

fn api(e: ApiError) -> String {
    e.to_string()
}

fn db(e: sea_orm::DbErr) -> String {
    e.to_string()
}

/// The next `BATCH` rows of `select` past `*after` in `id` order (the column `key` reads),
/// moving `*after` on; empty at the end.
async fn next_batch<E: EntityTrait>(
    app: &AppState,
    select: &sea_orm::Select<E>,
    id: E::Column,
    after: &mut i64,
    key: fn(&E::Model) -> i64,
) -> Result<Vec<E::Model>, String>
where
    E::Model: Sync,
{
    let rows = select
        .clone()
        .filter(id.gt(*after))
        .order_by_asc(id)
        .limit(BATCH)
        .all(&app.db)
        .await
        .map_err(db)?;
    if let Some(last) = rows.last() {
        *after = key(last);
    }
    Ok(rows)
}

async fn write_all(app: &AppState, me: &CurrentUser, zip: &mut Archive) -> Result<(), String> {
    let viewer: Viewer = me.into();
    let profile = users::view(app, me, &me.user).await.map_err(api)?;
    zip.start("profile.json".into(), true).await?;
    zip.write(serde_json::to_vec_pretty(&to_value(&profile)?).map_err(|e| e.to_string())?)
        .await?;
    settings(app, me, zip).await?;

    let mut list = List::open(zip, "friends.json").await?;
    let q = friendship::Entity::find().filter(friendship::Column::UserId.eq(me.id));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, friendship::Column::FriendId, &mut after, |f| {
            f.friend_id
        })
        .await?;
        if rows.is_empty() {
            break;
        }
        let briefs = Briefs::load(app, viewer, rows.iter().map(|f| f.friend_id))
            .await
            .map_err(api)?;
        let items: Vec<_> = rows
            .iter()
            .map(|f| json!({"user": briefs.of(f.friend_id), "since": f.created_at}))
            .collect();
        list.push_all(&items).await?;
    }
    list.close().await?;

    let mut list = List::open(zip, "friend_requests.json").await?;
    let q = friend_request::Entity::find().filter(
        Condition::any()
            .add(friend_request::Column::SenderId.eq(me.id))
            .add(friend_request::Column::ReceiverId.eq(me.id)),
    );
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, friend_request::Column::Id, &mut after, |r| r.id).await?;
        if rows.is_empty() {
            break;
        }
        list.push_all(&friends::views(app, viewer, &rows).await.map_err(api)?)
            .await?;
    }
    list.close().await?;

    let blocks = user_block::Entity::find()
        .filter(user_block::Column::BlockerId.eq(me.id))
        .order_by_asc(user_block::Column::CreatedAt)
        .all(&app.db)
        .await
        .map_err(db)?;
    let briefs = Briefs::load(app, viewer, blocks.iter().map(|b| b.blocked_id))
        .await
        .map_err(api)?;
    let mut list = List::open(zip, "blocks.json").await?;
    let items: Vec<_> = blocks
        .iter()
        .map(|b| json!({"user": briefs.of(b.blocked_id), "created_at": b.created_at}))
        .collect();
    list.push_all(&items).await?;
    list.close().await?;

    let mut list = List::open(zip, "posts.json").await?;
    let q = post::Entity::find().filter(post::Column::AuthorId.eq(me.id));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, post::Column::Id, &mut after, |p| p.id).await?;
        if rows.is_empty() {
            break;
        }
        list.push_all(&posts::posts_view(app, viewer, &rows).await.map_err(api)?)
            .await?;
    }
    list.close().await?;

    let mut list = List::open(zip, "comments.json").await?;
    let q = comment::Entity::find()
        .filter(comment::Column::AuthorId.eq(me.id))
        .filter(comment::Column::Deleted.eq(false));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, comment::Column::Id, &mut after, |c| c.id).await?;
        if rows.is_empty() {
            break;
        }
        list.push_all(
            &posts::comments_view(app, viewer, &rows)
                .await
                .map_err(api)?,
        )
        .await?;
    }
    list.close().await?;

    let mut list = List::open(zip, "reactions.json").await?;
    let q = reaction::Entity::find().filter(reaction::Column::UserId.eq(me.id));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, reaction::Column::Id, &mut after, |r| r.id).await?;
        if rows.is_empty() {
            break;
        }
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"target": {"type": r.kind, "id": r.target_id}, "emoji": r.emoji,
                    "created_at": r.created_at})
            })
            .collect();
        list.push_all(&items).await?;
    }
    list.close().await?;

    messages(app, me, zip).await?;
    groups_file(app, me, zip).await?;

    let mut list = List::open(zip, "notifications.json").await?;
    let q = notification::Entity::find().filter(notification::Column::RecipientId.eq(me.id));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, notification::Column::Id, &mut after, |n| n.id).await?;
        if rows.is_empty() {
            break;
        }
        list.push_all(
            &notifications::views(app, viewer, &rows)
                .await
                .map_err(api)?,
        )
        .await?;
    }
    list.close().await?;

    // No reports can be filed yet: the file is there, empty, so its shape is stable.
    List::open(zip, "reports.json").await?.close().await?;
    media_files(app, me, zip).await
}

async fn settings(app: &AppState, me: &CurrentUser, zip: &mut Archive) -> Result<(), String> {
    let stored = notifications::store::settings(&app.db, me.id)
        .await
        .map_err(db)?;
    let mutes = chat_member::Entity::find()
        .filter(chat_member::Column::UserId.eq(me.id))
        .filter(chat_member::Column::MutedUntil.is_not_null())
        .all(&app.db)
        .await
        .map_err(db)?;
    let subs = crate::push::store::of_users(&app.db, &[me.id])
        .await
        .map_err(db)?;
    let value = json!({
        "notifications": notifications::settings_view(&stored),
        "room_mutes": mutes.iter().map(|m| json!({"room": m.room_id, "muted_until": m.muted_until}))
            .collect::<Vec<_>>(),
        "push_subscriptions": subs.iter().map(|s| {
            let v = crate::push::model::view(s);
            json!({"endpoint": v.endpoint, "alerts": v.alerts, "created_at": v.created_at})
        }).collect::<Vec<_>>(),
    });
    zip.start("settings.json".into(), true).await?;
    zip.write(serde_json::to_vec_pretty(&value).map_err(|e| e.to_string())?)
        .await
}

/// `[{"room": {"id", "type", "name"}, "messages": [...]}]`, a room at a time.
async fn messages(app: &AppState, me: &CurrentUser, zip: &mut Archive) -> Result<(), String> {
    let rooms: Vec<i64> = chat_message::Entity::find()
        .select_only()
        .column(chat_message::Column::RoomId)
        .distinct()
        .filter(chat_message::Column::SenderId.eq(me.id))
        .filter(chat_message::Column::Deleted.eq(false))
        .into_tuple()
        .all(&app.db)
        .await
        .map_err(db)?;
    zip.start("messages.json".into(), true).await?;
    zip.write(b"[".to_vec()).await?;
    for (i, room_id) in rooms.iter().enumerate() {
        let Some(room) = chat_room::Entity::find_by_id(*room_id)
            .one(&app.db)
            .await
            .map_err(db)?
        else {
            continue;
        };
        let head = json!({"id": room.id, "type": room.kind, "name": room.name});
        let sep = if i == 0 { "\n" } else { ",\n" };
        zip.write(format!("{sep}{{\"room\": {head}, \"messages\": [").into_bytes())
            .await?;
        let mut list = List {
            zip: &mut *zip,
            first: true,
        };
        let q = chat_message::Entity::find()
            .filter(chat_message::Column::RoomId.eq(room.id))
            .filter(chat_message::Column::SenderId.eq(me.id))
            .filter(chat_message::Column::Deleted.eq(false));
        let mut after = 0;
        loop {
            let rows = next_batch(app, &q, chat_message::Column::Id, &mut after, |m| m.id).await?;
            if rows.is_empty() {
                break;
            }
            list.push_all(&chat::messages_view(app, me, &rows).await.map_err(api)?)
                .await?;
        }
        zip.write(b"]}".to_vec()).await?;
    }
    zip.write(b"\n]\n".to_vec()).await
}

/// `[{"group": Group, "role", "joined_at"}]`.
async fn groups_file(app: &AppState, me: &CurrentUser, zip: &mut Archive) -> Result<(), String> {
    let ids = social::posts::group_ids_of(&app.db, me.id)
        .await
        .map_err(db)?;
    let mut list = List::open(zip, "groups.json").await?;
    for chunk in ids.chunks(100) {
        let rows = group::Entity::find()
            .filter(group::Column::Id.is_in(chunk.to_vec()))
            .order_by_asc(group::Column::Id)
            .all(&app.db)
            .await
            .map_err(db)?;
        let views = groups::groups_view(app, me, &rows).await.map_err(api)?;
        let mut items = Vec::new();
        for (g, view) in rows.iter().zip(views) {
            let membership = chat::store::membership(&app.db, g.room_id, me.id)
                .await
                .map_err(db)?;
            items.push(to_value(&json!({
                "group": view,
                "role": membership.as_ref().map(|m| m.role.clone()),
                "joined_at": membership.map(|m| m.joined_at),
            }))?);
        }
        list.push(items).await?;
    }
    list.close().await
}

/// Every file the user owns, as stored.
async fn media_files(app: &AppState, me: &CurrentUser, zip: &mut Archive) -> Result<(), String> {
    use futures_util::StreamExt;
    let q = media::Entity::find().filter(media::Column::OwnerId.eq(me.id));
    let mut after = 0;
    loop {
        let rows = next_batch(app, &q, media::Column::Id, &mut after, |m| m.id).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for m in rows {
            let mut fetched = app
                .media
                .get(&m.storage_key, None)
                .await
                .map_err(|e| e.to_string())?;
            zip.start(media_entry(m.id, &m.filename), false).await?;
            while let Some(chunk) = fetched.stream.next().await {
                zip.write(chunk.map_err(|e| e.to_string())?.to_vec())
                    .await?;
            }
        }
    }
}
