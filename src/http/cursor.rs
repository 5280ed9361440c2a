//! DRF's `CursorPagination` over ids: `?cursor=` (opaque: base64 of `p=<id>`, with `r=1` for
//! a page walked backwards, as DRF encodes it) and `?page_size=` in, `{next, previous,
//! results}` out. A page is a keyset (`id < p` or `id > p`), so rows added while someone pages
//! never shift or repeat a page. A cursor that does not decode is a 404 "Invalid cursor".

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use serde::Serialize;
use utoipa::ToSchema;

use super::pagination::{DEFAULT_PAGE_SIZE, link_base, page_size};
use crate::db::Keyset;
use crate::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct CursorPaginated<T> {
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// The cursor parameters, for the OpenAPI document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorParams {
    /// Opaque: follow the `next` and `previous` links.
    pub cursor: Option<String>,
    /// Results per page (default 20, max 100).
    pub page_size: Option<u64>,
}

/// Which way a list runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// The requested page of a cursor-paginated list.
#[derive(Clone, Debug)]
pub struct Cursor {
    pub size: u64,
    position: Option<i64>,
    reverse: bool,
    base: String,
    other_params: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Cursor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut size = DEFAULT_PAGE_SIZE;
        let mut position = None;
        let mut reverse = false;
        let mut other_params = Vec::new();
        for (k, v) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "cursor" => (reverse, position) = decode(&v).ok_or(ApiError::InvalidCursor)?,
                "page_size" => size = page_size(&v),
                "token" => {}
                _ => other_params.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(Self {
            size,
            position,
            reverse,
            base: link_base(parts),
            other_params,
        })
    }
}

/// `(reverse, position)` of a cursor, or None when it was tampered with.
fn decode(raw: &str) -> Option<(bool, Option<i64>)> {
    let bytes = URL_SAFE.decode(raw.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut reverse = false;
    let mut position = None;
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        match k.as_ref() {
            "r" => reverse = v == "1",
            "p" => position = Some(v.parse::<i64>().ok().filter(|p| *p > 0)?),
            _ => {}
        }
    }
    Some((reverse, position))
}

fn encode(reverse: bool, position: i64) -> String {
    let text = if reverse {
        format!("r=1&p={position}")
    } else {
        format!("p={position}")
    };
    URL_SAFE.encode(text)
}

impl Cursor {
    /// The first page of `size` (for callers outside a request).
    pub fn first(size: u64) -> Self {
        Self {
            size,
            position: None,
            reverse: false,
            base: String::new(),
            other_params: Vec::new(),
        }
    }

    /// The rows to read for this page of a list in `order`.
    pub fn keyset(&self, order: Order) -> Keyset {
        let newest_first = order == Order::NewestFirst;
        Keyset {
            from: self.position,
            descending: newest_first != self.reverse,
            limit: self.size + 1,
        }
    }

    /// The page out of the rows read for `keyset` (in its order, maybe one too many), with
    /// its links.
    pub fn wrap<R, T>(
        &self,
        mut rows: Vec<R>,
        id_of: impl Fn(&R) -> i64,
        view: impl FnOnce(Vec<R>) -> Vec<T>,
    ) -> CursorPaginated<T> {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        let more = rows.len() > size;
        rows.truncate(size);
        if self.reverse {
            rows.reverse();
        }
        let first = rows.first().map(&id_of);
        let last = rows.last().map(&id_of);
        // Forward: another page after when more were read; the way back when we came from
        // somewhere. Walking back: the reverse.
        let (has_next, has_previous) = if self.reverse {
            (self.position.is_some(), more)
        } else {
            (more, self.position.is_some())
        };
        // An empty page (all rows gone since the cursor was made) links nowhere: the client
        // loads the first page again.
        let next = last
            .filter(|_| has_next)
            .map(|id| self.link(encode(false, id)));
        let previous = first
            .filter(|_| has_previous)
            .map(|id| self.link(encode(true, id)));
        CursorPaginated {
            next,
            previous,
            results: view(rows),
        }
    }

    fn link(&self, cursor: String) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.other_params {
            query.append_pair(k, v);
        }
        query.append_pair("cursor", &cursor);
        if self.size != DEFAULT_PAGE_SIZE {
            query.append_pair("page_size", &self.size.to_string());
        }
        format!("{}?{}", self.base, query.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_tampered_one_is_refused() {
        assert_eq!(decode(&encode(false, 42)), Some((false, Some(42))));
        assert_eq!(decode(&encode(true, 7)), Some((true, Some(7))));
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&URL_SAFE.encode("p=abc")), None);
        assert_eq!(decode(&URL_SAFE.encode("p=-4")), None);
    }

    fn cursor(position: Option<i64>, reverse: bool) -> Cursor {
        Cursor {
            size: 2,
            position,
            reverse,
            base: "http://h/api/feed/".into(),
            other_params: vec![],
        }
    }

    #[test]
    fn pages_link_forward_and_back_by_the_ids_they_hold() {
        // First page, newest first: 9, 8 (and 7 read to know more follow).
        let c = cursor(None, false);
        assert_eq!(
            c.keyset(Order::NewestFirst),
            Keyset {
                from: None,
                descending: true,
                limit: 3
            }
        );
        let page = c.wrap(vec![9, 8, 7], |r| *r, |r| r);
        assert_eq!(page.results, vec![9, 8]);
        assert!(page.previous.is_none());
        let next = page.next.expect("a next page");
        let raw = next
            .split("cursor=")
            .nth(1)
            .and_then(|r| r.split('&').next())
            .expect("cursor");
        let raw = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .expect("utf8");
        assert_eq!(decode(&raw), Some((false, Some(8))));
        // Walking back from 7: ascending from it, shown newest first.
        let back = cursor(Some(7), true);
        assert!(!back.keyset(Order::NewestFirst).descending);
        let page = back.wrap(vec![8, 9], |r| *r, |r| r);
        assert_eq!(page.results, vec![9, 8]);
        assert!(page.previous.is_none(), "nothing newer than 9");
        assert!(page.next.is_some());
    }
}
