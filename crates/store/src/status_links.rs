//! Public status links: what each covers, its label, who made it and whether it is revoked. Only
//! the SHA-256 of a link's token is stored, so a link is found by the hash of the token in its URL.
//! Also the one read of rollups the public page makes for all its zones at once.

use bma_domain::monitoring::RollupPeriod;
use bma_domain::status_link::{LinkLabel, StatusScope};
use bma_domain::venue::Brand;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct StatusLink {
    pub id: Uuid,
    pub scope: StatusScope,
    /// The venue's name, when the link covers one.
    pub venue_name: Option<String>,
    pub label: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    brand: Option<String>,
    venue_id: Option<Uuid>,
    venue_name: Option<String>,
    label: Option<String>,
    created_by: Option<Uuid>,
    created_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
}

impl TryFrom<Row> for StatusLink {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> sqlx::Result<Self> {
        let scope = match (r.brand, r.venue_id) {
            (Some(b), None) => StatusScope::Brand(Brand::parse(&b).map_err(|e| sqlx::Error::Decode(e.into()))?),
            (None, Some(v)) => StatusScope::Venue(v),
            _ => return Err(sqlx::Error::Decode(format!("status link {} covers no single scope", r.id).into())),
        };
        Ok(StatusLink {
            id: r.id,
            scope,
            venue_name: r.venue_name,
            label: r.label,
            created_by: r.created_by,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

const COLUMNS: &str =
    "l.id, l.brand, l.venue_id, v.name AS venue_name, l.label, l.created_by, l.created_at, l.revoked_at";

fn links(rows: Vec<Row>) -> sqlx::Result<Vec<StatusLink>> {
    rows.into_iter().map(StatusLink::try_from).collect()
}

fn link(row: Option<Row>) -> sqlx::Result<Option<StatusLink>> {
    row.map(StatusLink::try_from).transpose()
}

pub struct NewStatusLink<'a> {
    pub id: Uuid,
    pub scope: &'a StatusScope,
    pub label: Option<&'a LinkLabel>,
    /// SHA-256 of the token (32 bytes).
    pub token_hash: &'a [u8],
    pub created_by: Option<Uuid>,
}

pub async fn insert(db: impl PgExecutor<'_>, n: NewStatusLink<'_>) -> sqlx::Result<StatusLink> {
    let (brand, venue_id) = match n.scope {
        StatusScope::Brand(b) => (Some(b.as_str()), None),
        StatusScope::Venue(v) => (None, Some(*v)),
    };
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH l AS (INSERT INTO status_links (id, brand, venue_id, token_hash, label, created_by) \
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING *) \
         SELECT {COLUMNS} FROM l LEFT JOIN venues v ON v.id = l.venue_id"
    )))
    .bind(n.id)
    .bind(brand)
    .bind(venue_id)
    .bind(n.token_hash)
    .bind(n.label.map(LinkLabel::as_str))
    .bind(n.created_by)
    .fetch_one(db)
    .await?;
    row.try_into()
}

/// The newest `limit` links, revoked ones included.
pub async fn list(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<StatusLink>> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM status_links l LEFT JOIN venues v ON v.id = l.venue_id \
         ORDER BY l.created_at DESC, l.id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(db)
    .await?;
    links(rows)
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<StatusLink>> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM status_links l LEFT JOIN venues v ON v.id = l.venue_id WHERE l.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    link(row)
}

/// The link whose token hashes to `token_hash`, unless it is revoked.
pub async fn find_live(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<StatusLink>> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM status_links l LEFT JOIN venues v ON v.id = l.venue_id \
         WHERE l.token_hash = $1 AND l.revoked_at IS NULL"
    )))
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    link(row)
}

/// Revokes the link at `at`; `None` when there is no such link or it was revoked already.
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid, at: OffsetDateTime) -> sqlx::Result<Option<StatusLink>> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH l AS (UPDATE status_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *) \
         SELECT {COLUMNS} FROM l LEFT JOIN venues v ON v.id = l.venue_id"
    )))
    .bind(id)
    .bind(at)
    .fetch_optional(db)
    .await?;
    link(row)
}

/// Whether a venue that is not archived has exactly this brand.
pub async fn brand_is_live(db: impl PgExecutor<'_>, brand: &Brand) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM venues WHERE brand = $1 AND archived_at IS NULL)")
        .bind(brand.as_str())
        .fetch_one(db)
        .await
}

/// One zone's uptime rollup.
#[derive(Debug, Clone, FromRow)]
pub struct ZoneRollup {
    pub zone_id: Uuid,
    pub period: RollupPeriod,
    pub starts_at: OffsetDateTime,
    pub up: i64,
    pub down: i64,
    pub unknown: i64,
    pub excluded: i64,
}

/// The daily rollups of `zones` starting in `days` and their hourly ones starting in `hours`
/// (each `[from, to)`), in one read.
pub async fn rollups_of(
    db: impl PgExecutor<'_>,
    zones: &[Uuid],
    days: (OffsetDateTime, OffsetDateTime),
    hours: (OffsetDateTime, OffsetDateTime),
) -> sqlx::Result<Vec<ZoneRollup>> {
    sqlx::query_as(
        "SELECT zone_id, period, starts_at, up_seconds::bigint AS up, down_seconds::bigint AS down, \
                unknown_seconds::bigint AS unknown, excluded_seconds::bigint AS excluded \
         FROM uptime_rollups WHERE zone_id = ANY($1) \
           AND ((period = 'day' AND starts_at >= $2 AND starts_at < $3) \
             OR (period = 'hour' AND starts_at >= $4 AND starts_at < $5))",
    )
    .bind(zones)
    .bind(days.0)
    .bind(days.1)
    .bind(hours.0)
    .bind(hours.1)
    .fetch_all(db)
    .await
}
