//! The durable job queue: work that must outlive the request that caused it and survive a
//! restart or a kill -9 (mails, account deletions, exports), kept in the database's `jobs`
//! table. No crate does this on both SQLite and PostgreSQL with sea-orm's pool (apalis and
//! sqlxmq bring their own storage layers, PostgreSQL-only or with their own schema), so it is
//! small and here.
//!
//! A job is enqueued in the caller's transaction, so it exists exactly when what caused it was
//! committed. Each instance runs `workers` loops that claim one due job at a time with a single
//! conditional `UPDATE … RETURNING` (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite has one
//! writer), so a job runs on one instance. A claim is a lease, renewed while the handler runs;
//! a job whose instance died is claimed again once its lease has run out. A failed try is
//! retried with exponential backoff until `max_attempts`, then the job is `dead` and logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, Statement,
};
use tokio::sync::{Notify, watch};

pub use crate::config::JobSettings;
use crate::db::entities::job;

pub use job::Model as Job;

/// How a handler's try ended badly.
#[derive(Debug)]
pub enum JobError {
    /// Worth trying again later (a peer down, a timeout).
    Retry(String),
    /// Worth trying again, not before the time given (a peer's `Retry-After`), if that is
    /// later than the backoff's.
    RetryAfter(String, Duration),
    /// Will never work (a malformed payload): dead at once.
    Fail(String),
}

impl<E: std::fmt::Display> From<E> for JobError {
    fn from(e: E) -> Self {
        Self::Retry(e.to_string())
    }
}

/// Runs one kind of job with the application and the claimed job.
pub type Handler<S> = Arc<dyn Fn(S, Job) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync>;

/// A job to enqueue.
pub struct NewJob {
    pub kind: &'static str,
    pub key: Option<String>,
    pub payload: serde_json::Value,
    pub max_attempts: i32,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The row of `new`, due `now`.
fn queued(new: NewJob, now: i64) -> job::ActiveModel {
    job::ActiveModel {
        kind: Set(new.kind.to_owned()),
        key: Set(new.key),
        payload: Set(new.payload.to_string()),
        state: Set("queued".into()),
        attempts: Set(0),
        max_attempts: Set(new.max_attempts.max(1)),
        run_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Stores `new` as due now, in `db`'s transaction. Call `Queue::wake` after the commit.
pub async fn enqueue(db: &impl ConnectionTrait, new: NewJob) -> Result<i64, DbErr> {
    Ok(queued(new, now_ms()).insert(db).await?.id)
}

/// Stores each of `new` as due now, in `db`'s transaction, a few hundred rows a statement (a
/// push to each member of a large room). Call `Queue::wake` after the commit.
pub async fn enqueue_many(db: &impl ConnectionTrait, new: Vec<NewJob>) -> Result<(), DbErr> {
    let now = now_ms();
    let mut rows = new.into_iter().map(|new| queued(new, now));
    loop {
        let chunk: Vec<job::ActiveModel> = rows.by_ref().take(200).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        job::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
}

/// Jobs of `kind` about `key` enqueued since `since_ms` (a mail limit per recipient).
pub async fn count_since(
    db: &impl ConnectionTrait,
    kind: &str,
    key: &str,
    since_ms: i64,
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::Key.eq(key))
        .filter(job::Column::CreatedAt.gte(since_ms))
        .count(db)
        .await
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub queued: u64,
    pub running: u64,
    pub dead: u64,
}

#[derive(FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
}

/// How many jobs wait, run and are dead, on every instance.
pub async fn stats(db: &impl ConnectionTrait) -> Result<Stats, DbErr> {
    let rows = StateCount::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "/* background */ SELECT state, COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running', 'dead') \
         GROUP BY state",
    ))
    .all(db)
    .await?;
    let mut stats = Stats::default();
    for r in rows {
        let n = u64::try_from(r.n).unwrap_or(0);
        match r.state.as_str() {
            "queued" => stats.queued = n,
            "running" => stats.running = n,
            _ => stats.dead = n,
        }
    }
    Ok(stats)
}

/// This instance's side of the queue: the handlers and what wakes the workers.
pub struct Queue<S> {
    db: DatabaseConnection,
    settings: JobSettings,
    handlers: HashMap<&'static str, Handler<S>>,
    wake: Arc<Notify>,
}

impl<S: Clone + Send + Sync + 'static> Queue<S> {
    pub fn new(
        db: DatabaseConnection,
        settings: JobSettings,
        handlers: HashMap<&'static str, Handler<S>>,
        wake: Arc<Notify>,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            settings,
            handlers,
            wake,
        })
    }

    /// One worker loop, until `shutdown` turns true; a job it is running is finished first.
    pub async fn work(self: Arc<Self>, state: S, mut shutdown: watch::Receiver<bool>, first: bool) {
        let mut idle_rounds: u64 = 0;
        while !*shutdown.borrow() {
            match self.claim().await {
                Ok(Some(job)) => {
                    idle_rounds = 0;
                    // There may be more: another idle worker of this instance looks too, so a
                    // burst (a push to every member of a room) is run by all of them at once.
                    self.wake.notify_one();
                    self.run(state.clone(), job).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "job queue unreachable"),
            }
            if first {
                if idle_rounds.is_multiple_of(5) {
                    self.report().await;
                }
                if idle_rounds.is_multiple_of(600) {
                    self.purge().await;
                }
            }
            idle_rounds += 1;
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn claim(&self) -> Result<Option<Job>, DbErr> {
        let backend = self.db.get_database_backend();
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "/* background */ UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1, \
             updated_at = $2 WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND \
             run_at <= $2) OR (state = 'running' AND locked_until < $2) ORDER BY run_at, id \
             LIMIT 1{lock}) RETURNING *"
        );
        let now = now_ms();
        let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX / 4);
        job::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                backend,
                sql,
                [(now + lease).into(), now.into()],
            ))
            .one(&self.db)
            .await
    }

    async fn run(&self, state: S, job: Job) {
        let kind = job.kind.clone();
        let span = tracing::info_span!("job", id = job.id, kind = %kind, attempt = job.attempts);
        let _enter = span.enter();
        // A job whose instance keeps dying while running it must end too.
        if job.attempts > job.max_attempts.saturating_add(2) {
            self.finish(
                &job,
                Err(JobError::Fail("its runs kept being cut off".into())),
            )
            .await;
            return;
        }
        let Some(handler) = self.handlers.get(kind.as_str()).cloned() else {
            self.finish(&job, Err(JobError::Fail(format!("no handler for {kind}"))))
                .await;
            return;
        };
        let outcome = {
            // A task of its own, so a handler that panics fails its job, not this worker; it
            // is aborted if this worker is (shutdown).
            let mut task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(
                crate::db::background(handler(state, job.clone())),
            ));
            let mut renew = tokio::time::interval(self.settings.lease / 3);
            renew.tick().await;
            loop {
                tokio::select! {
                    outcome = &mut task => break outcome.unwrap_or_else(|e| {
                        Err(JobError::Fail(format!("the handler failed: {e}")))
                    }),
                    _ = renew.tick() => self.renew(&job).await,
                }
            }
        };
        self.finish(&job, outcome).await;
    }

    async fn renew(&self, job: &Job) {
        let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX / 4);
        let res = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "/* background */ UPDATE jobs SET locked_until = $1 WHERE id = $2 AND attempts = $3",
                [(now_ms() + lease).into(), job.id.into(), job.attempts.into()],
            ))
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "job lease not renewed");
        }
    }

    async fn finish(&self, job: &Job, outcome: Result<(), JobError>) {
        let now = now_ms();
        let (state, run_at, error) = match outcome {
            Ok(()) => {
                metrics::counter!("agora_jobs_done_total", "kind" => job.kind.clone()).increment(1);
                ("done", job.run_at, None)
            }
            Err(JobError::Retry(e)) if job.attempts < job.max_attempts => {
                metrics::counter!("agora_jobs_retried_total", "kind" => job.kind.clone())
                    .increment(1);
                let wait = backoff(self.settings.retry_base, job.attempts);
                tracing::warn!(error = %e, retry_in_ms = wait, "job failed; will retry");
                ("queued", now + wait, Some(e))
            }
            Err(JobError::RetryAfter(e, after)) if job.attempts < job.max_attempts => {
                metrics::counter!("agora_jobs_retried_total", "kind" => job.kind.clone())
                    .increment(1);
                let asked = i64::try_from(after.as_millis()).unwrap_or(3_600_000);
                let wait =
                    backoff(self.settings.retry_base, job.attempts).max(asked.min(3_600_000));
                tracing::warn!(error = %e, retry_in_ms = wait, "job failed; will retry");
                ("queued", now + wait, Some(e))
            }
            Err(JobError::Retry(e) | JobError::RetryAfter(e, _) | JobError::Fail(e)) => {
                metrics::counter!("agora_jobs_dead_total", "kind" => job.kind.clone()).increment(1);
                tracing::error!(error = %e, "job failed for good");
                ("dead", job.run_at, Some(e))
            }
        };
        // Only the claim that ran it may settle it (a lease lost to another instance is not).
        // A done job keeps no payload: a sent mail's reset link is not left in the database
        // for the day done jobs are kept (the mail limit counts them by key and time).
        let res = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "/* background */ UPDATE jobs SET state = $1, run_at = $2, locked_until = NULL, last_error = $3, \
                 updated_at = $4, payload = CASE WHEN $1 = 'done' THEN '{}' ELSE payload END \
                 WHERE id = $5 AND attempts = $6",
                [
                    state.into(),
                    run_at.into(),
                    error.into(),
                    now.into(),
                    job.id.into(),
                    job.attempts.into(),
                ],
            ))
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "job outcome not stored; its lease will run out");
        }
    }

    async fn report(&self) {
        match stats(&self.db).await {
            Ok(s) => {
                #[allow(clippy::cast_precision_loss)]
                {
                    metrics::gauge!("agora_jobs_queued").set(s.queued as f64);
                    metrics::gauge!("agora_jobs_running").set(s.running as f64);
                    metrics::gauge!("agora_jobs_dead").set(s.dead as f64);
                }
            }
            Err(e) => tracing::debug!(error = %e, "job stats unavailable"),
        }
    }

    /// Done jobs are kept a day (the per-recipient mail limit counts them), then deleted.
    async fn purge(&self) {
        let res = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "/* background */ DELETE FROM jobs WHERE state = 'done' AND updated_at < $1",
                [(now_ms() - 86_400_000).into()],
            ))
            .await;
        if let Err(e) = res {
            tracing::debug!(error = %e, "done jobs not purged");
        }
    }
}

/// Milliseconds before try `attempts + 1`: `base`, four times longer each time, at most an
/// hour.
fn backoff(base: Duration, attempts: i32) -> i64 {
    let base = i64::try_from(base.as_millis()).unwrap_or(1000);
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 10)).unwrap_or(0);
    base.saturating_mul(4_i64.saturating_pow(exp))
        .min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_four_times_and_stops_at_an_hour() {
        let base = Duration::from_secs(1);
        assert_eq!(backoff(base, 1), 1000);
        assert_eq!(backoff(base, 2), 4000);
        assert_eq!(backoff(base, 3), 16_000);
        assert_eq!(backoff(base, 20), 3_600_000);
    }
}
