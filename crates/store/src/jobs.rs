//! The job queue on PostgreSQL: its rows (the typed jobs are `bma_app::jobs`). `enqueue` takes
//! any executor, so the job commits or rolls back with the write that caused it. Workers claim with `FOR UPDATE SKIP LOCKED`; a worker that dies
//! leaves its job `running` until `requeue_stalled` hands it to another worker.

use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// How urgent a job is; higher runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority(pub i16);

impl Priority {
    pub const LOW: Priority = Priority(-10);
    pub const NORMAL: Priority = Priority(0);
    pub const HIGH: Priority = Priority(10);
    pub const URGENT: Priority = Priority(20);
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub priority: Priority,
    pub max_attempts: i32,
    pub run_at: Option<OffsetDateTime>,
    /// At most one live (queued or running) job holds a given key; a second enqueue is a no-op.
    pub dedup_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value, max_attempts: i32) -> Self {
        Self {
            kind: kind.into(),
            payload,
            priority: Priority::NORMAL,
            max_attempts: max_attempts.max(1),
            run_at: None,
            dedup_key: None,
        }
    }

    #[must_use]
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = p;
        self
    }

    #[must_use]
    pub fn dedup(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    #[must_use]
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }
}

/// Adds a job; returns its id, or `None` when a live job with the same dedup key exists.
pub async fn enqueue(db: impl PgExecutor<'_>, job: NewJob) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "INSERT INTO jobs (id, kind, payload, priority, max_attempts, run_at, dedup_key) \
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()), $7) \
         ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND status <> 'dead' DO NOTHING RETURNING id",
    )
    .bind(bma_domain::ids::new_id())
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.priority.0)
    .bind(job.max_attempts)
    .bind(job.run_at)
    .bind(job.dedup_key)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    pub priority: i16,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const JOB_COLUMNS: &str =
    "id, kind, payload, priority, status, attempts, max_attempts, run_at, last_error, created_at, updated_at";

/// Claims up to `n` due jobs, most urgent first, for `worker`.
pub async fn claim(db: impl PgExecutor<'_>, worker: &str, n: i64) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_at = now(), locked_by = $1, \
         updated_at = now() \
         WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= now() \
                      ORDER BY priority DESC, run_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING {JOB_COLUMNS}"
    )))
    .bind(worker)
    .bind(n)
    .fetch_all(db)
    .await
}

/// A finished job leaves the queue.
pub async fn complete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM jobs WHERE id = $1").bind(id).execute(db).await.map(|_| ())
}

/// Records a failure: the job runs again after `retry_in` if it has attempts left, otherwise it
/// becomes dead. Returns the new status.
pub async fn fail(db: impl PgExecutor<'_>, id: Uuid, error: &str, retry_in: time::Duration) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "UPDATE jobs SET \
            status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
            run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE now() + $3 END, \
            last_error = left($2, 4000), locked_at = NULL, locked_by = NULL, updated_at = now() \
         WHERE id = $1 RETURNING status",
    )
    .bind(id)
    .bind(error)
    .bind(retry_in)
    .fetch_one(db)
    .await
}

/// Marks a job dead at once, whatever attempts it has left: it can never succeed (its payload
/// does not parse).
pub async fn bury(db: impl PgExecutor<'_>, id: Uuid, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'dead', last_error = left($2, 4000), locked_at = NULL, locked_by = NULL, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(db)
    .await
    .map(|_| ())
}

/// Puts a job back for later without counting the attempt: it waited on a rate limit, it did not
/// fail.
pub async fn defer(db: impl PgExecutor<'_>, id: Uuid, until: time::Duration) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = GREATEST(attempts - 1, 0), run_at = now() + $2, \
         locked_at = NULL, locked_by = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(until)
    .execute(db)
    .await
    .map(|_| ())
}

/// Puts jobs whose worker stopped answering (locked longer than `stalled_after`) back in the
/// queue; the attempt they were on counts.
pub async fn requeue_stalled(db: impl PgExecutor<'_>, stalled_after: time::Duration) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
         last_error = COALESCE(last_error, '') || CASE WHEN last_error IS NULL THEN '' ELSE E'\\n' END \
                      || 'worker ' || COALESCE(locked_by, '?') || ' stopped during the attempt', \
         locked_at = NULL, locked_by = NULL, updated_at = now() \
         WHERE status = 'running' AND locked_at < now() - $1",
    )
    .bind(stalled_after)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

pub async fn list_dead(db: impl PgExecutor<'_>, limit: i64, offset: i64) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'dead' ORDER BY updated_at DESC, id LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Gives a dead job a fresh set of attempts. `None` when the job is not dead.
pub async fn requeue_dead(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), updated_at = now() \
         WHERE id = $1 AND status = 'dead' RETURNING {JOB_COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct QueueStats {
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
}

pub async fn stats(db: impl PgExecutor<'_>) -> sqlx::Result<QueueStats> {
    let (queued, running, dead): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'), \
         count(*) FILTER (WHERE status = 'dead') FROM jobs",
    )
    .fetch_one(db)
    .await?;
    Ok(QueueStats { queued, running, dead })
}

/// When the longest-waiting job became due (none waiting: `None`); a worker that keeps up keeps it
/// recent, so the public status page reads the workers' health from it.
pub async fn oldest_due(db: impl PgExecutor<'_>) -> sqlx::Result<Option<time::OffsetDateTime>> {
    sqlx::query_scalar("SELECT min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= now()").fetch_one(db).await
}
