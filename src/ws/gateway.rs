//! The `/ws/` handler: authenticate at upgrade, then one task per socket that reads client
//! frames, writes queued events, pings, and closes on token expiry, overflow or shutdown.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::chat;
use crate::error::ApiError;
use crate::error::REQUIRED;
use crate::http::origin::with_base;
use crate::http::parse_value;
use crate::http::{Authenticator, CurrentUser, Origin, SocketUser};
use crate::realtime::event::{self, Frame};
use crate::state::AppState;

/// Largest client frame; bigger ones close the connection with 1009.
pub const MAX_FRAME: usize = 64 * 1024;
/// Frames up to this size are read whole and then refused with 1009 by our own check, so a
/// client that sends one (a 1 MB paste) sees the close code, not a reset; past it, tungstenite
/// stops reading at the frame header and we close with 1009 at once.
const READ_LIMIT: usize = 2 * 1024 * 1024;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_PROTOCOL: u16 = 1002;
const CLOSE_BAD_DATA: u16 = 1007;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOKEN_EXPIRED: u16 = 4401;

/// `GET /ws/?token=...` (or `Authorization: Bearer`). A bad token is a 401 before any upgrade.
#[utoipa::path(get, path = "/ws/", tag = "realtime",
    params(("token" = Option<String>, Query, description = "Access token, when the Authorization header cannot be set")),
    description = "WebSocket upgrade. Frames are JSON `{\"type\", \"data\"}` both ways: server events \
        `notification`, `friend_request`, `online_status`, `chat_message`, `message_updated`, `message_deleted`, \
        `message_read`, `typing`, `room_updated`, `member_joined`, `member_left`, `ack`, `pong`, `error`; client frames \
        `ping`, `authenticate`, `chat_message`, `typing`, `read`. Frames over 64 KiB close with 1009, invalid UTF-8 \
        with 1007, a protocol violation with 1002; token expiry without `authenticate` closes with 4401.",
    responses((status = 101, description = "Switching protocols"), (status = 400, description = "Not a WebSocket request"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 429, description = "The user already holds AGORA_WS_MAX_PER_USER sockets on this instance; see Retry-After"),
        (status = 503, description = "Too many open WebSockets, or shutting down; see Retry-After")),
    security(("bearer" = [])))]
pub async fn upgrade(
    State(app): State<AppState>,
    SocketUser(me): SocketUser,
    origin: Origin,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::rejected(e.body_text()))?;
    if app.shutting_down() {
        return Err(ApiError::Unavailable(5));
    }
    // Past a user's share the upgrade is refused, so one account cannot hold every slot.
    let Some(user_slot) = app.ws_user_slots.try_acquire(me.id) else {
        metrics::counter!("agora_ws_refused_total", "reason" => "per_user").increment(1);
        return Err(ApiError::Throttled(5));
    };
    // Past the cap the upgrade is refused: each open socket holds one permit until it ends.
    let Ok(slot) = app.ws_slots.clone().try_acquire_owned() else {
        metrics::counter!("agora_ws_refused_total", "reason" => "full").increment(1);
        return Err(ApiError::Unavailable(5));
    };
    let tracked = app.sockets.token();
    // Leave room above MAX_FRAME so an oversized frame reaches our check and gets its 1009.
    // Small buffers: tungstenite's 128 KiB defaults would cost that much per idle socket;
    // they grow when a large frame needs it.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
        .on_upgrade(move |socket| async move {
            // Links in what this socket's frames cause (media URLs) use the upgrade's origin.
            with_base(origin.base, run(app, socket, me)).await;
            drop((slot, user_slot, tracked));
        }))
}

fn deadline(expires_at: i64) -> Instant {
    let left = expires_at - chrono::Utc::now().timestamp();
    Instant::now() + std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

/// How long a close frame may take to go out before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The peer may be gone or no longer reading; there is nothing more to do for it then.
    let sent = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        tracing::debug!("socket gone before close frame");
    }
}

/// Sends one message, unless the peer has stopped reading: a send still blocked after `limit`
/// (a heartbeat period), or while this connection's event queue overflows, gives the
/// connection up. Otherwise a client that never reads would hold its task, and its presence,
/// forever.
async fn send(socket: &mut WebSocket, msg: Message, kill: &Notify, limit: Duration) -> bool {
    tokio::select! {
        sent = tokio::time::timeout(limit, socket.send(msg)) => matches!(sent, Ok(Ok(()))),
        () = kill.notified() => {
            metrics::counter!("agora_ws_slow_consumers_closed_total").increment(1);
            tracing::debug!("peer stopped reading while its queue overflowed; dropping it");
            false
        }
    }
}

#[tracing::instrument(skip_all, fields(user_id = me.id))]
async fn run(app: AppState, mut socket: WebSocket, me: CurrentUser) {
    let user_id = me.id;
    let mut reg = app.realtime.hub.register(user_id);
    metrics::gauge!("agora_ws_connections").increment(1.0);
    // A revocation pushed between the upgrade's check and the registration above missed this
    // socket: check once more, now that any later one will reach it.
    if !app.still_valid(&me).await {
        reg.revoked.notify_one();
    }
    if reg.first {
        super::sync_presence(&app, user_id).await;
    }
    let period = app.settings.ws_heartbeat;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
    let mut alive = true;
    let mut expires = deadline(me.token_expires_at);
    let mut shutdown = app.shutdown_signal();
    let mut limits = FrameLimits::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        if let Some((code, reason)) = close_code_for(&e) {
                            close(&mut socket, code, reason).await;
                        }
                        break;
                    }
                    None => break,
                };
                alive = true;
                let reply = match msg {
                    Message::Text(text) => {
                        if text.len() > MAX_FRAME {
                            close(&mut socket, CLOSE_TOO_BIG, "Frame too large").await;
                            break;
                        }
                        handle(&app, &me, &mut expires, &mut limits, text.as_str()).await
                    }
                    Message::Binary(bytes) => {
                        if bytes.len() > MAX_FRAME {
                            close(&mut socket, CLOSE_TOO_BIG, "Frame too large").await;
                            break;
                        }
                        Some(event::error("parse_error", "Frames must be JSON text.", None))
                    }
                    Message::Close(_) => break,
                    // tungstenite answers pings by itself; a pong only proves liveness.
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(frame) = reply
                    && !send(&mut socket, Message::Text(frame), &reg.kill, period).await
                {
                    break;
                }
                // Events queued while the frame was handled go out before the next frame is
                // read: a client that sends fast must not overflow its own queue (its echoes).
                let mut gone = false;
                while let Ok(frame) = reg.rx.try_recv() {
                    if !send(&mut socket, Message::Text(frame), &reg.kill, period).await {
                        gone = true;
                        break;
                    }
                }
                if gone {
                    break;
                }
            }
            Some(frame) = reg.rx.recv() => {
                if !send(&mut socket, Message::Text(frame), &reg.kill, period).await {
                    break;
                }
            }
            _ = heartbeat.tick() => {
                if !alive {
                    tracing::debug!("no answer to the last ping; dropping the connection");
                    break;
                }
                alive = false;
                if !send(&mut socket, Message::Ping(Bytes::new()), &reg.kill, period).await {
                    break;
                }
            }
            () = tokio::time::sleep_until(expires) => {
                close(&mut socket, CLOSE_TOKEN_EXPIRED, "Token expired").await;
                break;
            }
            // A password change or deactivation, on any instance, pushes this.
            () = reg.revoked.notified() => {
                close(&mut socket, CLOSE_TOKEN_EXPIRED, "Token revoked").await;
                break;
            }
            () = reg.kill.notified() => {
                metrics::counter!("agora_ws_slow_consumers_closed_total").increment(1);
                close(&mut socket, CLOSE_POLICY, "Too slow: the event queue overflowed").await;
                break;
            }
            _ = shutdown.changed() => {
                close(&mut socket, CLOSE_GOING_AWAY, "Server shutting down").await;
                break;
            }
        }
    }
    metrics::gauge!("agora_ws_connections").decrement(1.0);
    if app.realtime.hub.unregister(user_id, reg.conn_id) {
        super::sync_presence(&app, user_id).await;
    }
    // Only now does a client's close handshake complete, so a client that waited for it knows
    // its presence was already updated.
    if futures_util::SinkExt::flush(&mut socket).await.is_err() {
        tracing::debug!("socket gone before the close handshake completed");
    }
}

/// The close code for a frame the client got wrong; `None` when the connection itself failed
/// (there is nobody to tell).
fn close_code_for(err: &axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error;
    let inner = std::error::Error::source(err)?;
    match inner.downcast_ref::<Error>()? {
        Error::Utf8(_) => Some((CLOSE_BAD_DATA, "Text frames must be UTF-8")),
        Error::Capacity(_) => Some((CLOSE_TOO_BIG, "Frame too large")),
        Error::Protocol(_) | Error::AttackAttempt => Some((CLOSE_PROTOCOL, "Protocol error")),
        _ => None,
    }
}

/// A client frame, `{"type", "data"}`, as a typed command. Each variant's data is read by the
/// feature function it calls, so a frame and the REST route behind it validate alike.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
enum ClientFrame {
    /// Its data, if any, is ignored.
    Ping(#[allow(dead_code)] serde::de::IgnoredAny),
    Authenticate(AuthenticateData),
    ChatMessage(Value),
    Typing(Value),
    Read(Value),
}

#[derive(Debug, Deserialize)]
struct AuthenticateData {
    #[serde(default)]
    token: Option<crate::secret::Secret>,
}

const FRAME_TYPES: &[&str] = &["ping", "authenticate", "chat_message", "typing", "read"];

impl ClientFrame {
    /// Parses a frame; the error says what was wrong, with the frame's `client_id` if it has
    /// one so the client can match the error to what it sent.
    fn parse(text: &str) -> Result<Self, (ApiError, Option<Value>)> {
        let raw: Value =
            serde_json::from_str(text).map_err(|e| (ApiError::JsonParse(e.to_string()), None))?;
        let client_id = raw
            .get("data")
            .and_then(|d| d.get("client_id"))
            .filter(|v| !v.is_null())
            .cloned();
        let fail = |e: ApiError| (e, client_id.clone());
        let kind = match raw.get("type") {
            Some(Value::String(k)) => k.clone(),
            _ => return Err(fail(ApiError::rejected("A frame needs a \"type\"."))),
        };
        if !FRAME_TYPES.contains(&kind.as_str()) {
            return Err(fail(ApiError::rejected(format!(
                "Unknown frame type \"{kind}\"."
            ))));
        }
        // `{"type": "ping"}` has no data; give every frame an object to read.
        let mut raw = raw;
        if raw.get("data").is_none_or(Value::is_null) {
            raw["data"] = json!({});
        }
        serde_json::from_value(raw).map_err(|e| {
            fail(ApiError::rejected(format!(
                "Invalid \"{kind}\" frame: {}",
                e.to_string().split(" at line ").next().unwrap_or_default()
            )))
        })
    }
}

fn error_frame(e: &ApiError, client_id: Option<&Value>) -> Frame {
    // Field errors say which field, as the REST body would.
    let detail = match e {
        ApiError::Fields(f) => f.to_value().to_string(),
        other => other.to_string(),
    };
    event::error(e.code(), &detail, client_id)
}

/// One client frame; the answer to send back, if any. Errors never close the connection.
async fn handle(
    app: &AppState,
    me: &CurrentUser,
    expires: &mut Instant,
    limits: &mut FrameLimits,
    text: &str,
) -> Option<Frame> {
    let frame = match ClientFrame::parse(text) {
        Ok(f) => f,
        Err((e, client_id)) => return Some(error_frame(&e, client_id.as_ref())),
    };
    match frame {
        ClientFrame::Ping(_) => Some(event::encode("pong", &json!({}))),
        ClientFrame::Authenticate(data) => {
            let Some(token) = data.token else {
                return Some(error_frame(
                    &ApiError::field("token", crate::error::REQUIRED),
                    None,
                ));
            };
            match app.authenticate(token.expose()).await {
                Ok(user) if user.id == me.id => {
                    *expires = deadline(user.token_expires_at);
                    None
                }
                Ok(_) => Some(error_frame(
                    &ApiError::TokenNotValid("The token belongs to another user.".into()),
                    None,
                )),
                Err(e) => Some(error_frame(&e, None)),
            }
        }
        ClientFrame::ChatMessage(data) => {
            let client_id = data.get("client_id").filter(|v| !v.is_null()).cloned();
            match chat_send(app, me, &data).await {
                Ok(message) => Some(event::encode(
                    "ack",
                    &json!({"client_id": client_id, "message": message}),
                )),
                Err(e) => Some(error_frame(&e, client_id.as_ref())),
            }
        }
        ClientFrame::Typing(data) => {
            // Typing is ephemeral: frames faster than the limit are dropped, not refused.
            if limits.typing.elapsed() < TYPING_INTERVAL {
                return None;
            }
            limits.typing = Instant::now();
            let result = async {
                let t: TypingData = parse_value(&data)?;
                let room = t.room.ok_or_else(|| ApiError::field("room", REQUIRED))?;
                chat::messages::typing(app, me, room, t.is_typing.unwrap_or(true)).await
            }
            .await;
            result.err().map(|e| error_frame(&e, None))
        }
        ClientFrame::Read(data) => {
            let result = async {
                let r: ReadData = parse_value(&data)?;
                let room = r.room.ok_or_else(|| ApiError::field("room", REQUIRED))?;
                chat::messages::mark_read(app, me, room, r.message_id).await
            }
            .await;
            result.err().map(|e| error_frame(&e, None))
        }
    }
}

/// The least time between two `typing` frames of one connection that are passed on.
const TYPING_INTERVAL: Duration = Duration::from_millis(500);

/// Per-connection limits of the frames that are not stored.
pub struct FrameLimits {
    typing: Instant,
}

impl FrameLimits {
    fn new() -> Self {
        Self {
            typing: Instant::now()
                .checked_sub(TYPING_INTERVAL)
                .unwrap_or_else(Instant::now),
        }
    }
}

#[derive(Deserialize)]
struct WsSend {
    room: Option<i64>,
    #[serde(flatten)]
    message: chat::model::SendBody,
}

#[derive(Deserialize)]
struct TypingData {
    room: Option<i64>,
    is_typing: Option<bool>,
}

#[derive(Deserialize)]
struct ReadData {
    room: Option<i64>,
    message_id: Option<i64>,
}

/// A `chat_message` frame: the same validation and feature function as the REST route.
async fn chat_send(
    app: &AppState,
    me: &CurrentUser,
    data: &Value,
) -> Result<chat::model::Message, ApiError> {
    let frame: WsSend = parse_value(data)?;
    let room = frame
        .room
        .ok_or_else(|| ApiError::field("room", REQUIRED))?;
    let (message, _) = chat::messages::send(app, me, room, frame.message).await?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_into_typed_commands() {
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping(_))
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"authenticate","data":{"token":"t"}}"#),
            Ok(ClientFrame::Authenticate(AuthenticateData {
                token: Some(_)
            }))
        ));
        let (e, id) = ClientFrame::parse(r#"{"type":"nope","data":{"client_id":"c1"}}"#)
            .expect_err("unknown type");
        assert_eq!(e.to_string(), "Unknown frame type \"nope\".");
        assert_eq!(id, Some(json!("c1")));
        let (e, _) = ClientFrame::parse(r#"{"data":{}}"#).expect_err("no type");
        assert_eq!(e.to_string(), "A frame needs a \"type\".");
        let (e, _) = ClientFrame::parse(r#"{"type":"authenticate","data":{"token":5}}"#)
            .expect_err("bad token type");
        assert!(
            e.to_string().starts_with("Invalid \"authenticate\" frame"),
            "{e}"
        );
        assert!(matches!(
            ClientFrame::parse("not json"),
            Err((ApiError::JsonParse(_), None))
        ));
    }
}
