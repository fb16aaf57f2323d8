//! Monitoring records: check samples and transitions in the partitioned `music_status_logs`,
//! and the zone's last check.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// Stores one check of a zone and stamps the zone's `last_check`.
pub async fn record_sample(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    status: &str,
    response_time_ms: i32,
    error: Option<&str>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH s AS (INSERT INTO music_status_logs (id, zone_id, status, response_time_ms, error_message, created_at) \
                    VALUES ($1, $2, $3, $4, $5, $6)) \
         UPDATE zones SET last_check = $6 WHERE id = $2",
    )
    .bind(bma_domain::ids::new_id())
    .bind(zone_id)
    .bind(status)
    .bind(response_time_ms)
    .bind(error)
    .bind(at)
    .execute(db)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Sample {
    pub status: String,
    pub response_time_ms: Option<i32>,
    pub error_message: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn history(
    db: impl PgExecutor<'_>,
    zone_id: Uuid,
    since: OffsetDateTime,
    until: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Vec<Sample>> {
    sqlx::query_as(
        "SELECT status, response_time_ms, error_message, created_at FROM music_status_logs \
         WHERE zone_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT $4",
    )
    .bind(zone_id)
    .bind(since)
    .bind(until)
    .bind(limit)
    .fetch_all(db)
    .await
}
