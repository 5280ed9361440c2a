//! Pages of a list: page-number pagination over an ordered select, its total counted, kept
//! elsewhere (`paginate_kept`, `paginate_counted`), and pages past the middle read from the far
//! end (`BothWays`).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QuerySelect, Select};

use crate::error::ApiError;

/// The page a list asks for; `http::Page` is the one implementation.
pub trait PageWindow {
    /// Pins the page against the total `count`; a page past the end is an error.
    fn resolve(&mut self, count: u64) -> Result<(), ApiError>;
    fn offset(&self) -> u64;
    fn limit(&self) -> u64;
    /// False for `?page=last`, whose offset is known only once the total is.
    fn is_numbered(&self) -> bool;
}

/// How many rows `select` has, counted without its ORDER BY: a count wrapped around an ordered
/// select made PostgreSQL sort every row (100,000 users, to disk) only to count them.
async fn count_of<E: EntityTrait>(
    mut select: Select<E>,
    db: &impl ConnectionTrait,
) -> Result<u64, DbErr>
where
    E::Model: Sync,
{
    QuerySelect::query(&mut select).clear_order_by();
    select.count(db).await
}

/// One page of an ordered `select` and the total it is a page of, whatever the page size. The
/// page is read with one row more than it holds: when that row is absent this is the last
/// page and the total follows from it, so a list that fits on a page (or its last page) costs
/// one query; otherwise a count makes two. Every list goes through here or `paginate_kept`.
pub async fn paginate<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    page: &mut impl PageWindow,
) -> Result<(u64, Vec<E::Model>), ApiError>
where
    E::Model: Sync,
{
    let total = count_of(select.clone(), db);
    paginate_kept(db, select.into(), page, total).await
}

/// A list's select in its order and, when it has one, in the opposite order: a page past the
/// middle is read from the far end, so no page skips more than half of the list.
pub struct BothWays<E: EntityTrait> {
    pub forward: Select<E>,
    pub backward: Option<Select<E>>,
}

impl<E: EntityTrait> From<Select<E>> for BothWays<E> {
    fn from(forward: Select<E>) -> Self {
        Self {
            forward,
            backward: None,
        }
    }
}

/// One page of an ordered `select` whose total is already known (a kept count): no count.
pub async fn paginate_counted<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: impl Into<BothWays<E>>,
    page: &mut impl PageWindow,
    total: u64,
) -> Result<Vec<E::Model>, ApiError>
where
    E::Model: Sync,
{
    let select = select.into();
    page.resolve(total)?;
    let (offset, limit) = (page.offset(), page.limit());
    if i64::try_from(offset.saturating_add(limit)).is_err() {
        return Err(ApiError::InvalidPage);
    }
    let end = offset.saturating_add(limit).min(total);
    match select.backward {
        Some(backward) if offset > total / 2 && end > offset => {
            let mut rows = backward
                .offset(total - end)
                .limit(end - offset)
                .all(db)
                .await?;
            rows.reverse();
            Ok(rows)
        }
        _ => Ok(select.forward.offset(offset).limit(limit).all(db).await?),
    }
}

/// `paginate` with the total kept somewhere (`total`, asked only when needed): a numbered page
/// that ends the list needs no total, as in `paginate`; otherwise the kept total is read
/// instead of counted, and `?page=last` is read from the far end.
pub async fn paginate_kept<E, F>(
    db: &impl ConnectionTrait,
    select: BothWays<E>,
    page: &mut impl PageWindow,
    total: F,
) -> Result<(u64, Vec<E::Model>), ApiError>
where
    E: EntityTrait,
    E::Model: Sync,
    F: std::future::Future<Output = Result<u64, DbErr>>,
{
    if !page.is_numbered() {
        let total = total.await?;
        let rows = paginate_counted(db, select, page, total).await?;
        return Ok((total, rows));
    }
    let (offset, limit) = (page.offset(), page.limit());
    if i64::try_from(offset.saturating_add(limit)).is_err() {
        return Err(ApiError::InvalidPage);
    }
    let mut rows = select
        .forward
        .offset(offset)
        .limit(limit.saturating_add(1))
        .all(db)
        .await?;
    let fetched = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    if fetched == 0 && offset > 0 {
        return Err(ApiError::InvalidPage);
    }
    let count = if fetched <= limit {
        offset + fetched
    } else {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        total.await?
    };
    page.resolve(count)?;
    Ok((count, rows))
}

/// One page of a keyset-paginated list (`http::Cursor`): rows strictly past `from` in the
/// direction read, `limit` of them (one more than the page, to know whether another follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyset {
    pub from: Option<i64>,
    /// Read by id descending (else ascending).
    pub descending: bool,
    pub limit: u64,
}

impl Keyset {
    /// `select` narrowed to this page by `id`.
    pub fn apply<E: EntityTrait>(
        &self,
        select: sea_orm::Select<E>,
        id: E::Column,
    ) -> sea_orm::Select<E> {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
        let select = match (self.from, self.descending) {
            (Some(p), true) => select.filter(id.lt(p)),
            (Some(p), false) => select.filter(id.gt(p)),
            (None, _) => select,
        };
        let select = if self.descending {
            select.order_by_desc(id)
        } else {
            select.order_by_asc(id)
        };
        select.limit(self.limit)
    }
}
