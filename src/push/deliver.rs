//! What is pushed, and its sending: after the commit of a notification or a chat message, one
//! `push` job per subscription that should hear of it, in one transaction; the job queue sends
//! each once (with retries), on whichever instance claims it, and survives a restart.

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::{CHAT_MESSAGE, wants};
use super::send::{Outcome, Push, Sender};
use super::store;
use crate::chat;
use crate::db::entities::{notification, push_subscription};
use crate::error::ApiError;
use crate::events::Event;
use crate::jobs::{self, Job, JobError, NewJob};
use crate::notifications;
use crate::state::AppState;

/// The job kind that sends one push.
pub const JOB: &str = "push";
/// Tries of one push, within its TTL.
const MAX_TRIES: i32 = 5;
/// The most bytes of JSON a push carries: push services take 4096 bytes of encrypted record,
/// of which the `aes128gcm` header, tag and padding delimiter take 103.
pub const MAX_PAYLOAD: usize = 3993;

#[derive(Debug, Serialize, Deserialize)]
struct PushJob {
    subscription_id: i64,
    /// Whom it is for: a subscription moved to another user since is not sent to.
    user_id: i64,
    payload: Value,
    urgency: String,
    topic: Option<String>,
}

/// Push's part in what other features commit. Subscribed in `app.rs`.
pub async fn on_event(app: AppState, event: Arc<Event>) {
    let res = match &*event {
        Event::Notified { ids, recipients } => notified(&app, ids, recipients).await,
        Event::MessageSent {
            room_id,
            message_id,
            sender_id,
        } => message_sent(&app, *room_id, *message_id, *sender_id).await,
        _ => Ok(()),
    };
    if let Err(e) = res {
        tracing::warn!(error = %e, "pushes not queued");
    }
}

/// The payload's JSON, its `body` cut (ending in `…`) until it fits `MAX_PAYLOAD`.
pub fn fit(mut payload: Value) -> Vec<u8> {
    loop {
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let over = bytes.len().saturating_sub(MAX_PAYLOAD);
        let Some(body) = payload.get("body").and_then(Value::as_str) else {
            return bytes;
        };
        if over == 0 || body.is_empty() {
            return bytes;
        }
        let text = body.trim_end_matches('…');
        let mut keep = text.len().saturating_sub(over + '…'.len_utf8());
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
        payload["body"] = Value::String(format!("{}…", &text[..keep]));
    }
}

fn with_url(app: &AppState, mut payload: Value) -> Value {
    if let Some(url) = &app.settings.accounts.frontend_url {
        payload["url"] = Value::String(url.to_string());
    }
    payload
}

fn job(
    sub: &push_subscription::Model,
    payload: &Value,
    urgency: &str,
    topic: Option<&str>,
) -> NewJob {
    NewJob {
        kind: JOB,
        key: Some(sub.id.to_string()),
        payload: serde_json::to_value(PushJob {
            subscription_id: sub.id,
            user_id: sub.user_id,
            payload: payload.clone(),
            urgency: urgency.to_owned(),
            topic: topic.map(str::to_owned),
        })
        .unwrap_or_default(),
        max_attempts: MAX_TRIES,
    }
}

async fn enqueue(app: &AppState, new: Vec<NewJob>) -> Result<(), ApiError> {
    if new.is_empty() {
        return Ok(());
    }
    let txn = crate::db::begin_write(&app.db).await?;
    jobs::enqueue_many(&txn, new).await?;
    txn.commit().await?;
    app.wake_jobs();
    Ok(())
}

/// Notifications just created for recipients not in do-not-disturb: pushed to each of their
/// subscriptions whose alerts take the type.
async fn notified(app: &AppState, ids: &[i64], recipients: &[i64]) -> Result<(), ApiError> {
    // Most users have no subscription: one query settles it.
    let subs = store::of_users(&app.db, recipients).await?;
    if subs.is_empty() {
        return Ok(());
    }
    let rows = notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids.to_vec()))
        .all(&app.db)
        .await?;
    let senders: Vec<i64> = rows.iter().filter_map(|n| n.sender_id).collect();
    let senders = app.users_by_id(&senders).await?;
    let mut new = Vec::new();
    for n in &rows {
        let title = n
            .sender_id
            .and_then(|id| senders.iter().find(|u| u.id == id))
            .map_or_else(|| "Agora".to_owned(), |u| u.display_name());
        let mut data: Value = serde_json::from_str(&n.data).unwrap_or_else(|_| json!({}));
        data["notification_id"] = json!(n.id);
        let payload = with_url(
            app,
            json!({"type": n.kind, "title": title, "body": n.text, "data": data}),
        );
        let urgency = if n.kind == notifications::model::MENTION {
            "high"
        } else {
            "normal"
        };
        for s in subs
            .iter()
            .filter(|s| s.user_id == n.recipient_id && wants(s, &n.kind))
        {
            new.push(job(s, &payload, urgency, None));
        }
    }
    enqueue(app, new).await
}

/// A chat message: pushed to the members with no socket open anywhere who have a
/// subscription taking `chat_message`, not in do-not-disturb (and as `chat::away` says).
async fn message_sent(
    app: &AppState,
    room_id: i64,
    message_id: i64,
    sender_id: i64,
) -> Result<(), ApiError> {
    let others: Vec<i64> = chat::members::member_ids(app, room_id)
        .await?
        .iter()
        .copied()
        .filter(|id| *id != sender_id)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let online = app.realtime.online(others.clone()).await;
    let away: Vec<i64> = others
        .into_iter()
        .filter(|id| !online.contains(id))
        .collect();
    if away.is_empty() {
        return Ok(());
    }
    let subs: Vec<_> = store::of_users(&app.db, &away)
        .await?
        .into_iter()
        .filter(|s| wants(s, CHAT_MESSAGE))
        .collect();
    if subs.is_empty() {
        return Ok(());
    }
    let candidates: Vec<i64> = subs
        .iter()
        .map(|s| s.user_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let Some(a) = chat::away::announced(app, message_id, &candidates).await? else {
        return Ok(());
    };
    let quiet: HashSet<i64> = notifications::store::settings_of(&app.db, &a.recipients)
        .await?
        .into_iter()
        .filter(|s| s.do_not_disturb)
        .map(|s| s.user_id)
        .collect();
    let group = a.room.kind == "group";
    let text = if a.message.body.is_empty() {
        "Sent an attachment".to_owned()
    } else {
        a.message.body.clone()
    };
    let payload = with_url(
        app,
        json!({
            "type": CHAT_MESSAGE,
            "title": if group { a.room.name.clone() } else { a.sender_name.clone() },
            "body": if group { format!("{}: {text}", a.sender_name) } else { text },
            "data": {"room": room_id, "message_id": message_id, "sender_id": sender_id},
        }),
    );
    let topic = format!("room-{room_id}");
    let new = subs
        .iter()
        .filter(|s| a.recipients.contains(&s.user_id) && !quiet.contains(&s.user_id))
        .map(|s| job(s, &payload, "high", Some(&topic)))
        .collect();
    enqueue(app, new).await
}

/// Sends one push job's push.
pub async fn run(app: &AppState, sender: &Sender, job: &Job) -> Result<(), JobError> {
    let p: PushJob =
        serde_json::from_str(&job.payload).map_err(|e| JobError::Fail(format!("payload: {e}")))?;
    let ttl_ms = i64::try_from(app.settings.push.ttl.as_millis()).unwrap_or(i64::MAX / 4);
    if job.attempts > 1 && jobs::now_ms() - job.created_at > ttl_ms {
        return Err(JobError::Fail(
            "its TTL ran out before a push service took it".into(),
        ));
    }
    // Unsubscribed, signed out, or moved to someone else since: nothing to send.
    let Some(sub) = store::find(&app.db, p.subscription_id)
        .await?
        .filter(|s| s.user_id == p.user_id)
    else {
        return Ok(());
    };
    let payload = fit(p.payload);
    let push = Push {
        payload: &payload,
        urgency: &p.urgency,
        topic: p.topic.as_deref(),
    };
    match sender.send(&sub, &push).await {
        Outcome::Delivered => {
            metrics::counter!("agora_pushes_sent_total").increment(1);
            Ok(())
        }
        Outcome::Gone => {
            store::delete(&app.db, sub.id, None).await?;
            tracing::info!(subscription = sub.id, "push subscription gone; removed");
            Ok(())
        }
        Outcome::Retry { error, after } => Err(match after {
            Some(after) => JobError::RetryAfter(error, after),
            None => JobError::Retry(error),
        }),
        Outcome::Dropped(e) => Err(JobError::Fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_body_is_cut_to_fit() {
        let long = "é".repeat(5000);
        let out = fit(json!({"type": "chat_message", "title": "t", "body": long, "data": {}}));
        assert!(out.len() <= MAX_PAYLOAD, "{}", out.len());
        let v: Value = serde_json::from_slice(&out).expect("json");
        let body = v["body"].as_str().expect("body");
        assert!(body.ends_with('…'));
        assert!(body.len() > 3000);
        let short = fit(json!({"body": "hi"}));
        assert_eq!(short, br#"{"body":"hi"}"#);
        let escaped = fit(json!({"body": "\"".repeat(4000)}));
        assert!(escaped.len() <= MAX_PAYLOAD);
    }
}
