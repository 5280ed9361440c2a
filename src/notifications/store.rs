//! Queries on notifications and notification settings.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::db::entities::{notification, notification_inbox, notification_setting};

mod posts;
pub use posts::{delete_about_post, delete_involving, upsert_grouped};

pub struct NewNotification {
    pub recipient: i64,
    pub sender: Option<i64>,
    pub kind: String,
    pub text: String,
    pub data: String,
}

/// Adds `(total, unread)` to each user's inbox row, making the rows that are missing, in user
/// id order (so two writers never wait on each other crosswise): the lock every change to a
/// user's notifications takes first. `(0, 0)` only locks.
async fn add_to_inboxes(
    txn: &impl ConnectionTrait,
    changes: &BTreeMap<i64, (i64, i64)>,
) -> Result<(), DbErr> {
    use notification_inbox::Column as C;
    if changes.is_empty() {
        return Ok(());
    }
    let added = |col: C| {
        Expr::col((notification_inbox::Entity, col)).add(Expr::cust(format!(
            "excluded.{}",
            sea_orm::IdenStatic::as_str(&col)
        )))
    };
    notification_inbox::Entity::insert_many(changes.iter().map(|(user, (total, unread))| {
        notification_inbox::ActiveModel {
            user_id: Set(*user),
            total: Set(*total),
            unread: Set(*unread),
            read_through: Set(0),
        }
    }))
    .on_conflict(
        OnConflict::column(C::UserId)
            .value(C::Total, added(C::Total))
            .value(C::Unread, added(C::Unread))
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// `user_id`'s kept counts; zeros when nothing was ever sent to them.
pub async fn inbox(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<notification_inbox::Model, DbErr> {
    Ok(notification_inbox::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .unwrap_or(notification_inbox::Model {
            user_id,
            total: 0,
            unread: 0,
            read_through: 0,
        }))
}

/// Locks `user_id`'s inbox row (made when missing) and returns it.
async fn locked_inbox(
    txn: &impl ConnectionTrait,
    user_id: i64,
) -> Result<notification_inbox::Model, DbErr> {
    add_to_inboxes(txn, &BTreeMap::from([(user_id, (0, 0))])).await?;
    inbox(txn, user_id).await
}

/// Stores many notifications in one statement, returning them with their ids, and counts
/// them in their recipients' inboxes in the same transaction.
pub async fn insert_many(
    db: &DatabaseConnection,
    rows: Vec<NewNotification>,
) -> Result<Vec<notification::Model>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut added = BTreeMap::new();
    for n in &rows {
        let e = added.entry(n.recipient).or_insert((0, 0));
        e.0 += 1;
        e.1 += 1;
    }
    let txn = crate::db::begin_write(db).await?;
    let stored = insert_many_in(&txn, rows, &added).await?;
    txn.commit().await?;
    Ok(stored)
}

/// `insert_many` inside the caller's transaction; `added` the count per recipient.
async fn insert_many_in(
    txn: &impl ConnectionTrait,
    rows: Vec<NewNotification>,
    added: &BTreeMap<i64, (i64, i64)>,
) -> Result<Vec<notification::Model>, DbErr> {
    let at = crate::db::now();
    add_to_inboxes(txn, added).await?;
    notification::Entity::insert_many(rows.into_iter().map(|n| {
        notification::ActiveModel {
            recipient_id: Set(n.recipient),
            sender_id: Set(n.sender),
            kind: Set(n.kind),
            text: Set(n.text),
            post_id: Set(serde_json::from_str::<serde_json::Value>(&n.data)
                .ok()
                .and_then(|d| d.get("post_id").and_then(serde_json::Value::as_i64))),
            data: Set(n.data),
            is_read: Set(false),
            created_at: Set(at),
            ..Default::default()
        }
    }))
    .exec_with_returning(txn)
    .await
}

/// `recipient`'s notifications, newest first; read or unread as `inbox` says.
pub fn query(
    backend: sea_orm::DbBackend,
    inbox: &notification_inbox::Model,
    is_read: Option<bool>,
    kind: Option<&str>,
) -> Select<notification::Entity> {
    query_in(backend, inbox, is_read, kind, sea_orm::Order::Desc)
}

/// `query` newest first (`Desc`) or oldest first.
pub fn query_in(
    backend: sea_orm::DbBackend,
    inbox: &notification_inbox::Model,
    is_read: Option<bool>,
    kind: Option<&str>,
    order: sea_orm::Order,
) -> Select<notification::Entity> {
    use notification::Column as C;
    let mut q = notification::Entity::find().filter(crate::db::only(
        backend,
        C::RecipientId,
        inbox.user_id,
    ));
    match is_read {
        Some(false) => {
            q = q
                .filter(C::IsRead.eq(false))
                .filter(C::Id.gt(inbox.read_through))
        }
        Some(true) => {
            q = q.filter(
                Condition::any()
                    .add(C::IsRead.eq(true))
                    .add(C::Id.lte(inbox.read_through)),
            )
        }
        None => {}
    }
    if let Some(k) = kind {
        q = q.filter(notification::Column::Kind.eq(k));
    }
    // By (recipient_id, id), the recipient chosen by `db::only`: the same order for one
    // recipient, but only their index gives it, so PostgreSQL cannot walk the primary key
    // backwards filtering for them (cheap by its estimate; 1,950,000 rows read for a user
    // whose 50,000 are the oldest).
    q.order_by(notification::Column::RecipientId, order.clone())
        .order_by(notification::Column::Id, order)
}

/// A notification of `recipient`'s; someone else's is `None`, like a missing one.
pub async fn find_own(
    db: &impl ConnectionTrait,
    recipient: i64,
    id: i64,
) -> Result<Option<notification::Model>, DbErr> {
    notification::Entity::find_by_id(id)
        .filter(notification::Column::RecipientId.eq(recipient))
        .one(db)
        .await
}

/// The notification as its recipient reads it: read too when "read all" passed it.
pub fn as_read_by(
    inbox: &notification_inbox::Model,
    mut n: notification::Model,
) -> notification::Model {
    n.is_read |= n.id <= inbox.read_through;
    n
}

/// Marks notification `id` of `recipient`'s read; how many were unread (0 or 1).
pub async fn mark_read(db: &DatabaseConnection, recipient: i64, id: i64) -> Result<u64, DbErr> {
    use notification::Column as C;
    let txn = crate::db::begin_write(db).await?;
    let inbox = locked_inbox(&txn, recipient).await?;
    let marked = notification::Entity::update_many()
        .col_expr(C::IsRead, Expr::value(true))
        .filter(C::RecipientId.eq(recipient))
        .filter(C::Id.eq(id))
        .filter(C::IsRead.eq(false))
        .filter(C::Id.gt(inbox.read_through))
        .exec(&txn)
        .await?
        .rows_affected;
    add_unread(&txn, recipient, 0, -i64::try_from(marked).unwrap_or(0)).await?;
    txn.commit().await?;
    Ok(marked)
}

/// Marks every notification of `recipient`'s read, whatever their number, with one write: the
/// inbox's `read_through` moves to the newest. How many were unread.
pub async fn mark_all_read(db: &DatabaseConnection, recipient: i64) -> Result<u64, DbErr> {
    use notification::Column as C;
    let txn = crate::db::begin_write(db).await?;
    let inbox = locked_inbox(&txn, recipient).await?;
    if inbox.unread > 0 {
        // Not MAX(id): see `query_in` on the order.
        let newest: Option<i64> = notification::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(crate::db::only(
                txn.get_database_backend(),
                C::RecipientId,
                recipient,
            ))
            .order_by_desc(C::RecipientId)
            .order_by_desc(C::Id)
            .limit(1)
            .into_tuple()
            .one(&txn)
            .await?;
        notification_inbox::Entity::update_many()
            .col_expr(notification_inbox::Column::Unread, Expr::value(0))
            .col_expr(
                notification_inbox::Column::ReadThrough,
                Expr::value(newest.unwrap_or(inbox.read_through)),
            )
            .filter(notification_inbox::Column::UserId.eq(recipient))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(u64::try_from(inbox.unread).unwrap_or(0))
}

async fn add_unread(
    txn: &impl ConnectionTrait,
    user_id: i64,
    total: i64,
    unread: i64,
) -> Result<(), DbErr> {
    use notification_inbox::Column as C;
    if total == 0 && unread == 0 {
        return Ok(());
    }
    notification_inbox::Entity::update_many()
        .col_expr(C::Total, Expr::col(C::Total).add(total))
        .col_expr(C::Unread, Expr::col(C::Unread).add(unread))
        .filter(C::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

pub async fn delete_own(db: &DatabaseConnection, recipient: i64, id: i64) -> Result<bool, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let inbox = locked_inbox(&txn, recipient).await?;
    let Some(row) = find_own(&txn, recipient, id).await? else {
        return Ok(false);
    };
    notification::Entity::delete_by_id(id).exec(&txn).await?;
    let unread = !as_read_by(&inbox, row).is_read;
    add_unread(&txn, recipient, -1, -i64::from(unread)).await?;
    txn.commit().await?;
    Ok(true)
}

fn default_settings(user_id: i64) -> notification_setting::Model {
    notification_setting::Model {
        user_id,
        disabled_types: String::new(),
        do_not_disturb: false,
    }
}

/// The user's settings; the defaults (everything on, no do-not-disturb) when never saved.
pub async fn settings(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<notification_setting::Model, DbErr> {
    Ok(notification_setting::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .unwrap_or_else(|| default_settings(user_id)))
}

/// The settings of many users in one query, in the order of `user_ids`.
pub async fn settings_of(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
) -> Result<Vec<notification_setting::Model>, DbErr> {
    let saved: std::collections::HashMap<i64, notification_setting::Model> =
        notification_setting::Entity::find()
            .filter(notification_setting::Column::UserId.is_in(user_ids.to_vec()))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.user_id, s))
            .collect();
    Ok(user_ids
        .iter()
        .map(|id| {
            saved
                .get(id)
                .cloned()
                .unwrap_or_else(|| default_settings(*id))
        })
        .collect())
}

pub async fn save_settings(
    db: &impl ConnectionTrait,
    model: notification_setting::Model,
) -> Result<(), DbErr> {
    notification_setting::Entity::insert(notification_setting::ActiveModel {
        user_id: Set(model.user_id),
        disabled_types: Set(model.disabled_types),
        do_not_disturb: Set(model.do_not_disturb),
    })
    .on_conflict(
        OnConflict::column(notification_setting::Column::UserId)
            .update_columns([
                notification_setting::Column::DisabledTypes,
                notification_setting::Column::DoNotDisturb,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub fn is_disabled(settings: &notification_setting::Model, kind: &str) -> bool {
    settings.disabled_types.split(',').any(|t| t == kind)
}
