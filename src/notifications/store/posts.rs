//! Notifications about posts: deleted with their post, and the aggregated ones rewritten in
//! place. Every change takes the recipients' inbox locks first, as the rest of the store does.

use std::collections::BTreeMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use super::{
    NewNotification, add_to_inboxes, as_read_by, find_own, inbox, insert_many_in, locked_inbox,
};
use crate::db::entities::notification;

/// Stores `new`, aggregated: while its recipient has an unread notification of its kind about
/// the same post (and `comment_id`), that one is rewritten (new sender, text and data, dated
/// now) instead. One transaction under the recipient's inbox lock, so reactions arriving at
/// once make one notification. Returns the row, and whether it is new.
pub async fn upsert_grouped(
    db: &DatabaseConnection,
    new: NewNotification,
    comment_id: Option<i64>,
) -> Result<(notification::Model, bool), DbErr> {
    let post_id = serde_json::from_str::<serde_json::Value>(&new.data)
        .ok()
        .and_then(|d| d.get("post_id").and_then(serde_json::Value::as_i64))
        .unwrap_or_default();
    let txn = crate::db::begin_write(db).await?;
    let recipient = new.recipient;
    locked_inbox(&txn, recipient).await?;
    let found = unread_about(&txn, recipient, &new.kind, post_id, comment_id).await?;
    let created = found.is_none();
    let row = match found {
        Some(found) => {
            // Never back: a rewrite counted before a racing one that is already in stays out.
            let count = |data: &str| {
                serde_json::from_str::<serde_json::Value>(data)
                    .ok()
                    .and_then(|d| d.get("count").and_then(serde_json::Value::as_i64))
                    .unwrap_or_default()
            };
            if count(&new.data) >= count(&found.data) {
                let sender = new.sender.unwrap_or_default();
                regroup(&txn, found.id, sender, &new.text, &new.data).await?;
            }
            find_own(&txn, recipient, found.id).await?
        }
        None => insert_many_in(&txn, vec![new], &BTreeMap::from([(recipient, (1, 1))]))
            .await?
            .pop(),
    };
    txn.commit().await?;
    row.map(|r| (r, created))
        .ok_or_else(|| DbErr::RecordNotFound("the grouped notification".into()))
}

/// Deletes every notification about `post_id` (a deleted post), keeping each recipient's
/// counts: their inboxes are locked in id order first, as every change to them does.
pub async fn delete_about_post(txn: &impl ConnectionTrait, post_id: i64) -> Result<(), DbErr> {
    delete_where(txn, notification::Column::PostId.eq(post_id)).await
}

/// Deletes every notification to or from `user_id` (a deleted account), keeping the counts of
/// the others who got them.
pub async fn delete_involving(txn: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    delete_where(
        txn,
        sea_orm::Condition::any()
            .add(notification::Column::RecipientId.eq(user_id))
            .add(notification::Column::SenderId.eq(user_id)),
    )
    .await
}

/// Deletes the notifications that match `which`, keeping each recipient's counts: their
/// inboxes are locked in id order first, as every change to them does.
async fn delete_where(
    txn: &impl ConnectionTrait,
    which: impl sea_orm::sea_query::IntoCondition + Clone,
) -> Result<(), DbErr> {
    let rows = notification::Entity::find()
        .filter(which.clone())
        .all(txn)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let recipients: BTreeMap<i64, (i64, i64)> =
        rows.iter().map(|n| (n.recipient_id, (0, 0))).collect();
    add_to_inboxes(txn, &recipients).await?;
    let mut changes: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for n in rows {
        let inbox = inbox(txn, n.recipient_id).await?;
        let recipient = n.recipient_id;
        let unread = !as_read_by(&inbox, n).is_read;
        let e = changes.entry(recipient).or_insert((0, 0));
        e.0 -= 1;
        e.1 -= i64::from(unread);
    }
    notification::Entity::delete_many()
        .filter(which)
        .exec(txn)
        .await?;
    add_to_inboxes(txn, &changes).await
}

/// `recipient`'s unread notification of `kind` about `post_id` whose data also matches
/// `comment_id` (None: about the post itself), if any.
async fn unread_about(
    db: &impl ConnectionTrait,
    recipient: i64,
    kind: &str,
    post_id: i64,
    comment_id: Option<i64>,
) -> Result<Option<notification::Model>, DbErr> {
    let inbox = inbox(db, recipient).await?;
    let rows = notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(recipient))
        .filter(notification::Column::Kind.eq(kind))
        .filter(notification::Column::PostId.eq(post_id))
        .filter(notification::Column::IsRead.eq(false))
        .filter(notification::Column::Id.gt(inbox.read_through))
        .all(db)
        .await?;
    Ok(rows.into_iter().find(|n| {
        serde_json::from_str::<serde_json::Value>(&n.data)
            .ok()
            .and_then(|d| d.get("comment_id").and_then(serde_json::Value::as_i64))
            == comment_id
    }))
}

/// Rewrites a notification in place (an aggregated one that grew).
async fn regroup(
    db: &impl ConnectionTrait,
    id: i64,
    sender: i64,
    text: &str,
    data: &str,
) -> Result<bool, DbErr> {
    let done = notification::Entity::update_many()
        .col_expr(notification::Column::SenderId, Expr::value(sender))
        .col_expr(notification::Column::Text, Expr::value(text))
        .col_expr(notification::Column::Data, Expr::value(data))
        .col_expr(
            notification::Column::CreatedAt,
            Expr::value(crate::db::now()),
        )
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::IsRead.eq(false))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
