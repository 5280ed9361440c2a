//! Shared HTTP plumbing: the extractors every handler uses (`Json`, `Path`, `CurrentUser`,
//! `Page`), pagination, the fallbacks that keep even unknown routes in the DRF error shape,
//! and the OpenAPI document with its docs pages.

pub mod docs;
mod extract;
mod pagination;

pub use extract::{CurrentUser, Json, Path, Query, authenticate, bearer_token, parse_json};
pub use pagination::{Page, PageParams, Paginated};

use axum::http::Method;

use crate::error::ApiError;

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
