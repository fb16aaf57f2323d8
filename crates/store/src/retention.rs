//! Retention of the log-like tables that would otherwise grow without bound (the status log has
//! its own, by partition, in `partitions`): the audit log, dead jobs and the hourly uptime
//! rollups of zones and of groups (the daily ones are kept, as they are what long-range reports
//! read). Old rows go in batches, so that no single statement holds locks for long.

use sqlx::PgPool;
use time::OffsetDateTime;

/// A table whose old rows are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    AuditLog,
    /// Jobs buried after their last attempt, by when they were buried.
    DeadJobs,
    /// Hourly uptime rollups, by the hour they describe.
    HourlyUptime,
    /// The fleet's, brands' and countries' hourly uptime (they outlive the zones' hourly
    /// rollups, whose deletion here leaves the groups' sums as they are).
    HourlyGroupUptime,
}

impl Kept {
    fn sql(self) -> &'static str {
        match self {
            Kept::AuditLog => {
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2)"
            }
            Kept::DeadJobs => {
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'dead' AND updated_at < $1 LIMIT $2)"
            }
            Kept::HourlyUptime => {
                "DELETE FROM uptime_rollups WHERE (zone_id, period, starts_at) IN \
                 (SELECT zone_id, period, starts_at FROM uptime_rollups WHERE period = 'hour' AND starts_at < $1 LIMIT $2)"
            }
            Kept::HourlyGroupUptime => {
                "DELETE FROM uptime_group_rollups WHERE (scope, period, starts_at, key) IN \
                 (SELECT scope, period, starts_at, key FROM uptime_group_rollups \
                  WHERE period = 'hour' AND starts_at < $1 LIMIT $2)"
            }
        }
    }
}

/// Deletes the rows of `what` older than `before`, `batch` at a time; returns how many went.
pub async fn purge(db: &PgPool, what: Kept, before: OffsetDateTime, batch: i64) -> sqlx::Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        if what == Kept::HourlyUptime {
            sqlx::query("SELECT set_config('bma.rollup_retention', 'on', true)").execute(&mut *tx).await?;
        }
        let n = sqlx::query(what.sql()).bind(before).bind(batch).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        total += n;
        if n < u64::try_from(batch).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}
