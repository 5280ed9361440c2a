//! The audit log: every staff action appended (in the transaction that does it where there is
//! one), never changed or deleted: no code path updates or deletes its rows. Here, below the
//! features, so each can record what staff do through its own endpoints.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::Value;

use super::entities::audit_entry;

/// Appends `action` by `actor` on `(target_type, target_id)` with `data` (the request's
/// fields, never a password).
pub async fn append(
    db: &impl ConnectionTrait,
    actor: i64,
    action: &str,
    target_type: &str,
    target_id: i64,
    data: Value,
) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        actor_id: Set(actor),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        data: Set(data.to_string()),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// `append` on its own, after the action committed: a failure is logged, the action stands.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: i64,
    action: &str,
    target_type: &str,
    target_id: i64,
    data: Value,
) {
    if let Err(e) = append(db, actor, action, target_type, target_id, data).await {
        tracing::error!(error = %e, action, target_id, "audit entry not written");
    }
}
