//! Queries on notifications and notification settings.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::db::entities::{notification, notification_setting};

pub struct NewNotification {
    pub recipient: i64,
    pub sender: Option<i64>,
    pub kind: String,
    pub text: String,
    pub data: String,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    n: NewNotification,
) -> Result<notification::Model, DbErr> {
    notification::ActiveModel {
        recipient_id: Set(n.recipient),
        sender_id: Set(n.sender),
        kind: Set(n.kind),
        text: Set(n.text),
        data: Set(n.data),
        is_read: Set(false),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

fn query(
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
    q
}

pub async fn count(
    db: &impl ConnectionTrait,
    recipient: i64,
    is_read: Option<bool>,
    kind: Option<&str>,
) -> Result<u64, DbErr> {
    query(recipient, is_read, kind).count(db).await
}

/// Newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    recipient: i64,
    is_read: Option<bool>,
    kind: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    query(recipient, is_read, kind)
        .order_by_desc(notification::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
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

/// The user's settings; the defaults (everything on, no do-not-disturb) when never saved.
pub async fn settings(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<notification_setting::Model, DbErr> {
    Ok(notification_setting::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .unwrap_or(notification_setting::Model {
            user_id,
            disabled_types: String::new(),
            do_not_disturb: false,
        }))
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
