//! Upkeep of the time-partitioned log tables: partitions are created two weeks ahead, so an
//! insert never finds its day missing even if upkeep pauses for days.

use sqlx::PgExecutor;

pub const PARTITIONED_TABLES: &[&str] = &["music_status_logs"];
pub const DAYS_AHEAD: i32 = 14;

/// Creates any missing daily partitions from yesterday to `DAYS_AHEAD` days ahead; returns how
/// many were created.
pub async fn ensure_ahead(db: impl PgExecutor<'_> + Copy) -> sqlx::Result<i32> {
    let mut created = 0;
    for table in PARTITIONED_TABLES {
        let n: i32 =
            sqlx::query_scalar("SELECT bma_ensure_daily_partitions($1, (now() AT TIME ZONE 'UTC')::date - 1, $2 + 2)")
                .bind(table)
                .bind(DAYS_AHEAD)
                .fetch_one(db)
                .await?;
        created += n;
    }
    Ok(created)
}

/// Names of the partitions of `table`, oldest first.
pub async fn list(db: impl PgExecutor<'_>, table: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY c.relname",
    )
    .bind(table)
    .fetch_all(db)
    .await
}
