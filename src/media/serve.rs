//! Sending stored bytes: one `Range` (206, or 416 when it cannot be met), the headers that
//! keep a browser from running what it is given, and `attachment` for anything not an image.

use std::ops::Range;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::storage::MediaStore;

/// What a `Range` header asks of an object of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    All,
    Part(Range<u64>),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`). Anything else (several ranges, other units, junk)
/// is answered with the whole object, as RFC 9110 allows.
pub fn wanted(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let range = match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, true) => return Wanted::All,
        (true, false) => match num(end) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(n) => size.saturating_sub(n)..size,
            None => return Wanted::All,
        },
        (false, open_end) => {
            let Some(a) = num(start) else {
                return Wanted::All;
            };
            let b = if open_end {
                size
            } else {
                match num(end) {
                    Some(b) if b >= a => b.saturating_add(1).min(size),
                    _ => return Wanted::All,
                }
            };
            if a >= size {
                return Wanted::Unsatisfiable;
            }
            a..b
        }
    };
    if range.is_empty() {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// `filename` made safe for a header: printable ASCII without quotes or backslashes in the
/// plain form, the exact name percent-encoded in `filename*`.
fn disposition(kind: &str, filename: &str) -> HeaderValue {
    let plain: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{plain}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The object at `key` as a response, honouring `Range`.
pub async fn send(
    store: &MediaStore,
    key: &str,
    content_type: &str,
    filename: &str,
    inline: bool,
    request: &HeaderMap,
) -> Result<Response, ApiError> {
    let size = store.size(key).await.map_err(missing)?;
    let range_header = request.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, range) = match wanted(range_header, size) {
        Wanted::All => (StatusCode::OK, None),
        Wanted::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        Wanted::Unsatisfiable => {
            let mut res = (
                StatusCode::RANGE_NOT_SATISFIABLE,
                axum::Json(serde_json::json!({"detail": "Requested range not satisfiable."})),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
    };
    let fetched = store.get(key, range.clone()).await.map_err(missing)?;
    let mut res = Response::new(Body::from_stream(fetched.stream));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(fetched.range.end - fetched.range.start),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if range.is_some()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            fetched.range.start,
            fetched.range.end.saturating_sub(1),
            fetched.size
        ))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; media-src 'self'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        disposition(if inline { "inline" } else { "attachment" }, filename),
    );
    Ok(res)
}

/// A row whose bytes are gone from the store is as good as gone.
fn missing(e: object_store::Error) -> ApiError {
    match e {
        object_store::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::Internal(format!("media store: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(wanted(None, 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=0-9"), 100), Wanted::Part(0..10));
        assert_eq!(wanted(Some("bytes=90-"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-1000"), 100), Wanted::Part(0..100));
        assert_eq!(wanted(Some("bytes=50-1000"), 100), Wanted::Part(50..100));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-0"), 0), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=5-2"), 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::All);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=x-y"), 100), Wanted::All);
        assert_eq!(
            wanted(Some("bytes=99999999999999999999-"), 100),
            Wanted::All
        );
    }

    #[test]
    fn dispositions_are_safe_headers() {
        let v = disposition("attachment", "re\"port\r\n ü.pdf");
        let s = v.to_str().expect("ASCII");
        assert!(
            s.starts_with("attachment; filename=\"re_port__ _.pdf\""),
            "{s}"
        );
        assert!(
            s.contains("filename*=UTF-8''re%22port%0D%0A%20%C3%BC%2Epdf"),
            "{s}"
        );
    }
}
