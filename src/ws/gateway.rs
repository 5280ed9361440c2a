//! The `/ws/` handler: authenticate at upgrade, then one task per socket that reads client
//! frames, writes queued events, pings, and closes on token expiry, overflow or shutdown.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::response::Response;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::http::origin::with_base;
use crate::http::{CurrentUser, Origin, SocketUser};
use crate::realtime::event;
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
#[utoipa::path(get, path = "/ws/", summary = "Open the WebSocket", tag = "realtime",
    params(("token" = Option<String>, Query, description = "Access token, when the Authorization header cannot be set")),
    description = "WebSocket upgrade, with the Authorization header or ?token= (taken on this route only). Frames are JSON {type, data} both ways: server events \
        `notification`, `friend_request`, `online_status`, `chat_message`, `message_updated`, `message_deleted`, \
        `message_read`, `typing`, `room_updated`, `member_joined`, `member_left`, `resync` (events may have been missed since `since`: fetch again), `ack`, `pong`, `error`; client frames \
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
            with_base(origin.base, run(app, socket, me, (slot, user_slot))).await;
            drop(tracked);
        }))
}

pub(super) fn deadline(expires_at: i64) -> Instant {
    let left = expires_at - chrono::Utc::now().timestamp();
    Instant::now() + std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

/// How long a close frame, and then the close handshake, may take before the socket is simply
/// dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the loop gave a connection up, when the peer is still owed a close frame.
enum GaveUp {
    /// It stopped reading: its queue overflowed or a send stayed blocked.
    TooSlow,
}

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

/// The socket's task. `slots` (its share of the WebSocket caps) is given back as soon as the
/// connection is given up, before the close handshake that may still take `CLOSE_TIMEOUT`.
#[tracing::instrument(skip_all, fields(user_id = me.id))]
async fn run<Slots>(app: AppState, mut socket: WebSocket, me: CurrentUser, slots: Slots) {
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
    let mut limits = super::frames::FrameLimits::new();
    let mut gave_up = None;
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
                        super::frames::handle(&app, &me, &mut expires, &mut limits, text.as_str()).await
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
                    gave_up = Some(GaveUp::TooSlow);
                    break;
                }
                // Events queued while the frame was handled go out before the next frame is
                // read: a client that sends fast must not overflow its own queue (its echoes).
                while let Ok(frame) = reg.rx.try_recv() {
                    if !send(&mut socket, Message::Text(frame), &reg.kill, period).await {
                        gave_up = Some(GaveUp::TooSlow);
                        break;
                    }
                }
                if gave_up.is_some() {
                    break;
                }
            }
            Some(frame) = reg.rx.recv() => {
                if !send(&mut socket, Message::Text(frame), &reg.kill, period).await {
                    gave_up = Some(GaveUp::TooSlow);
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
                    gave_up = Some(GaveUp::TooSlow);
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
                gave_up = Some(GaveUp::TooSlow);
                break;
            }
            _ = shutdown.changed() => {
                close(&mut socket, CLOSE_GOING_AWAY, "Server shutting down").await;
                break;
            }
        }
    }
    // The slots and the queue go at once; what is left is a close that is bounded in time.
    drop(slots);
    metrics::gauge!("agora_ws_connections").decrement(1.0);
    let last = app.realtime.hub.unregister(user_id, reg.conn_id);
    drop(reg);
    if let Some(GaveUp::TooSlow) = gave_up {
        close(
            &mut socket,
            CLOSE_POLICY,
            "Too slow: the event queue overflowed",
        )
        .await;
    }
    if last {
        super::sync_presence(&app, user_id).await;
    }
    // Only now does a client's close handshake complete, so a client that waited for it knows
    // its presence was already updated. A peer that does not read gets `CLOSE_TIMEOUT`, then
    // the connection is dropped with the socket.
    let flushed = tokio::time::timeout(CLOSE_TIMEOUT, futures_util::SinkExt::flush(&mut socket));
    if !matches!(flushed.await, Ok(Ok(()))) {
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
