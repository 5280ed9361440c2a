//! Server → client events: `{"type", "data"}`, serialised once per publish into shared bytes
//! that every connection's queue receives a cheap clone of.

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::{Value, json};

/// One encoded frame, ready for any number of sockets.
pub type Frame = Utf8Bytes;

pub fn encode<T: Serialize>(kind: &str, data: &T) -> Frame {
    let text = serde_json::to_string(&json!({"type": kind, "data": data}))
        .unwrap_or_else(|_| format!("{{\"type\":\"{kind}\",\"data\":{{}}}}"));
    Utf8Bytes::from(text)
}

/// An `error` frame; `code` and `detail` come from `ApiError`, as for HTTP.
pub fn error(code: &str, detail: &str, client_id: Option<&Value>) -> Frame {
    let mut data = json!({"code": code, "detail": detail});
    if let Some(id) = client_id {
        data["client_id"] = id.clone();
    }
    encode("error", &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_type_and_data() {
        let f = encode("pong", &json!({}));
        assert_eq!(f.as_str(), r#"{"type":"pong","data":{}}"#);
        let e = error("invalid", "bad", Some(&json!("c1")));
        let v: Value = serde_json::from_str(e.as_str()).expect("json");
        assert_eq!(v["data"]["client_id"], "c1");
    }
}
