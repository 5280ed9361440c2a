//! DRF's page-number pagination: `?page=N&page_size=M` in, `{count, next, previous, results}`
//! out with absolute links.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::PageWindow;
use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Serialize, ToSchema)]
pub struct Paginated<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// The pagination parameters, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number, or `last`.
    pub page: Option<u64>,
    /// Results per page (default 20, max 100).
    pub page_size: Option<u64>,
}

/// The requested page and what is needed to link to its neighbours.
#[derive(Clone, Debug)]
pub struct Page {
    pub number: u64,
    pub size: u64,
    base: String,
    other_params: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut number = 1;
        let mut size = DEFAULT_PAGE_SIZE;
        let mut other_params = Vec::new();
        for (k, v) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                // DRF: a page that is not a positive number is an invalid page.
                "page" => {
                    number = match v.as_ref() {
                        "last" => u64::MAX,
                        // Beyond i64 no page can exist (and u64::MAX stands for `last`).
                        n => n
                            .parse::<u64>()
                            .ok()
                            .filter(|n| (1..=i64::MAX as u64).contains(n))
                            .ok_or(ApiError::InvalidPage)?,
                    }
                }
                "page_size" => size = page_size(&v),
                // A credential is never copied into a link (it would land in logs and histories).
                "token" => {}
                _ => other_params.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(Page {
            number,
            size,
            base: link_base(parts),
            other_params,
        })
    }
}

/// DRF: a bad page_size falls back to the default; a large one is capped.
pub(super) fn page_size(raw: &str) -> u64 {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
}

/// The absolute URL of the list being served, the base of its links. Routing trims the
/// trailing slash; links use the contract's form.
pub(super) fn link_base(parts: &Parts) -> String {
    let origin = super::origin::origin_of(parts);
    let path = parts.uri.path();
    let slash = if path.ends_with('/') { "" } else { "/" };
    format!("{}{path}{slash}", origin.base)
}

impl PageWindow for Page {
    /// Rows to skip; only meaningful once `resolve` has pinned the page number.
    fn offset(&self) -> u64 {
        (self.number.saturating_sub(1)).saturating_mul(self.size)
    }

    fn limit(&self) -> u64 {
        self.size
    }

    fn is_numbered(&self) -> bool {
        self.number != u64::MAX
    }

    /// Checks the page against `count` (resolving `last`); a page past the end is a 404.
    fn resolve(&mut self, count: u64) -> Result<(), ApiError> {
        let pages = count.div_ceil(self.size).max(1);
        if self.number == u64::MAX {
            self.number = pages;
        }
        if self.number > pages {
            return Err(ApiError::InvalidPage);
        }
        Ok(())
    }
}

impl Page {
    /// This page of a list held in memory; a page past the end is a 404.
    pub fn window<'a, T>(&mut self, all: &'a [T]) -> Result<&'a [T], ApiError> {
        self.resolve(u64::try_from(all.len()).unwrap_or(u64::MAX))?;
        let start = usize::try_from(self.offset())
            .unwrap_or(usize::MAX)
            .min(all.len());
        let end = start
            .saturating_add(usize::try_from(self.size).unwrap_or(usize::MAX))
            .min(all.len());
        Ok(&all[start..end])
    }

    pub fn wrap<T>(&self, count: u64, results: Vec<T>) -> Paginated<T> {
        let pages = count.div_ceil(self.size).max(1);
        Paginated {
            count,
            next: (self.number < pages).then(|| self.link(Some(self.number + 1))),
            previous: (self.number > 1).then(|| {
                // DRF drops `page` for the first page.
                self.link((self.number > 2).then_some(self.number - 1))
            }),
            results,
        }
    }

    fn link(&self, page: Option<u64>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.other_params {
            query.append_pair(k, v);
        }
        if let Some(p) = page {
            query.append_pair("page", &p.to_string());
        }
        if self.size != DEFAULT_PAGE_SIZE {
            query.append_pair("page_size", &self.size.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{query}", self.base)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u64, size: u64) -> Page {
        Page {
            number,
            size,
            base: "http://h/api/x/".into(),
            other_params: vec![("search".into(), "a b".into())],
        }
    }

    #[test]
    fn links_keep_other_parameters_and_drop_page_one() {
        let p = page(2, 20);
        let out = p.wrap(45, vec![()]);
        assert_eq!(
            out.next.as_deref(),
            Some("http://h/api/x/?search=a+b&page=3")
        );
        assert_eq!(out.previous.as_deref(), Some("http://h/api/x/?search=a+b"));
    }

    #[test]
    fn a_page_past_the_end_is_invalid_but_an_empty_first_page_is_not() {
        assert!(page(1, 20).resolve(0).is_ok());
        assert!(page(3, 20).resolve(40).is_err());
        let mut last = page(u64::MAX, 10);
        last.resolve(35).expect("last exists");
        assert_eq!(last.number, 4);
        assert_eq!(last.offset(), 30);
    }
}
