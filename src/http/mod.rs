//! Shared HTTP plumbing: the extractors every handler uses (`Json`, `Path`, `CurrentUser`,
//! `Page`), pagination, the fallbacks that keep even unknown routes in the DRF error shape,
//! and the OpenAPI document with its docs pages.

pub mod docs;
mod extract;
pub mod origin;
mod pagination;

pub use extract::{
    Authenticator, CurrentUser, Json, Path, Query, bearer_token, json_type_name, parse_json,
};
pub use origin::{Origin, ProxyConfig};
pub use pagination::{Page, PageParams, Paginated};

use axum::http::Method;

use crate::error::ApiError;

/// A boolean query filter as django-filter reads it: absent or blank is no filter.
pub fn query_bool(raw: Option<&str>) -> Result<Option<bool>, &'static str> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err("Must be a valid boolean."),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
