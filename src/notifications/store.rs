//! Queries on notifications and notification settings.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Select,
};

use crate::db::entities::{notification, notification_setting};

pub struct NewNotification {
    pub recipient: i64,
    pub sender: Option<i64>,
    pub kind: String,
    pub text: String,
    pub data: String,
}

/// Stores many notifications in one statement, returning them with their ids.
pub async fn insert_many(
    db: &impl ConnectionTrait,
    rows: Vec<NewNotification>,
) -> Result<Vec<notification::Model>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let at = crate::db::now();
    notification::Entity::insert_many(rows.into_iter().map(|n| notification::ActiveModel {
        recipient_id: Set(n.recipient),
        sender_id: Set(n.sender),
        kind: Set(n.kind),
        text: Set(n.text),
        data: Set(n.data),
        is_read: Set(false),
        created_at: Set(at),
        ..Default::default()
    }))
    .exec_with_returning(db)
    .await
}

/// `recipient`'s notifications, newest first.
pub fn query(
    recipient: i64,
    is_read: Option<bool>,
    kind: Option<&str>,
) -> Select<notification::Entity> {
    let mut q =
        notification::Entity::find().filter(notification::Column::RecipientId.eq(recipient));
    if let Some(r) = is_read {
        q = q.filter(notification::Column::IsRead.eq(r));
    }
    if let Some(k) = kind {
        q = q.filter(notification::Column::Kind.eq(k));
    }
    q.order_by_desc(notification::Column::Id)
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

pub async fn mark_read(
    db: &impl ConnectionTrait,
    recipient: i64,
    id: Option<i64>,
) -> Result<u64, DbErr> {
    let mut q = notification::Entity::update_many()
        .col_expr(notification::Column::IsRead, Expr::value(true))
        .filter(notification::Column::RecipientId.eq(recipient))
        .filter(notification::Column::IsRead.eq(false));
    if let Some(id) = id {
        q = q.filter(notification::Column::Id.eq(id));
    }
    Ok(q.exec(db).await?.rows_affected)
}

pub async fn delete_own(db: &impl ConnectionTrait, recipient: i64, id: i64) -> Result<bool, DbErr> {
    let res = notification::Entity::delete_many()
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::RecipientId.eq(recipient))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
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
