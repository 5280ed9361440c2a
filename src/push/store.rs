//! Queries on push subscriptions.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::model::NewSubscription;
use crate::db::entities::push_subscription;

/// The most subscriptions one user keeps; one more removes the oldest.
pub const MAX_PER_USER: u64 = 20;

pub fn of_user(user_id: i64) -> Select<push_subscription::Entity> {
    push_subscription::Entity::find()
        .filter(push_subscription::Column::UserId.eq(user_id))
        .order_by_asc(push_subscription::Column::Id)
}

pub async fn find_own(
    db: &impl ConnectionTrait,
    user_id: i64,
    id: i64,
) -> Result<Option<push_subscription::Model>, DbErr> {
    Ok(push_subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.user_id == user_id))
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<push_subscription::Model>, DbErr> {
    push_subscription::Entity::find_by_id(id).one(db).await
}

/// The subscriptions of any of `user_ids`.
pub async fn of_users(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
) -> Result<Vec<push_subscription::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(1000) {
        out.extend(
            push_subscription::Entity::find()
                .filter(push_subscription::Column::UserId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Makes `new` the subscription of its endpoint for `user_id` and `login` (moving it from
/// whoever had it), keeping the user's newest `MAX_PER_USER`. Returns it, and whether it is
/// new. Two posts of one endpoint at once make one row: the insert yields to a racing one.
pub async fn upsert(
    txn: &impl ConnectionTrait,
    user_id: i64,
    login: Option<&str>,
    new: NewSubscription,
) -> Result<(push_subscription::Model, bool), DbErr> {
    use push_subscription::Column as C;
    let by_endpoint = || {
        push_subscription::Entity::find()
            .filter(C::Endpoint.eq(new.endpoint.as_str()))
            .one(txn)
    };
    let mut existing = by_endpoint().await?;
    let mut created = false;
    if existing.is_none() {
        let inserted = push_subscription::Entity::insert(push_subscription::ActiveModel {
            user_id: Set(user_id),
            login: Set(login.map(str::to_owned)),
            endpoint: Set(new.endpoint.clone()),
            p256dh: Set(new.p256dh.clone()),
            auth: Set(new.auth.clone()),
            alerts: Set(serde_json::to_string(&new.alerts).unwrap_or_else(|_| "{}".into())),
            created_at: Set(crate::db::now()),
            ..Default::default()
        })
        .on_conflict(OnConflict::column(C::Endpoint).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        created = inserted == 1;
        existing = by_endpoint().await?;
    }
    let row = existing.ok_or_else(|| DbErr::RecordNotFound("push subscription".into()))?;
    let row = if created {
        row
    } else {
        // The same user's alerts are kept where the post leaves them out; another user's are not.
        let mut alerts = if row.user_id == user_id {
            super::model::stored_alerts(&row)
        } else {
            Default::default()
        };
        alerts.extend(new.alerts);
        let mut active: push_subscription::ActiveModel = row.into();
        active.user_id = Set(user_id);
        active.login = Set(login.map(str::to_owned));
        active.p256dh = Set(new.p256dh);
        active.auth = Set(new.auth);
        active.alerts = Set(serde_json::to_string(&alerts).unwrap_or_else(|_| "{}".into()));
        active.update(txn).await?
    };
    let keep: Vec<i64> = push_subscription::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::UserId.eq(user_id))
        .order_by_desc(C::Id)
        .limit(MAX_PER_USER)
        .into_tuple()
        .all(txn)
        .await?;
    if keep.len() as u64 == MAX_PER_USER {
        push_subscription::Entity::delete_many()
            .filter(C::UserId.eq(user_id))
            .filter(C::Id.is_not_in(keep))
            .exec(txn)
            .await?;
    }
    Ok((row, created))
}

pub async fn set_alerts(
    db: &impl ConnectionTrait,
    row: push_subscription::Model,
    changes: std::collections::HashMap<String, bool>,
) -> Result<push_subscription::Model, DbErr> {
    let mut alerts = super::model::stored_alerts(&row);
    alerts.extend(changes);
    let mut active: push_subscription::ActiveModel = row.into();
    active.alerts = Set(serde_json::to_string(&alerts).unwrap_or_else(|_| "{}".into()));
    active.update(db).await
}

/// Deletes one subscription; true when it was there (and `user_id`'s, when given).
pub async fn delete(
    db: &impl ConnectionTrait,
    id: i64,
    user_id: Option<i64>,
) -> Result<bool, DbErr> {
    let mut q =
        push_subscription::Entity::delete_many().filter(push_subscription::Column::Id.eq(id));
    if let Some(user_id) = user_id {
        q = q.filter(push_subscription::Column::UserId.eq(user_id));
    }
    Ok(q.exec(db).await?.rows_affected == 1)
}
