//! Upkeep of the time-partitioned log tables. Partitions are created two weeks ahead; a row whose
//! day has no partition anyway (upkeep paused, a clock skew, a late sample) waits in the table's
//! default partition until upkeep moves it to its own day; and retention drops old days once the
//! uptime rollups hold them.
//!
//! These functions take the pool, not an executor: each day is settled in a transaction of its
//! own, so one busy day never holds the whole table.

use sqlx::{AssertSqlSafe, PgExecutor, PgPool};
use time::{Date, OffsetDateTime};

pub const PARTITIONED_TABLES: &[&str] = &["music_status_logs"];
pub const DAYS_AHEAD: i32 = 14;
const STATUS_LOGS: &str = "music_status_logs";

/// The partition that takes `table`'s rows whose day has none of its own.
pub fn default_partition(table: &str) -> String {
    format!("{table}_default")
}

/// The name of `day`'s partition of `table`.
pub fn partition_name(table: &str, day: Date) -> String {
    format!("{table}_p{:04}{:02}{:02}", day.year(), u8::from(day.month()), day.day())
}

fn day_of(table: &str, name: &str) -> Option<Date> {
    let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
    let format = time::macros::format_description!("[year][month][day]");
    Date::parse(digits, format).ok()
}

fn day_start(day: Date) -> OffsetDateTime {
    day.midnight().assume_utc()
}

/// Creates any missing daily partitions from yesterday to `DAYS_AHEAD` days ahead (moving rows of
/// those days out of the default partition first); returns how many were created.
pub async fn ensure_ahead(db: &PgPool) -> sqlx::Result<i32> {
    let today: Date = sqlx::query_scalar("SELECT (now() AT TIME ZONE 'UTC')::date").fetch_one(db).await?;
    let mut created = 0;
    for table in PARTITIONED_TABLES {
        let have = days(db, table).await?;
        for offset in -1..=i64::from(DAYS_AHEAD) {
            let day = today + time::Duration::days(offset);
            if !have.contains(&day) && ensure_day(db, table, day).await?.is_some() {
                created += 1;
            }
        }
    }
    Ok(created)
}

/// Gives `day` its partition of `table`, first moving that day's rows out of the default
/// partition (PostgreSQL refuses a partition whose range has rows in the default one). One
/// transaction, with writers to the table held off meanwhile. Returns the rows moved, or `None`
/// when the partition already existed.
pub async fn ensure_day(db: &PgPool, table: &str, day: Date) -> sqlx::Result<Option<u64>> {
    let (start, end) = (day_start(day), day_start(day) + time::Duration::DAY);
    let default = default_partition(table);
    let mut tx = db.begin().await?;
    sqlx::query(AssertSqlSafe(format!("LOCK TABLE \"{table}\" IN SHARE ROW EXCLUSIVE MODE"))).execute(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(partition_name(table, day))
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        tx.commit().await?;
        return Ok(None);
    }
    sqlx::query(AssertSqlSafe(format!("CREATE TEMP TABLE bma_moving (LIKE \"{table}\") ON COMMIT DROP")))
        .execute(&mut *tx)
        .await?;
    let moved = sqlx::query(AssertSqlSafe(format!(
        "WITH d AS (DELETE FROM \"{default}\" WHERE created_at >= $1 AND created_at < $2 RETURNING *) \
         INSERT INTO bma_moving SELECT * FROM d"
    )))
    .bind(start)
    .bind(end)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("SELECT bma_ensure_daily_partitions($1, $2, 1)").bind(table).bind(day).execute(&mut *tx).await?;
    sqlx::query(AssertSqlSafe(format!("INSERT INTO \"{table}\" SELECT * FROM bma_moving"))).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some(moved))
}

/// The days that have rows waiting in `table`'s default partition, oldest first.
pub async fn waiting_days(db: impl PgExecutor<'_>, table: &str) -> sqlx::Result<Vec<Date>> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM \"{}\" ORDER BY 1",
        default_partition(table)
    )))
    .fetch_all(db)
    .await
}

/// Moves every row waiting in a default partition into its own day's partition, creating the
/// partitions it needs; returns how many rows moved.
pub async fn settle_default(db: &PgPool) -> sqlx::Result<u64> {
    let mut moved = 0;
    for table in PARTITIONED_TABLES {
        for day in waiting_days(db, table).await? {
            moved += ensure_day(db, table, day).await?.unwrap_or(0);
        }
    }
    Ok(moved)
}

/// Names of the partitions of `table` (the default one included), oldest first.
pub async fn list(db: impl PgExecutor<'_>, table: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY c.relname",
    )
    .bind(table)
    .fetch_all(db)
    .await
}

/// The days that have a partition of `table`, oldest first.
pub async fn days(db: impl PgExecutor<'_>, table: &str) -> sqlx::Result<Vec<Date>> {
    Ok(list(db, table).await?.iter().filter_map(|name| day_of(table, name)).collect())
}

/// Whether the daily uptime rollups hold `day`, so its status log may go: a daily rollup exists
/// for it, or no zone had any health recorded by its end.
pub async fn status_log_day_rolled_up(db: impl PgExecutor<'_>, day: Date) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM uptime_rollups WHERE period = 'day' AND starts_at = $1) \
             OR NOT EXISTS (SELECT 1 FROM music_status_logs WHERE kind = 'health' AND created_at < $2)",
    )
    .bind(day_start(day))
    .bind(day_start(day) + time::Duration::DAY)
    .fetch_one(db)
    .await
}

/// Drops `day`'s partition of the status log. Each zone whose last health change before
/// `keep_from` (the start of the oldest day kept) lies in that day has it carried to
/// `keep_from` first, so uptime from `keep_from` on (which starts from the last change before it)
/// reads the same. Returns whether a partition was dropped.
pub async fn drop_status_log_day(db: &PgPool, day: Date, keep_from: OffsetDateTime) -> sqlx::Result<bool> {
    let (start, end) = (day_start(day), day_start(day) + time::Duration::DAY);
    let part = partition_name(STATUS_LOGS, day);
    let mut tx = db.begin().await?;
    sqlx::query("LOCK TABLE music_status_logs IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&part).fetch_one(&mut *tx).await?;
    if !exists {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO music_status_logs (id, zone_id, kind, status, error_message, created_at) \
         SELECT gen_random_uuid(), zone_id, 'health', status, 'carried over from a dropped day', $3 \
         FROM (SELECT DISTINCT ON (zone_id) zone_id, status, created_at FROM music_status_logs \
               WHERE kind = 'health' AND created_at < $3 ORDER BY zone_id, created_at DESC) last \
         WHERE last.created_at >= $1 AND last.created_at < $2 AND NOT EXISTS (SELECT 1 FROM music_status_logs m \
               WHERE m.zone_id = last.zone_id AND m.kind = 'health' AND m.created_at = $3)",
    )
    .bind(start)
    .bind(end)
    .bind(keep_from)
    .execute(&mut *tx)
    .await?;
    sqlx::query(AssertSqlSafe(format!("DROP TABLE \"{part}\""))).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}
