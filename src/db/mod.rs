//! Database plumbing: connecting (SQLite or PostgreSQL from one URL), running the migrations,
//! the SeaORM entities and the helpers every store shares.

pub mod audit;
pub mod entities;
mod pages;

pub use pages::{BothWays, Keyset, PageWindow, paginate, paginate_counted, paginate_kept};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    SqlErr, Statement, TransactionTrait,
};

use crate::config::Pool;

/// Connects to `url` (a PostgreSQL pool within `pool`). A SQLite file is created if missing and switched to WAL, so readers
/// never wait for the writer. `queries` counts every statement run through the connection
/// (tests use it to pin the number of queries an endpoint makes).
pub async fn connect(
    url: &str,
    pool: Pool,
    queries: Arc<AtomicU64>,
    log: Arc<StatementLog>,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        // An outage answers 503 within a couple of seconds rather than holding requests.
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2));
    if is_sqlite(url) {
        // Every pooled connection, not just the first: WAL so readers never wait for the
        // writer, NORMAL sync (safe under WAL), and a wait rather than an error when busy.
        opts.max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
            });
    } else {
        // Connections kept open: a burst does not wait for new ones (each a TCP connect,
        // authentication and a cold backend), which showed as a 100-200 ms tail. They are
        // opened in the background (a lazy pool): opening them all before serving took longer
        // than the acquire timeout on a busy machine, and start-up failed.
        opts.max_connections(pool.max)
            .min_connections(pool.min)
            .connect_lazy(true)
            // Every statement planned for its values, as Django's (client-side parameters)
            // always are: a prepared statement's generic plan, chosen after five runs, knows
            // only averages, and for the 20,000-friend user it read all of their friendships
            // to find a page's 20 (`friend_id IN (...)` as a filter, not an index condition:
            // 5.6 ms instead of 0.06 ms, and every list of that user 100+ ms under load).
            .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    }
    let mut db = Database::connect(opts).await?;
    db.set_metric_callback(move |info| {
        // Background work (the job queue's polls, its jobs) is no request's: not counted.
        if !info.statement.sql.starts_with(BACKGROUND) && !in_background() {
            queries.fetch_add(1, Ordering::Relaxed);
            log.record(info.statement);
        }
        // The statement's text without its values: what to explain when a list is slow.
        if info.elapsed >= SLOW_STATEMENT {
            tracing::warn!(elapsed = ?info.elapsed, sql = %info.statement.sql, "slow statement");
        } else if info.elapsed >= NOTABLE_STATEMENT {
            tracing::debug!(elapsed = ?info.elapsed, sql = %info.statement.sql, "statement");
        }
    });
    wait_for(&db, pool.wait).await?;
    Ok(db)
}

/// The comment that opens the statements of background work, which `queries` does not count.
pub const BACKGROUND: &str = "/* background */ ";

tokio::task_local! {
    static IN_BACKGROUND: ();
}

/// Runs `work` as background work (a job): its statements, issued from its task, are not
/// counted in `queries` nor recorded, as if each opened with `BACKGROUND`.
pub async fn background<F: std::future::Future>(work: F) -> F::Output {
    IN_BACKGROUND.scope((), work).await
}

fn in_background() -> bool {
    IN_BACKGROUND.try_with(|()| ()).is_ok()
}

/// A statement this slow is logged as a warning; one over `NOTABLE_STATEMENT` at debug level
/// (`AGORA_LOG=agora::db=debug`).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
const NOTABLE_STATEMENT: Duration = Duration::from_millis(5);

/// The statements run on a connection while recording is on (off unless a test turns it on:
/// the plan test explains what each list ran). Bounded: past `MAX` statements it keeps no more.
#[derive(Default)]
pub struct StatementLog {
    on: std::sync::atomic::AtomicBool,
    kept: std::sync::Mutex<Vec<Statement>>,
}

impl StatementLog {
    const MAX: usize = 10_000;

    /// Forgets what was kept and records from now on.
    pub fn start(&self) {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.on.store(true, Ordering::Release);
    }

    /// Stops recording and returns what was recorded.
    pub fn take(&self) -> Vec<Statement> {
        self.on.store(false, Ordering::Release);
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn record(&self, statement: &Statement) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < Self::MAX {
            kept.push(statement.clone());
        }
    }
}

/// Returns once the database answers, retrying with backoff (a quarter second, doubling up to
/// five) for at most `wait`; then the last error.
async fn wait_for(db: &DatabaseConnection, wait: Duration) -> Result<(), DbErr> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(250);
    loop {
        match db.ping().await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, retry_in = ?pause, "the database does not answer yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`, waiting out the busy timeout): a deferred transaction that read first
/// would fail with "database is locked" the moment another writer committed in between, and
/// no wait can save it then. Every multi-statement write goes through here.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Takes the row lock of the row of `E` whose `id_column` is `id`, until the transaction ends:
/// on PostgreSQL a write that changes nothing (`SELECT ... FOR UPDATE` would do as well, but
/// this one statement works for any entity). Transactions that check and then write under the
/// same row's lock run one after another. On SQLite nothing: `begin_write`'s `BEGIN IMMEDIATE`
/// already holds the one write lock, and writing a primary key, even to itself, makes SQLite
/// look for the rows that reference it in every child table (with a million friendships and
/// no index on `friend_id`, 400 ms).
pub async fn lock_row<E: EntityTrait>(
    txn: &impl ConnectionTrait,
    id_column: E::Column,
    id: i64,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    if txn.get_database_backend() == DbBackend::Sqlite {
        return Ok(());
    }
    E::update_many()
        .col_expr(id_column, Expr::col(id_column))
        .filter(id_column.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// `column = value` for a list ordered by `(column, id)` through its composite index. On
/// PostgreSQL written as the one-value range `value <= column <= value`: equality to a
/// constant makes the planner drop `column` from the ORDER BY, and then, estimating from
/// averages, it walks the primary key backwards filtering for the value, which reads millions
/// of rows when the value's rows are old (a busy user's first notifications, a big room's
/// first messages). A range keeps the order only the composite index gives.
pub fn only<C: sea_orm::ColumnTrait>(
    backend: DbBackend,
    column: C,
    value: i64,
) -> sea_orm::Condition {
    if backend == DbBackend::Postgres {
        sea_orm::Condition::all()
            .add(column.gte(value))
            .add(column.lte(value))
    } else {
        sea_orm::Condition::all().add(column.eq(value))
    }
}

/// `only` in raw SQL: `{column} = {value}` or its one-value range.
pub fn only_sql(backend: DbBackend, column: &str, value: &str) -> String {
    if backend == DbBackend::Postgres {
        format!("({column} >= {value} AND {column} <= {value})")
    } else {
        format!("{column} = {value}")
    }
}

/// The kept number of active users (`counters`).
pub const ACTIVE_USERS: &str = "active_users";

/// Adds `delta` to the kept counter `name`, in the caller's transaction.
pub async fn add_to_counter(
    txn: &impl ConnectionTrait,
    name: &str,
    delta: i64,
) -> Result<(), DbErr> {
    use entities::counter;
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, QueryFilter};
    if delta != 0 {
        counter::Entity::update_many()
            .col_expr(
                counter::Column::Value,
                Expr::col(counter::Column::Value).add(delta),
            )
            .filter(counter::Column::Name.eq(name))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// The kept counter `name`.
pub async fn counter(db: &impl ConnectionTrait, name: &str) -> Result<i64, DbErr> {
    Ok(entities::counter::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map_or(0, |c| c.value))
}

/// The status of a request, join request or invite waiting for an answer.
pub const PENDING: &str = "pending";

/// The columns of a request-like table (friend request, join request, invite) that
/// `close_pending` moves: its id, its status and when it last changed.
pub struct PendingColumns<C> {
    pub id: C,
    pub status: C,
    pub updated_at: C,
}

/// Moves row `id` from `pending` to `status`: one conditional write, so of two answers racing
/// only one wins; false when the row was no longer pending.
pub async fn close_pending<E: EntityTrait>(
    db: &impl ConnectionTrait,
    columns: PendingColumns<E::Column>,
    id: i64,
    status: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let res = E::update_many()
        .col_expr(columns.status, Expr::value(status))
        .col_expr(columns.updated_at, Expr::value(now))
        .filter(columns.id.eq(id))
        .filter(columns.status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        // SQLite: one file, and its write lock already orders migrating processes.
        return Migrator::up(db, None).await;
    }
    // Instances started together on a fresh database would race to create the same tables
    // (one failed with a duplicate key in pg_type): each migrates inside one transaction that
    // first takes an advisory lock, so they take turns and the later ones find nothing to do.
    // The migrations run on the lock's own connection (a pool of one connection suffices), and
    // PostgreSQL's DDL is transactional: a failed migration leaves nothing half done.
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// The advisory lock key migrations hold on PostgreSQL ("agora" in ASCII).
const MIGRATION_LOCK: i64 = 0x61_676f_7261;

/// True when `err` is a unique-constraint violation, which stores turn into field errors.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The column (or index) a unique violation names, lower-cased, when the database says:
/// PostgreSQL names the index (`users_email_lower_key`, `idx_...`), SQLite the column
/// (`users.email_lower`). Stores map it to the field the client sent.
pub fn unique_violation_column(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg)) => Some(column_of_unique_message(&msg)),
        _ => None,
    }
}

fn column_of_unique_message(msg: &str) -> String {
    let msg = msg.to_lowercase();
    // SQLite: "UNIQUE constraint failed: users.email_lower"
    if let Some(rest) = msg.split("unique constraint failed:").nth(1) {
        let col = rest.trim().split(['.', ',']).nth(1).unwrap_or_default();
        return col.trim().to_owned();
    }
    // PostgreSQL: duplicate key value violates unique constraint "users_email_lower_key"
    let name = msg.split('"').nth(1).unwrap_or(&msg);
    name.trim_start_matches("idx_")
        .trim_start_matches("users_")
        .to_owned()
}

/// Escapes `%`, `_` and `\` so user text can sit inside a `LIKE ... ESCAPE '\'` pattern.
pub fn like_contains(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('%');
    for c in raw.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The current time at microsecond precision, what PostgreSQL stores and DRF prints.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_violation_names_its_column_on_both_databases() {
        assert_eq!(
            column_of_unique_message("UNIQUE constraint failed: users.email_lower"),
            "email_lower"
        );
        let pg = "duplicate key value violates unique constraint \"users_email_lower_key\"";
        assert!(column_of_unique_message(pg).starts_with("email_lower"));
        let pg = "duplicate key value violates unique constraint \"users_username_lower_key\"";
        assert!(column_of_unique_message(pg).starts_with("username"));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("A_b%"), "%a\\_b\\%%");
    }
}
