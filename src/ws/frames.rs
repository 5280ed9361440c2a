//! Client frames: `{"type", "data"}` parsed into typed commands and dispatched to the
//! features' functions (a `chat_message` frame calls the same function as the REST route).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::gateway::deadline;
use crate::chat;
use crate::error::{ApiError, REQUIRED};
use crate::http::{Authenticator, CurrentUser, parse_value};
use crate::realtime::event::{self, Frame};
use crate::state::AppState;

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
    fn parse(text: &str) -> Result<Self, Box<(ApiError, Option<Value>)>> {
        let raw: Value = serde_json::from_str(text)
            .map_err(|e| Box::new((ApiError::JsonParse(e.to_string()), None)))?;
        let client_id = raw
            .get("data")
            .and_then(|d| d.get("client_id"))
            .filter(|v| !v.is_null())
            .cloned();
        let fail = |e: ApiError| Box::new((e, client_id.clone()));
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
pub(super) async fn handle(
    app: &AppState,
    me: &CurrentUser,
    expires: &mut Instant,
    limits: &mut FrameLimits,
    text: &str,
) -> Option<Frame> {
    let frame = match ClientFrame::parse(text) {
        Ok(f) => f,
        Err(failed) => return Some(error_frame(&failed.0, failed.1.as_ref())),
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
    pub(super) fn new() -> Self {
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
        let (e, id) = *ClientFrame::parse(r#"{"type":"nope","data":{"client_id":"c1"}}"#)
            .expect_err("unknown type");
        assert_eq!(e.to_string(), "Unknown frame type \"nope\".");
        assert_eq!(id, Some(json!("c1")));
        let (e, _) = *ClientFrame::parse(r#"{"data":{}}"#).expect_err("no type");
        assert_eq!(e.to_string(), "A frame needs a \"type\".");
        let (e, _) = *ClientFrame::parse(r#"{"type":"authenticate","data":{"token":5}}"#)
            .expect_err("bad token type");
        assert!(
            e.to_string().starts_with("Invalid \"authenticate\" frame"),
            "{e}"
        );
        assert!(matches!(
            ClientFrame::parse("not json").map_err(|b| *b),
            Err((ApiError::JsonParse(_), None))
        ));
    }
}
