//! Shared HTTP plumbing: the extractors every handler uses (`Json`, `Path`, `CurrentUser`,
//! `Page`), pagination, the fallbacks that keep even unknown routes in the DRF error shape,
//! and the OpenAPI document with its docs pages.

mod body;
mod cursor;
pub mod docs;
mod extract;
mod forms;
pub mod origin;
mod pagination;

pub use body::{Json, json_type_name, parse_json, parse_value};
pub use cursor::{Cursor, CursorPaginated, CursorParams, Order};
pub use extract::{Authenticator, CurrentUser, Path, Query, SocketUser, bearer_token};
pub use forms::multipart_error;
pub use origin::{Origin, ProxyConfig};
pub use pagination::{Page, PageParams, Paginated};

use axum::http::Method;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, FieldErrors};

/// A boolean query filter as django-filter reads it: absent or blank is no filter.
pub fn query_bool(raw: Option<&str>) -> Result<Option<bool>, &'static str> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err("Must be a valid boolean."),
    }
}

/// The longest `?search=` term, in characters: longer than any name it could match, and far
/// below what makes a `LIKE` pattern costly (SQLite refuses very long ones).
pub const MAX_SEARCH_CHARS: usize = 150;

/// A `?search=` term, trimmed; blank is no search, an over-long one a 400 on `search`. Every
/// list with a search reads it through here.
pub fn search_term(raw: Option<&str>) -> Result<Option<&str>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_SEARCH_CHARS => Err(ApiError::field(
            "search",
            format!("Ensure this value has at most {MAX_SEARCH_CHARS} characters."),
        )),
        other => Ok(other),
    }
}

/// Middleware: a query string holding a NUL character (`%00`) is a 400 on that parameter, for
/// every route, as DRF does; PostgreSQL text cannot hold one.
pub async fn refuse_nul_in_query(req: Request, next: Next) -> Response {
    if let Some(query) = req.uri().query()
        && query.contains("%00")
    {
        let mut errors = FieldErrors::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k.contains('\0') || v.contains('\0') {
                errors.add(&k.replace('\0', ""), body::NUL_MESSAGE);
            }
        }
        if !errors.is_empty() {
            return ApiError::Fields(errors).into_response();
        }
    }
    next.run(req).await
}

/// Middleware: a request (its body included) that takes longer than `limit` is a 408 in the
/// contract's JSON shape.
pub async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Middleware for a route whose body may rightly take long (an upload on a slow link): no
/// deadline for the whole request, but the body may pause at most `limit` between two of its
/// chunks. Reading a body that paused longer fails with `BodyStalled`, which the handler
/// answers with a 408 (see `stalled`).
pub async fn body_idle_timeout(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = req.into_parts();
    let chunks =
        futures_util::stream::unfold(Some(body.into_data_stream()), move |body| async move {
            let mut body = body?;
            match tokio::time::timeout(limit, body.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(body))),
                Ok(None) => None,
                // The error ends the stream: nothing more is read from this body.
                Err(_) => Some((Err(axum::Error::new(BodyStalled)), None)),
            }
        });
    next.run(Request::from_parts(
        parts,
        axum::body::Body::from_stream(chunks),
    ))
    .await
}

/// A request body paused longer than the request timeout allows.
#[derive(Debug)]
pub struct BodyStalled;

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stalled")
    }
}

impl std::error::Error for BodyStalled {}

/// Whether `e`, or anything that caused it, is a `BodyStalled`.
pub fn stalled(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<BodyStalled>() {
            return true;
        }
        cause = err.source();
    }
    false
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one not sent (`None`):
/// `#[serde(default, deserialize_with = "crate::http::nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
